"""The dashboard of ``nexus serve``: server-rendered pages over one workspace.

``GET /kpis`` (charts per week or month, ``/kpis/{key}`` a period's breakdown), ``/runs``
(filters: graph, status, period, job) and ``/runs/{id}``, ``/approvals`` (and
``POST /approvals/{id}`` to decide), ``/schedules``, ``/graphs`` and ``/graphs/{name}``.
Templates autoescape every value and pass strings through ``redact`` first, so neither
model text nor a secret that slipped into data reaches a page as markup or in clear.
Deciding is ``Nexus.aresume(run, decision, note, decided_by=name)``, as ``nexus approve``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from nexus_agents.exceptions import ApprovalError, NexusError, RunBusyError, UnknownNameError
from nexus_agents.llm.trace import redact
from nexus_agents.untrusted_text import shown
from nexus_agents.web.app import MAX_BODY_BYTES, TooLarge, create_app, read_body
from nexus_agents.web.csrf import FIELD, Csrf

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from nexus_agents.api import Nexus

__all__ = ["Dashboard", "dashboard_app"]

HERE = Path(__file__).parent
FORM_LIMIT = 64 * 1024
NAME_CHARS, NOTE_CHARS = 80, 2000


class Dashboard:
    """The pages of one workspace's ``Nexus``; ``secrets`` are never shown in clear."""

    def __init__(self, nexus: Nexus, *, secrets: Iterable[str | None] = (), csrf: Csrf | None = None) -> None:
        self.nexus = nexus
        self.csrf = csrf or Csrf()
        config = nexus.config
        hidden = [s for s in secrets if s]
        for secret in (config.llm.api_key, config.database_url):
            if secret is not None:
                hidden.append(secret.get_secret_value())
        self.secrets = hidden

        def finalize(value: Any) -> Any:
            if isinstance(value, str) and not isinstance(value, Markup):
                return redact(value, self.secrets)
            return value

        env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            finalize=finalize,
        )
        self.templates = Jinja2Templates(env=env)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/kpis", self.kpis, methods=["GET"]),
            Route("/kpis/{key}", self.kpi, methods=["GET"]),
            Route("/runs", self.runs, methods=["GET"]),
            Route("/runs/{run_id}", self.run, methods=["GET"]),
            Route("/approvals", self.approvals, methods=["GET"]),
            Route("/approvals/{run_id}", self.decide, methods=["POST"]),
            Route("/schedules", self.schedules, methods=["GET"]),
            Route("/graphs", self.graphs, methods=["GET"]),
            Route("/graphs/{name}", self.graph, methods=["GET"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]

    # ------------------------------------------------------------------ rendering

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        session, new = self.csrf.session(request)
        context.setdefault("product", self.nexus.config.product.name)
        response = self.templates.TemplateResponse(
            request,
            template,
            {"csrf_field": FIELD, "csrf_token": self.csrf.token_for(session), "nav": template, **context},
            status_code=status,
            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                     "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                     "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"},
        )
        if new:
            self.csrf.remember(response, session)
        return response

    def error(self, request: Request, status: int, title: str, message: str) -> Response:
        return self.page(request, "error.html", status, title=title, message=shown(message, 2000))

    # ------------------------------------------------------------------ pages

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/kpis", status_code=303)

    async def kpis(self, request: Request) -> Response:
        from nexus_agents.web.kpi_charts import KINDS, charts

        per = request.query_params.get("per", "weeks")
        if per not in KINDS:
            return self.error(request, 400, "Unknown period kind", f"per must be one of {', '.join(KINDS)}")
        kind, count = KINDS[per]
        now = self.nexus.workspace.now()
        try:
            drawn = await asyncio.to_thread(charts, self.nexus.workspace, kind, count, now)
        except NexusError as exc:
            return self.error(request, 422, "The KPIs could not be computed", str(exc))
        return self.page(request, "kpis.html", charts=drawn, per=per, kinds=list(KINDS), now=now)

    async def kpi(self, request: Request) -> Response:
        from nexus_agents.periods import parse_period
        from nexus_agents.tools.kpis import KPIS, compute_kpi, last_complete_month
        from nexus_agents.web.kpi_charts import format_value

        key = request.path_params["key"]
        if key not in KPIS:
            return self.error(request, 404, "Unknown KPI", f"no KPI named {key!r}")
        now = self.nexus.workspace.now()
        label = request.query_params.get("period")
        try:
            period = parse_period(label) if label else last_complete_month(now)
        except (NexusError, ValueError) as exc:
            return self.error(request, 400, "Bad period", str(exc))
        try:
            result = await asyncio.to_thread(compute_kpi, self.nexus.workspace, key, period, now)
        except NexusError as exc:
            return self.error(request, 422, "The KPI could not be computed", str(exc))
        return self.page(
            request,
            "kpi.html",
            result=result,
            shown_value=format_value(result.value, result.unit),
            target=format_value(result.target, result.unit),
            groups=[(g, format_value(g.value, result.unit)) for g in result.breakdown],
            previous=period.previous().label,
            following=period.next().label,
        )

    async def runs(self, request: Request) -> Response:
        from nexus_agents.web.run_views import STATUSES, run_rows

        q = request.query_params
        filters = {k: (q.get(k) or "").strip()[:100] for k in ("graph", "status", "period", "job")}
        if filters["status"] and filters["status"] not in STATUSES:
            return self.error(request, 400, "Unknown status", f"status must be one of {', '.join(STATUSES)}")
        rows = await run_rows(
            self.nexus, graph=filters["graph"], status=filters["status"], period=filters["period"], job=filters["job"]
        )
        return self.page(
            request, "runs.html", rows=rows, filters=filters, graphs=sorted(self.nexus.specs), statuses=STATUSES
        )

    async def run(self, request: Request) -> Response:
        from nexus_agents.cli.history import clock, run_seconds, seconds_text
        from nexus_agents.cli.runs import load_history
        from nexus_agents.web.run_views import artifact_view
        from nexus_agents.web.timeline import gantt

        try:
            history = await load_history(self.nexus, request.path_params["run_id"][:200])
        except UnknownNameError:
            return self.error(request, 404, "Unknown run", f"no run {request.path_params['run_id']!r}")
        except NexusError as exc:
            return self.error(request, 400, "Which run?", str(exc))
        record = history.record
        return self.page(
            request,
            "run.html",
            h=history,
            r=record,
            started=clock(record.started_at),
            finished=clock(record.finished_at),
            duration=seconds_text(run_seconds(record)),
            chart=gantt(history.steps, record.started_at),
            steps=[(s, clock(s.started_at)[11:], seconds_text(s.seconds)) for s in history.steps],
            approvals=[(a, clock(a.get("decided_at"))) for a in history.approvals],
            artifacts=[artifact_view(a) for a in history.artifacts],
        )

    async def approvals(self, request: Request) -> Response:
        from nexus_agents.web.run_views import waiting_runs

        return self.page(request, "approvals.html", waiting=await waiting_runs(self.nexus))

    async def schedules(self, request: Request) -> Response:
        from nexus_agents.web.schedules import schedule_rows

        try:
            timezone, rows = await schedule_rows(self.nexus)
        except NexusError as exc:
            return self.error(request, 422, "The calendar could not be read", str(exc))
        return self.page(request, "schedules.html", rows=rows, timezone=timezone)

    async def graphs(self, request: Request) -> Response:
        from nexus_agents.graphs.spec import iter_steps

        specs = self.nexus.specs
        listed = [
            (name, specs[name].title or "", sum(1 for _ in iter_steps(specs[name].steps)))
            for name in sorted(specs)
        ]
        return self.page(request, "graphs.html", graphs=listed)

    async def graph(self, request: Request) -> Response:
        from nexus_agents.web.graph_svg import draw_graph

        spec = self.nexus.specs.get(request.path_params["name"])
        if spec is None:
            return self.error(request, 404, "Unknown graph", f"no graph {request.path_params['name']!r}")
        return self.page(request, "graph.html", spec=spec, drawing=draw_graph(spec))

    # ------------------------------------------------------------------ deciding

    async def decide(self, request: Request) -> Response:
        try:
            body = await read_body(request, FORM_LIMIT)
        except TooLarge:
            return self.error(request, 413, "Too large", f"a decision form is at most {FORM_LIMIT} bytes")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        problem = self.csrf.problem(request, form.get(FIELD))
        if problem:
            return self.error(request, 403, "Refused", problem)
        run_id = request.path_params["run_id"][:200]
        async with self.nexus._using_engine() as engine:
            record = await engine.store.get_run(run_id)
        if record is None:
            return self.error(request, 404, "Unknown run", f"no run {run_id!r}")
        pending = record.pending or {}
        if record.status != "waiting_approval":
            return self.error(
                request, 409, "Already decided",
                f"run {run_id} is no longer waiting for a decision (it is {record.status}); nothing was changed",
            )
        if form.get("approval_id") and form["approval_id"] != pending.get("approval_id"):
            return self.error(
                request, 409, "A different question",
                f"run {run_id} now waits for {pending.get('approval_id')!r}, not {form['approval_id']!r}: reload the page",
            )
        name = " ".join(form.get("decided_by", "").split())[:NAME_CHARS]
        note = form.get("note", "").strip()[:NOTE_CHARS] or None
        decision = form.get("decision", "")
        if not name:
            return self.error(request, 400, "Who decides?", "give your name: it is recorded with the decision")
        if decision not in (pending.get("options") or []):
            options = ", ".join(pending.get("options") or [])
            return self.error(request, 400, "Not an option", f"choose one of {options}")
        try:
            await self.nexus.aresume(run_id, decision, note, decided_by=name)
        except RunBusyError:
            return self.error(request, 409, "Being decided", f"run {run_id} is being decided or run right now; reload in a moment")
        except ApprovalError as exc:
            return self.error(request, 409, "Refused", str(exc))
        return RedirectResponse(f"/runs/{quote(run_id, safe='')}", status_code=303)


def dashboard_app(nexus: Nexus, *, token: str | None = None, max_body: int = MAX_BODY_BYTES) -> Starlette:
    """The whole ``nexus serve`` app: alert webhooks and the dashboard."""
    board = Dashboard(nexus, secrets=[token])
    return create_app(nexus, token=token, max_body=max_body, routes=board.routes())
