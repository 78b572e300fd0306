"""``nexus run``, ``nexus runs``, ``nexus approve``, ``nexus ask`` and ``nexus artifacts``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from nexus_agents.untrusted_text import cut, shown

if TYPE_CHECKING:
    from rich.console import Console

    from nexus_agents.api import Nexus
    from nexus_agents.runs.engine import RunResult

_WORKSPACE = typer.Option(
    None, "--workspace", "-w", envvar="NEXUS_WORKSPACE", help="Workspace folder (default: current)."
)
_ALIASES = {"loop": "improvement_loop", "incident": "incident_response"}
MARKDOWN_SHOWN = 100_000
"""Characters of one artifact's Markdown ``runs show --markdown`` renders."""


def _nexus(workspace: Path | None, *, runs: bool = False, **kwargs: Any) -> Nexus:
    """The workspace's ``Nexus``; ``runs=True`` for commands that run graphs (this process
    is ours, so its start-up objects are kept out of full garbage collections)."""
    from nexus_agents.api import Nexus

    nx = Nexus.from_workspace(workspace if workspace is not None else Path("."), **kwargs)
    if runs:
        from nexus_agents._gc import freeze_startup_objects

        freeze_startup_objects()
    return nx


def _console() -> Console:
    from rich.console import Console

    return Console(width=140)


class _Progress:
    """A one-line live view: which step, which agent, tokens and cost so far."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.tokens = 0
        self.cost = 0.0
        self.steps = 0

    def __call__(self, event: dict[str, Any]) -> None:
        if self.quiet:
            return
        if event.get("event") == "agent_started":
            attempt = f" (attempt {event['attempt']})" if event.get("attempt") else ""
            self.console.print(f"[cyan]>[/] {event['step']}: {event['agent']}{attempt} ...")
        elif event.get("event") == "agent_finished":
            self.steps += 1
            self.tokens += int(event.get("tokens") or 0)
            self.cost += float(event.get("cost_usd") or 0.0)
            self.console.print(
                f"  [green]done[/] {event['step']} in {event['seconds']:.2f}s"
                f"  | total {self.tokens} tokens, ${self.cost:.4f}"
            )


def print_result(console: Console, result: RunResult, *, as_json: bool = False) -> None:
    from rich.markup import escape

    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    colour = {"succeeded": "green", "failed": "red", "waiting_approval": "yellow"}.get(
        result.status, "white"
    )
    console.print(f"run [bold]{result.run_id}[/] ({result.graph}): [{colour}]{result.status}[/]")
    if result.error:  # may quote data or model text: cut, and never read as markup
        console.print(f"[red]error:[/] {escape(shown(result.error))}", highlight=False)
    for step, artifact in result.artifacts.items():
        title = shown(artifact.get("title", artifact.get("kind", "?")), 200)
        console.print(f"  artifact {step}: {escape(title)}", highlight=False)
    usage = result.usage
    if usage:
        console.print(
            f"usage: {int(usage.get('calls', 0))} model calls, "
            f"{int(usage.get('total_tokens', 0))} tokens, ${usage.get('cost_usd', 0.0):.4f}"
        )
    if result.pending is not None:
        p = result.pending
        console.print(
            f"[yellow]waiting for {p.decider}[/]: {escape(shown(p.question))}\n"
            f"  decide with: nexus approve {result.run_id} --decision "
            f"<{'|'.join(p.options)}> [--note TEXT]"
        )


def _load_json_file(path: Path) -> dict[str, Any]:
    from nexus_agents.exceptions import DataError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(str(path), "file not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(str(path), f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise DataError(str(path), "expected a JSON object")
    return data


def _receive(
    console: Console, nx: Nexus, payload: dict[str, Any], source: str, unattended: bool, as_json: bool
) -> None:
    """``run incident --alert FILE --source S``: open or close incident runs by alert key."""
    import asyncio

    from rich.markup import escape

    outcomes = asyncio.run(nx.areceive_alerts(payload, source=source, unattended=unattended))
    if as_json:
        typer.echo(json.dumps([o.model_dump(mode="json") for o in outcomes], indent=2))
    for o in [] if as_json else outcomes:
        floor = f", floor {o.severity_floor}" if o.severity_floor else ""
        run = f" run {o.run_id} ({o.run_status})" if o.run_id else ""
        console.print(escape(shown(f"{o.source} {o.key} {o.status}: {o.action}{run}{floor}. {o.detail}")))
    if any(o.run_status == "failed" for o in outcomes if o.action == "started"):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_graph(
        graph: str = typer.Argument(..., help="Graph name, or 'loop' / 'incident'."),
        workspace: Path | None = _WORKSPACE,
        period: str | None = typer.Option(
            None, "--period", help="e.g. 2026-W47, 2026-10, 2026-Q3."
        ),
        alert: Path | None = typer.Option(None, "--alert", help="Alert JSON file (incidents)."),
        source: str | None = typer.Option(
            None,
            "--source",
            help="What sent the --alert payload: alertmanager, grafana, pagerduty or nexus"
            " (one incident run per alert key; a resolved alert closes it).",
        ),
        inputs: Path | None = typer.Option(None, "--inputs", help="JSON file of graph inputs."),
        unattended: bool = typer.Option(
            False, "--unattended", help="Approval gates take their timeout default."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Run a playbook graph once (shows live progress)."""
        import asyncio

        console = _console()
        data = _load_json_file(inputs) if inputs else {}
        if source is not None:
            if alert is None:
                raise typer.BadParameter("--source needs --alert FILE", param_hint="--source")
            nx = _nexus(workspace, runs=True, listeners=[_Progress(console, as_json)])
            _receive(console, nx, _load_json_file(alert), source, unattended, as_json)
            return
        if alert is not None:
            data["alert"] = _load_json_file(alert)
        nx = _nexus(workspace, runs=True, listeners=[_Progress(console, as_json)])
        result = asyncio.run(
            nx.arun(_ALIASES.get(graph, graph), data, period=period, unattended=unattended)
        )
        print_result(console, result, as_json=as_json)
        if result.status == "failed":
            raise typer.Exit(1)

    @app.command("approve")
    def approve(
        run_id: str = typer.Argument(...),
        decision: str = typer.Option(..., "--decision", "-d", help="One of the gate's options."),
        note: str | None = typer.Option(None, "--note"),
        by: str | None = typer.Option(None, "--by", help="Who decides (recorded)."),
        workspace: Path | None = _WORKSPACE,
    ) -> None:
        """Give the decision a waiting run asks for, and continue it."""
        console = _console()
        nx = _nexus(workspace, runs=True, listeners=[_Progress(console, False)])
        result = nx.resume(run_id, decision, note, decided_by=by)
        print_result(console, result)

    runs = typer.Typer(help="Run history: list, show, resume.", no_args_is_help=True)

    @runs.command("list")
    def list_runs(
        workspace: Path | None = _WORKSPACE,
        job: str | None = typer.Option(None, "--job"),
        graph: str | None = typer.Option(None, "--graph"),
        limit: int = typer.Option(30, "--limit"),
    ) -> None:
        """Recent runs, newest first."""
        from rich.table import Table

        records = _nexus(workspace).list_runs(job=job, graph=graph, limit=limit)
        table = Table(title=f"{len(records)} runs")
        for column in ("Run", "Graph", "Job", "Period", "Status", "Started", "Error"):
            table.add_column(column, overflow="fold")
        for r in records:
            table.add_row(
                r.run_id,
                r.graph,
                r.job or "-",
                r.period or "-",
                r.status,
                r.started_at,
                (r.error or "")[:80],
            )
        _console().print(table)

    @runs.command("show")
    def show_run(
        run_id: str = typer.Argument(...),
        workspace: Path | None = _WORKSPACE,
        markdown: bool = typer.Option(
            False, "--markdown", help="Print every artifact as Markdown."
        ),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """A run's status, artifacts, usage and pending approval."""
        import asyncio

        console = _console()
        nx = _nexus(workspace)
        result = asyncio.run(nx.aresult(run_id))
        print_result(console, result, as_json=as_json)
        if markdown and not as_json:
            from rich.markdown import Markdown

            for record in asyncio.run(_artifacts_for(nx, run_id)):
                console.print(Markdown(cut(record.markdown or "", MARKDOWN_SHOWN)))

    @runs.command("resume")
    def resume_run(run_id: str = typer.Argument(...), workspace: Path | None = _WORKSPACE) -> None:
        """Continue a run that stopped (crash, kill) from its last completed step."""
        console = _console()
        print_result(
            console, _nexus(workspace, runs=True, listeners=[_Progress(console, False)]).resume(run_id)
        )

    app.add_typer(runs, name="runs")

    @app.command("ask")
    def ask(
        name: str = typer.Argument(..., help="Agent name, slug or alias."),
        workspace: Path | None = _WORKSPACE,
        period: str | None = typer.Option(None, "--period"),
        input_file: Path | None = typer.Option(None, "--input", help="JSON file of inputs."),
        as_json: bool = typer.Option(False, "--json", help="Print the artifact as JSON."),
    ) -> None:
        """Run one agent once against the configured endpoint and print its artifact."""
        nx = _nexus(workspace)
        spec = nx.roster.get(name)
        _ = nx.model  # fail fast (exit 2) when no endpoint is configured
        data = _load_json_file(input_file) if input_file else {}
        outcome = nx.ask(spec.slug, period=period or data.pop("period", None), inputs=data)
        if as_json:
            typer.echo(outcome.artifact.model_dump_json(indent=2))
        else:
            typer.echo(outcome.artifact.to_markdown())
        u = outcome.usage
        typer.echo(
            f"\n-- {outcome.calls} model calls, {u.prompt_tokens} prompt + "
            f"{u.completion_tokens} completion tokens, ${u.cost_usd:.4f}",
            err=as_json,
        )

    artifacts = typer.Typer(help="Artifacts produced by runs.", no_args_is_help=True)

    @artifacts.command("list")
    def list_artifacts(workspace: Path | None = _WORKSPACE) -> None:
        """The latest artifact of every kind."""
        import asyncio

        from rich.table import Table

        from nexus_agents.artifacts.registry import all_artifacts

        nx = _nexus(workspace)

        async def latest() -> list[Any]:
            return [await nx.alatest_artifact(kind) for kind in all_artifacts()]

        table = Table(title="latest artifacts")
        for column in ("Kind", "Run", "Step", "Created"):
            table.add_column(column)
        for record in asyncio.run(latest()):
            if record is not None:
                table.add_row(record.kind, record.run_id, record.step, record.created_at)
        _console().print(table)

    @artifacts.command("show")
    def show_artifact(
        kind: str = typer.Argument(..., help="Artifact kind or title, e.g. sprint_plan."),
        workspace: Path | None = _WORKSPACE,
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Print the latest artifact of a kind."""
        from nexus_agents.exceptions import NexusError

        record = _nexus(workspace).latest_artifact(kind)
        if record is None:
            raise NexusError(f"no {kind} artifact yet: run the graph or job that produces it")
        if as_json:
            typer.echo(json.dumps(record.data, indent=2))
        else:
            typer.echo(record.markdown or json.dumps(record.data, indent=2))

    app.add_typer(artifacts, name="artifacts")


async def _artifacts_for(nx: Nexus, run_id: str) -> list[Any]:
    async with await nx._store() as store:
        return await store.artifacts_for(run_id)
