"""A real uvicorn server on 127.0.0.1 in a daemon thread, for any ASGI app and uvicorn options.

conftest's ``RunningGateway`` builds its own app from a config; this one serves the app it is
given, with the options under test (``ws_max_size``...), so that what a client sees is what
uvicorn itself does (TestClient only emulates the ASGI server).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def serving(app: Any, **options: Any) -> Iterator[str]:
    """``with serving(app, ws_max_size=...) as url:`` where url is ``http://127.0.0.1:PORT``."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **options))
    thread = threading.Thread(target=server.run, name="real-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
