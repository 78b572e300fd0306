"""``nexus init`` (create a workspace, optionally with demo data) and ``nexus kpis``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

_DIRECTORY = typer.Argument(..., help="Folder of the new workspace.")

_WORKSPACE = typer.Option(
    None,
    "--workspace",
    "-w",
    envvar="NEXUS_WORKSPACE",
    help="Workspace folder (default: current folder).",
)

_AS_OF = typer.Option(
    None,
    "--as-of",
    help="ISO moment the figures are taken at; default: [data] as_of "
    "in nexus.toml, else now (workspace time).",
)

_STATUS_STYLE = {"met": "green", "missed": "red", "no_data": "yellow"}


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    text = f"{value:,.3f}" if unit == "%" and abs(value) >= 99 else f"{value:,.2f}"
    return f"{text}{'' if unit in ('', 'x') else ' '}{unit}" if unit != "x" else f"{text}x"


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        directory: Path = _DIRECTORY,
        demo: bool = typer.Option(False, "--demo", help="Fill it with generated demo data."),
        seed: int = typer.Option(7, "--seed", help="Seed of the demo data."),
        force: bool = typer.Option(False, "--force", help="Replace an existing workspace."),
    ) -> None:
        """Create a workspace: nexus.toml and data/ (empty, or demo data with --demo)."""
        if demo:
            from nexus_agents.data.demo import generate_demo

            facts = generate_demo(directory, seed=seed, force=force)
            typer.echo(
                f"demo workspace in {directory} (seed {seed}, as of {facts.as_of:%Y-%m-%d %H:%M})"
            )
        else:
            from nexus_agents.data.init import init_workspace

            init_workspace(directory, force=force)
            typer.echo(f"empty workspace in {directory}; put your files in {directory / 'data'}")

    @app.command("kpis")
    def kpis(
        workspace: Path | None = _WORKSPACE,
        period: str | None = typer.Option(
            None,
            "--period",
            help="Period label (2026-10, 2026-W42, 2026-Q4 ...); "
            "default: last complete month before as-of.",
        ),
        as_of: datetime | None = _AS_OF,
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """Compute every success metric of the playbook for a period."""
        from nexus_agents.cli._common import workspace_dir
        from nexus_agents.data.workspace import Workspace
        from nexus_agents.periods import parse_period
        from nexus_agents.tools.kpis import compute_kpis, last_complete_month

        ws = Workspace(workspace_dir(workspace))
        moment = ws.now() if as_of is None else ws.local(as_of)
        try:
            chosen = parse_period(period) if period else last_complete_month(moment)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--period") from None
        report = compute_kpis(ws, chosen, moment)
        if as_json:
            typer.echo(report.model_dump_json(indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(
            title=f"KPIs {report.period} (as of {report.as_of:%Y-%m-%d %H:%M} {report.timezone})"
        )
        for column in ("Category", "KPI", "Value", "Target", "Status", "Detail"):
            table.add_column(column, overflow="fold")
        for r in report.results:
            style = _STATUS_STYLE[r.status]
            table.add_row(
                r.category,
                r.name,
                _fmt(r.value, r.unit),
                f"{r.comparator} {_fmt(r.target, r.unit)}",
                f"[{style}]{r.status}[/{style}]",
                r.detail,
            )
        Console(width=160).print(table)
        typer.echo(
            f"{report.count('met')} met, {report.count('missed')} missed, "
            f"{report.count('no_data')} no data"
        )
