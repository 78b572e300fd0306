"""The ASGI app of ``nexus serve``: ``create_app(nexus)``.

Routes: ``POST /hooks/alerts/{source}`` (alertmanager, grafana, pagerduty, nexus) and
``GET /healthz``, plus the dashboard's pages when given (``routes``). With a token every
route but ``/healthz`` requires it (``nexus_agents.web.auth``: a bearer header, or the
dashboard cookie a browser gets by opening a page once with ``?token=``). A request body larger than
``max_body`` bytes is refused with 413 before it is parsed.

An alert payload is checked while the request waits (a bad one gets 422 naming the field,
and nothing starts); the incident runs then start after the response (202), so a monitoring
system's webhook timeout never waits for a model. ``?wait=true`` answers only once they
started, with each alert's outcome (200).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from nexus_agents.exceptions import DataError
from nexus_agents.tools.alert_sources import SOURCES
from nexus_agents.web.auth import OPEN_PATHS, BearerAuth

if TYPE_CHECKING:
    from nexus_agents.api import Nexus

__all__ = ["MAX_BODY_BYTES", "OPEN_PATHS", "BearerAuth", "TooLarge", "create_app", "read_body"]

MAX_BODY_BYTES = 4 * 1024 * 1024


class TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def create_app(
    nexus: Nexus,
    *,
    token: str | None = None,
    max_body: int = MAX_BODY_BYTES,
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The web app of one workspace's ``Nexus`` (kept as ``app.state.nexus``).

    ``token`` guards every route but ``/healthz``; ``routes`` adds pages (the dashboard)
    under the same guard and body limit conventions."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def alerts(request: Request) -> JSONResponse:
        source = request.path_params["source"]
        if source not in SOURCES:
            return _error(404, f"unknown alert source; use one of {', '.join(SOURCES)}")
        try:
            payload = json.loads(await read_body(request, max_body))
        except TooLarge:
            return _error(413, f"the body is larger than {max_body} bytes")
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"the body is not JSON: {str(exc)[:200]}")
        unattended = request.query_params.get("unattended") in ("1", "true")
        try:
            if request.query_params.get("wait") in ("1", "true"):
                outcomes = await nexus.areceive_alerts(payload, source=source, unattended=unattended)
                return JSONResponse({"outcomes": [o.model_dump(mode="json") for o in outcomes]})
            from nexus_agents.runs.alert_runs import check_alerts

            moments = [datetime.now(UTC), nexus.workspace.now()]
            checked = check_alerts(payload, source=source, now=moments, tz=nexus.workspace.tz)
        except DataError as exc:
            return _error(422, str(exc)[:2000])
        accepted = [
            {
                "key": item.key,
                "status": item.status,
                "thread": item.thread_base,
                "severity_floor": floor.floor if floor else None,
            }
            for item, floor in checked
        ]
        task = BackgroundTask(nexus.areceive_alerts, payload, source=source, unattended=unattended)
        return JSONResponse({"accepted": accepted}, status_code=202, background=task)

    middleware = [Middleware(BearerAuth, token=token)] if token else []
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/hooks/alerts/{source}", alerts, methods=["POST"]),
            *routes,
        ],
        middleware=middleware,
    )
    app.state.nexus = nexus
    return app
