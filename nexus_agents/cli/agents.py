"""``nexus agents``: list the roster and show one agent's definition."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from nexus_agents.agents.roster import Roster

_WORKSPACE = typer.Option(
    None,
    "--workspace",
    "-w",
    envvar="NEXUS_WORKSPACE",
    help="Workspace folder; its prompts/ folder shadows shipped prompts. Default: current folder.",
)


def _roster(workspace: Path | None) -> Roster:
    from nexus_agents.agents import load_roster

    ws = workspace if workspace is not None else Path(".")
    return load_roster([ws / "prompts"])


def _cadence_text(cadence: str, detail: str | None) -> str:
    return f"{cadence}: {detail}" if detail else cadence


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The agent roster (prompts/*.md).", no_args_is_help=True)

    @group.command("list")
    def list_agents(workspace: Path | None = _WORKSPACE) -> None:
        """List every agent with its cadences and main output."""
        from rich.console import Console
        from rich.table import Table

        roster = _roster(workspace)
        table = Table(title=f"{len(roster)} agents")
        for column in ("Name", "Slug", "Cadences", "Output"):
            table.add_column(column, overflow="fold")
        for spec in roster:
            cadences = "\n".join(_cadence_text(r.cadence, r.output or r.sla) for r in spec.cadences)
            name = spec.name if spec.origin != "workspace" else f"{spec.name} (workspace)"
            table.add_row(name, spec.slug, cadences or "-", spec.output)
        Console(width=160).print(table)

    @group.command("show")
    def show_agent(
        name: str = typer.Argument(..., help="Display name, slug or alias (any case)."),
        workspace: Path | None = _WORKSPACE,
    ) -> None:
        """Show an agent's front matter and system prompt."""
        import yaml

        spec = _roster(workspace).get(name)
        front = spec.model_dump(mode="json", exclude={"system_prompt", "origin"}, exclude_none=True)
        typer.echo(f"# {spec.name}  ({spec.source})")
        typer.echo("---")
        typer.echo(yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip())
        typer.echo("---")
        typer.echo(spec.system_prompt)

    app.add_typer(group, name="agents")
