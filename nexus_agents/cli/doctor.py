"""``nexus doctor``: is this workspace ready to run? Configuration (secrets masked), the
model endpoint (one tiny call), data files and their row counts, the run database and
the schedules. Exit 0 when every check passes, 1 when one fails, 2 outside a workspace."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from nexus_agents.config import NexusConfig

_MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "info": "    "}


class _Report:
    def __init__(self) -> None:
        self.failed = 0

    def line(self, status: str, text: str) -> None:
        if status == "fail":
            self.failed += 1
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}.get(status)
        typer.secho(f"  [{_MARK[status]}] {text}", fg=colour)

    def section(self, title: str) -> None:
        typer.echo(f"\n{title}")

    def guard(self, what: str, fn: Callable[[], None]) -> None:
        """Run one check; an unexpected error is a failed line, not a crash."""
        try:
            fn()
        except Exception as exc:
            self.line("fail", f"{what}: {type(exc).__name__}: {exc}")


def _mask(value: str | None) -> str:
    if not value:
        return "(not set)"
    return f"{value[:3]}...{value[-2:]} ({len(value)} characters)" if len(value) > 8 else "***"


def _configuration(report: _Report, config: NexusConfig) -> None:
    report.section("configuration")
    llm = config.llm
    key = llm.api_key.get_secret_value() if llm.api_key else None
    report.line("info", f"workspace: {config.workspace.resolve()}")
    report.line("info", f"model: {llm.model}; endpoint: {llm.base_url or '(the OpenAI API)'}")
    report.line("ok" if key else "warn", f"API key: {_mask(key)}")
    db = config.database_url.get_secret_value() if config.database_url else None
    shown = "SQLite in .nexus/" if db is None else db.split("@")[-1].split("?")[0]
    report.line("info", f"database: {shown}")
    report.line(
        "info",
        f"limits per run: {config.limits.model_dump(mode='json', exclude_none=True)}",
    )
    _integrations(report, config)


def _integrations(report: _Report, config: NexusConfig) -> None:
    """Where each action kind goes (hosts only: webhook URLs are secrets) and whether the
    variables its delivery needs are set."""
    import os

    from nexus_agents.actions.base import ACTION_KINDS
    from nexus_agents.actions.ledger import redact_url

    settings = config.integrations
    targets = [(kind, settings.target(kind)) for kind in ACTION_KINDS]
    if not any(target for _, target in targets):
        report.line("info", "actions: recorded in the workspace only (no [integrations])")
        return
    for kind, target in targets:
        if target is None:
            continue
        url = target.url.get_secret_value() if target.url else os.environ.get(target.url_env or "")
        secret_name = target.secret_env or settings.secret_env
        missing = [] if url else [f"{target.url_env} (the URL)"]
        if target.flavour == "webhook" and secret_name and not os.environ.get(secret_name):
            missing.append(f"{secret_name} (the signing secret)")
        where = redact_url(url) if url else f"${target.url_env}"
        text = f"action {kind}: {target.flavour} to {where}"
        if missing:
            report.line("fail", f"{text}; not set: {', '.join(missing)}")
        else:
            report.line("ok", text)


def _endpoint(report: _Report, config: NexusConfig, offline: bool) -> None:
    import httpx

    report.section("model endpoint")
    llm = config.llm
    if not (llm.base_url or llm.api_key):
        report.line(
            "warn",
            "no endpoint configured (NEXUS_LLM_BASE_URL / NEXUS_LLM_API_KEY); "
            "only 'nexus demo' (replay) and 'nexus eval run' work",
        )
        return
    if offline:
        report.line("info", "not contacted (--offline)")
        return
    base = (llm.base_url or "https://api.openai.com/v1").rstrip("/")
    key = llm.api_key.get_secret_value() if llm.api_key else ""
    body = {
        "model": llm.model,
        "messages": [{"role": "user", "content": "Reply with the word OK."}],
        "max_tokens": 1,
    }
    started = time.perf_counter()
    try:
        reply = httpx.post(
            f"{base}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeout=min(llm.timeout_s, 15.0),
        )
    except httpx.HTTPError as exc:
        report.line("fail", f"{base}: cannot connect ({type(exc).__name__})")
        return
    ms = (time.perf_counter() - started) * 1000
    if reply.status_code == 200:
        report.line("ok", f"{base}: answered a 1-token request in {ms:.0f} ms")
    else:
        reason = {401: "the API key was refused", 404: "no such model or path"}.get(
            reply.status_code, "error"
        )
        report.line("fail", f"{base}: HTTP {reply.status_code} ({reason}) in {ms:.0f} ms")


def _data(report: _Report, config: NexusConfig) -> None:
    from nexus_agents.data.schema import TABLES
    from nexus_agents.data.workspace import Workspace

    report.section("workspace data")
    ws = Workspace(config.workspace, config)
    if not ws.data_dir.is_dir():
        report.line("fail", f"{ws.data_dir} is missing")
        return
    for name in TABLES:
        path = ws.file_for(name)
        if not path.is_file():
            report.line("warn", f"{name}: no {path.name} (reports that need it say 'no data')")
            continue

        def count(table: str = name, file: Path = path) -> None:
            db = ws.connect([table])
            try:
                row = db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
            finally:
                db.close()
            report.line("ok", f"{table}: {file.name}, {row[0] if row else 0} rows")

        report.guard(name, count)


def _database(report: _Report, config: NexusConfig) -> None:
    import asyncio

    from nexus_agents.runs.store import RunStore, database_location

    report.section("run database")
    location = database_location(config, workspace=config.workspace)
    if isinstance(location, Path) and not location.exists():
        report.line("info", f"{location}: no runs yet (created by the first run)")
        return

    async def counts() -> dict[str, int]:
        async with await RunStore.open(location) as store:
            rows = await store.db.fetchall(
                "SELECT status, COUNT(*) AS n FROM runs GROUP BY status", ()
            )
            return {str(r["status"]): int(r["n"]) for r in rows}

    def show() -> None:
        found = asyncio.run(counts())
        where = location if isinstance(location, Path) else "PostgreSQL"
        total = sum(found.values())
        detail = ", ".join(f"{n} {status}" for status, n in sorted(found.items()))
        report.line("ok", f"{where}: {total} runs{' (' + detail + ')' if detail else ''}")
        for status in ("interrupted", "waiting_approval"):
            if found.get(status):
                report.line("warn", f"{found[status]} run(s) {status}: see 'nexus runs list'")

    report.guard("run database", show)


def _schedules(report: _Report, config: NexusConfig) -> None:
    from nexus_agents.schedule.calendar import load_calendar

    report.section("schedules")

    def show() -> None:
        calendar = load_calendar(config)
        enabled = [job for job in calendar.jobs if job.enabled]
        report.line(
            "ok",
            f"{len(enabled)} of {len(calendar.jobs)} cadences enabled "
            f"({calendar.timezone}, queue {calendar.queue})",
        )
        store = config.workspace / ".nexus" / "dbos.sqlite"
        if config.database_url is None and not store.exists():
            report.line("info", "not synced yet: 'nexus schedule sync', then 'nexus worker'")

    report.guard("cadences", show)


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        workspace: Path | None = typer.Option(
            None, "--workspace", "-w", envvar="NEXUS_WORKSPACE", help="Workspace folder."
        ),
        offline: bool = typer.Option(False, "--offline", help="Do not call the model endpoint."),
    ) -> None:
        """Check configuration (secrets masked), the model endpoint (one tiny call), data
        files and row counts, the run database and the schedules."""
        from nexus_agents.cli._common import EXIT_FAILED, workspace_dir
        from nexus_agents.config import load_config

        config = load_config(workspace_dir(workspace))
        report = _Report()
        _configuration(report, config)
        _endpoint(report, config, offline)
        _data(report, config)
        _database(report, config)
        _schedules(report, config)
        typer.echo("")
        if report.failed:
            typer.secho(f"{report.failed} check(s) failed", fg="red")
            raise typer.Exit(EXIT_FAILED)
        typer.secho("all checks passed", fg="green")
