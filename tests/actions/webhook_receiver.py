"""A webhook receiver on 127.0.0.1 for the integration tests: answers with scripted status
codes and keeps every request it got. Runs in a thread; each request and the server's
lifetime are bounded."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """``statuses``: the answers to the first requests, then ``default``."""

    statuses: list[int] = field(default_factory=list)
    default: int = 200
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    got_request: threading.Event = field(default_factory=threading.Event)
    hold: threading.Event | None = None
    """When given, the first request waits for it (at most 30 s) before it is answered."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/T000/B000/XXXXSECRETPATH?token=querysecret"

    def answer(self) -> int:
        return self.statuses.pop(0) if self.statuses else self.default


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def verify(secret: str, received: Received, max_age_s: int | None = None) -> bool:
    """What a receiver does: recompute the signature over ``<timestamp>.<raw body>``."""
    import time

    timestamp = received.headers["X-Nexus-Timestamp"]
    if max_age_s is not None and abs(time.time() - int(timestamp)) > max_age_s:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + expected.hexdigest(), received.headers["X-Nexus-Signature"])


@contextmanager
def running(receiver: Receiver, lifetime_s: float = 60) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            first = not receiver.got_request.is_set()
            receiver.got_request.set()
            if first and receiver.hold is not None:
                receiver.hold.wait(timeout=30)
            status = receiver.answer()
            payload = b'{"ok": true}' if status < 400 else b"nope"
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client is gone (killed while waiting)
                self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    stop = threading.Timer(lifetime_s, server.shutdown)
    stop.daemon = True
    stop.start()
    try:
        yield receiver
    finally:
        stop.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
