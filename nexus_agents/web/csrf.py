"""CSRF protection of the dashboard's forms.

A browser gets a random session id in an HttpOnly, SameSite=Strict cookie; each form
carries ``HMAC(server secret, session id)`` in a hidden field. A POST is accepted only
when the field matches the cookie's session (compared in constant time) and, when the
browser says where the request comes from (``Origin``, else ``Referer``), that is this
server. The secret is made per process: a restart asks for a reload of open forms.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["FIELD", "SESSION_COOKIE", "Csrf"]

SESSION_COOKIE = "nexus_session"
FIELD = "csrf_token"


class Csrf:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def token_for(self, session: str) -> str:
        return hmac.new(self._secret, session.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def session_of(request: Request) -> str | None:
        value = request.cookies.get(SESSION_COOKIE, "")
        return value if 16 <= len(value) <= 128 and value.isalnum() else None

    def session(self, request: Request) -> tuple[str, bool]:
        """This browser's session id, and whether it is new (the response must set it)."""
        known = self.session_of(request)
        return (known, False) if known else (secrets.token_hex(16), True)

    @staticmethod
    def remember(response: Response, session: str) -> None:
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")

    def problem(self, request: Request, token: str | None) -> str | None:
        """Why this POST is refused, or None when it passes."""
        if not _same_origin(request):
            return "the form was sent from another site"
        session = self.session_of(request)
        if session is None:
            return "no dashboard session: open the page again and resend the form"
        if not token or not hmac.compare_digest(token, self.token_for(session)):
            return "the form's security token is missing or wrong: reload the page and try again"
        return None


def _same_origin(request: Request) -> bool:
    host = request.headers.get("host", "")
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        return True  # not a browser telling; the token still has to match
    if claimed == "null":
        return False
    parts = urlsplit(claimed)
    return parts.netloc == host and parts.scheme in ("http", "https")
