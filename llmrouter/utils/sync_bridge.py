"""Run async code from synchronous code, also when the caller already runs an event loop.

``call_api()`` is synchronous (scripts, the CLI); a notebook or an async app calling it has
a running loop, where ``asyncio.run`` refuses to start: the coroutine then runs on a private
loop in a helper thread, and the caller's thread waits for it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]], thread_name: str = "call_api") -> T:
    """``make()``'s result, run to completion on a fresh event loop; its exception re-raised here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    result: list[T] = []
    failure: list[BaseException] = []

    def worker() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=worker, name=thread_name)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]
