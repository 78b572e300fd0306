"""``nexus graph``: list the workflow graphs and draw one as Mermaid."""

from __future__ import annotations

from pathlib import Path

import typer

_WORKSPACE = typer.Option(
    None,
    "--workspace",
    "-w",
    envvar="NEXUS_WORKSPACE",
    help="Workspace folder; its graphs/ folder shadows shipped graphs. Default: current folder.",
)


def _specs(workspace: Path | None) -> dict[str, object]:
    from nexus_agents.graphs.loader import load_graph_specs

    ws = workspace if workspace is not None else Path(".")
    return dict(load_graph_specs([ws / "graphs"]))


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Workflow graphs (graphs/*.yaml).", no_args_is_help=True)

    @group.command("list")
    def list_graphs(workspace: Path | None = _WORKSPACE) -> None:
        """List every graph with its title and step count."""
        from rich.console import Console
        from rich.table import Table

        from nexus_agents.graphs.spec import GraphSpec, iter_steps

        specs = _specs(workspace)
        table = Table(title=f"{len(specs)} graphs")
        for column in ("Name", "Title", "Steps", "Inputs"):
            table.add_column(column, overflow="fold")
        for name in sorted(specs):
            spec = specs[name]
            assert isinstance(spec, GraphSpec)
            steps = sum(1 for _ in iter_steps(spec.steps))
            table.add_row(name, spec.title or "-", str(steps), ", ".join(spec.inputs) or "-")
        Console(width=160).print(table)

    @group.command("show")
    def show_graph(
        name: str = typer.Argument(..., help="Graph name (the file name without .yaml)."),
        workspace: Path | None = _WORKSPACE,
    ) -> None:
        """Print a graph as a Mermaid flowchart."""
        from nexus_agents.exceptions import UnknownNameError
        from nexus_agents.graphs.mermaid import to_mermaid
        from nexus_agents.graphs.spec import GraphSpec

        specs = _specs(workspace)
        spec = specs.get(name)
        if not isinstance(spec, GraphSpec):
            raise UnknownNameError("graph", name, sorted(specs))
        typer.echo(to_mermaid(spec), nl=False)

    app.add_typer(group, name="graph")
