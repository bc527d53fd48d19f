"""Keep the garbage collector off the request path once the process has loaded what it keeps.

CPython's full (generation 2) collection walks every tracked object. A gateway that has
imported LiteLLM holds ~370,000 of them (modules, pydantic models, the cost map), and walking
them takes 50-160 ms on these machines, with the event loop stopped: every request in flight
waits, which is what the gateway's p99 was made of. Those objects live as long as the process,
so after startup (and again after LiteLLM's warm-up) they are moved to the permanent
generation with :func:`gc.freeze`: collections then walk only what requests create.

Objects frozen are never collected, so the freeze runs when nothing but startup state exists
(a request in flight at that moment leaves at most its own few objects behind, once).
"""

from __future__ import annotations

import ctypes
import gc
import logging

__all__ = ["settle"]

log = logging.getLogger("openclaw.heap")


def settle() -> None:
    """Collect what startup left as garbage, hand freed heap back to the OS, freeze the rest."""
    gc.collect()
    try:
        # glibc keeps freed heap pages otherwise (~10 MB of idle RSS after LiteLLM's import).
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc: nothing to hand back this way
        pass
    gc.freeze()
    log.debug("heap settled: %d objects frozen", gc.get_freeze_count())
