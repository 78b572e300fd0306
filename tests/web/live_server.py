"""The dashboard served by uvicorn on 127.0.0.1 in a thread, for the browser tests.

The listening socket is bound before the thread starts, so a browser's first request waits
in the socket's backlog until uvicorn accepts it (nothing to wait for here)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from nexus_agents.api import Nexus
from nexus_agents.web.dashboard import dashboard_app


@contextmanager
def serving(nexus: Nexus, token: str | None = None) -> Iterator[str]:
    """Serve ``nexus``'s dashboard; yields its base URL; stops it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        dashboard_app(nexus, token=token), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
