"""The token that guards ``nexus serve`` off loopback (``NEXUS_SERVE_TOKEN``).

A request passes with ``Authorization: Bearer <token>`` (webhooks, scripts) or with the
dashboard cookie. A browser gets the cookie by opening any page once with
``?token=<token>``: the answer redirects to the same page without the token in the URL and
sets an HttpOnly, SameSite=Strict cookie holding a value derived from the token (never the
token itself). Everything is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["AUTH_COOKIE", "OPEN_PATHS", "BearerAuth"]

AUTH_COOKIE = "nexus_auth"
OPEN_PATHS = frozenset({"/healthz"})


class BearerAuth:
    """ASGI middleware: every HTTP request but those to ``open_paths`` must carry the token
    (bearer header or dashboard cookie), else 401."""

    def __init__(self, app: ASGIApp, token: str, open_paths: frozenset[str] = OPEN_PATHS) -> None:
        self.app = app
        self.token = token.encode()
        self.expected = f"Bearer {token}".encode()
        self.cookie = hmac.new(self.token, b"nexus-serve-cookie", hashlib.sha256).hexdigest()
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        header = request.headers.get("authorization", "").encode()
        cookie = request.cookies.get(AUTH_COOKIE, "")
        if hmac.compare_digest(header, self.expected) or hmac.compare_digest(cookie, self.cookie):
            await self.app(scope, receive, send)
            return
        given = request.query_params.get("token")
        if request.method == "GET" and given and hmac.compare_digest(given.encode(), self.token):
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = URL(path=request.url.path, query=urlencode(rest)) if rest else URL(path=request.url.path)
            reply: Response = RedirectResponse(str(target), status_code=303)
            reply.set_cookie(AUTH_COOKIE, self.cookie, httponly=True, samesite="strict", path="/")
        else:
            reply = JSONResponse(
                {"error": "a valid token is required: send 'Authorization: Bearer <token>', "
                 "or open the dashboard once with ?token=<token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        await reply(scope, receive, send)
