"""``nexus run``, ``nexus runs``, ``nexus approve``, ``nexus ask`` and ``nexus artifacts``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from nexus_agents.untrusted_text import shown

if TYPE_CHECKING:
    from rich.console import Console

    from nexus_agents.api import Nexus
    from nexus_agents.runs.engine import RunResult

_WORKSPACE = typer.Option(
    None, "--workspace", "-w", envvar="NEXUS_WORKSPACE", help="Workspace folder (default: current)."
)
_ALIASES = {"loop": "improvement_loop", "incident": "incident_response"}


def _nexus(workspace: Path | None, *, runs: bool = False, **kwargs: Any) -> Nexus:
    """The workspace's ``Nexus``; ``runs=True`` for commands that run graphs (this process
    is ours, so its start-up objects are kept out of full garbage collections)."""
    from nexus_agents.api import Nexus
    from nexus_agents.cli._common import workspace_dir

    nx = Nexus.from_workspace(workspace_dir(workspace), **kwargs)
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

    run_id: str | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("run_id"):
            self.run_id = str(event["run_id"])
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
    colour = status_colour(result.status)
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
    for step, reason in result.failed_actions.items():
        console.print(
            f"[red]action {escape(step)} was not delivered:[/] {escape(shown(reason, 300))}\n"
            f"  see it with: nexus actions list --run {result.run_id}; "
            f"send it again with: nexus actions retry {result.run_id}",
            highlight=False,
        )
    if result.pending is not None:
        p = result.pending
        _print_waiting(
            console, result.run_id, p.decider, p.question, p.options, approval_subject(result)
        )


def status_colour(status: str) -> str:
    return {
        "succeeded": "green",
        "failed": "red",
        "waiting_approval": "yellow",
        "interrupted": "yellow",
        "cancelled": "red",
    }.get(status, "white")


def _print_waiting(
    console: Console,
    run_id: str,
    decider: object,
    question: object,
    options: list[str],
    subject: Sequence[str] = (),
) -> None:
    """Who the run waits for and how to decide; the question is model or data text."""
    from rich.markup import escape

    console.print(
        f"[yellow]waiting for {escape(shown(decider))}[/]: {escape(shown(question))}",
        highlight=False,
    )
    for line in subject:
        console.print(f"  {escape(line)}", highlight=False)
    console.print(
        f"  decide with: nexus approve {run_id} --decision <{'|'.join(options)}> [--note TEXT]",
        highlight=False,
    )


def approval_subject(result: RunResult) -> list[str]:
    """What a pending approval is about: the artifact written just before the gate, with
    the decision-bearing facts it carries (numbers from code, not model text)."""
    if not result.artifacts:
        return []
    from nexus_agents.cli.history import short_id

    step, artifact = list(result.artifacts.items())[-1]
    title = shown(artifact.get("title") or artifact.get("kind") or step, 200)
    lines = [
        f"approving: {title} (step {step}; read it with: "
        f"nexus runs show {short_id(result.run_id)} --markdown)"
    ]
    for label, part in (("proposal", "narrative"), ("facts", "facts")):
        fields = artifact.get(part)
        if isinstance(fields, dict):
            pairs = [
                f"{shown(key, 40)}={shown(value, 60)}"
                for key, value in fields.items()
                if isinstance(value, str | int | float | bool) and len(str(value)) <= 60
            ][:8]
            if pairs:
                lines.append(f"{label}: " + ", ".join(pairs))
    return lines


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


def _check_graph_inputs(nx: Nexus, graph: str, data: dict[str, Any], period: str | None) -> None:
    """Refuse a run whose graph cannot do its job with these inputs, before it is created."""
    from nexus_agents.exceptions import ConfigError, UnknownNameError
    from nexus_agents.periods import parse_period

    spec = nx.specs.get(graph)
    if spec is None or graph == "cadences":
        raise UnknownNameError("graph", graph, [n for n in nx.specs if n != "cadences"])
    label = period or data.get("period")
    if label is not None:
        try:
            parse_period(str(label))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--period") from None
    if not any(_has_rows(nx.workspace.file_for(t)) for t in nx.workspace.present_tables()):
        raise ConfigError(
            f"{nx.workspace.data_dir} holds no data files, so every report would be empty: "
            "put your exports there (see 'nexus doctor'), or try 'nexus init DIR --demo'"
        )
    if graph == "incident_response" and not data.get("alert"):
        raise typer.BadParameter(
            "an incident run needs the alert that opened it: --alert FILE (a JSON object)",
            param_hint="--alert",
        )
    missing = [
        name
        for name, item in spec.inputs.items()
        if getattr(item, "required", False) and name != "period" and name not in data
    ]
    if missing:
        raise typer.BadParameter(
            f"graph {graph!r} needs input(s) {', '.join(missing)}: give them in --inputs FILE",
            param_hint="--inputs",
        )


def _has_rows(path: Path) -> bool:
    """Whether a data file holds at least one record (a CSV more than its header line)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    lines = [line for line in head.splitlines() if line.strip()]
    return len(lines) >= (1 if path.suffix == ".jsonl" else 2)


def _finish(console: Console, result: RunResult, *, as_json: bool = False) -> None:
    """Print the result and end the command with the exit code of its status."""
    from nexus_agents.cli._common import exit_code_for

    print_result(console, result, as_json=as_json)
    code = exit_code_for(result.status)
    if code:
        raise typer.Exit(code)


def _drive(console: Console, nx: Nexus, progress: _Progress, work: Any) -> RunResult:
    """Run ``work`` (a coroutine driving a run); on Ctrl-C / SIGTERM say how to resume the
    run, which the engine recorded as interrupted, and exit 130."""
    from nexus_agents.cli._common import EXIT_INTERRUPTED, run_async

    try:
        result: RunResult = run_async(work)
        return result
    except KeyboardInterrupt:
        run_id = progress.run_id or _latest_interrupted(nx)
        ws = nx.config.workspace
        if run_id:
            typer.secho(
                f"interrupted: run {run_id} is marked interrupted; its finished steps are kept.\n"
                f"  continue it with: nexus runs resume {run_id} -w {ws}",
                fg="yellow",
                err=True,
            )
        else:
            typer.secho("interrupted before a run was recorded", fg="yellow", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _latest_interrupted(nx: Nexus) -> str | None:
    import asyncio

    async def find() -> str | None:
        async with await nx._store() as store:
            runs = await store.list_runs(status="interrupted", limit=1)
            return runs[0].run_id if runs else None

    try:
        return asyncio.run(find())
    except Exception:  # the hint is best effort; the run is marked either way
        return None


async def _resolve(nx: Nexus, given: str) -> str:
    from nexus_agents.cli.history import resolve_run_id

    async with await nx._store() as store:
        return await resolve_run_id(store, given)


async def load_history(nx: Nexus, given: str) -> Any:
    """The ``RunHistory`` of a run (id or unique prefix)."""
    from nexus_agents.cli.history import RunHistory, approval_rows, resolve_run_id, timeline

    async with nx._using_engine() as engine:
        store = engine.store
        run_id = await resolve_run_id(store, given)
        record = await store.get_run(run_id)
        assert record is not None
        events = await store.events_for(run_id)
        usage = await store.usage_for(run_id)
        artifacts = await store.artifacts_for(run_id)
        approvals: dict[str, Any] = {}
        if record.graph in engine.specs:
            snapshot = await engine.graph(record.graph).aget_state(engine._config(run_id))
            approvals = dict((snapshot.values or {}).get("approvals") or {})
    return RunHistory(
        record=record,
        steps=timeline(events, usage, record.status),
        approvals=approval_rows(approvals),
        artifacts=artifacts,
    )


def print_history(console: Console, history: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    def safe(text: object, limit: int = 500) -> str:  # data or model text: no markup, one line
        return escape(shown(text, limit))

    from nexus_agents.cli.history import clock, run_seconds, seconds_text

    r = history.record
    colour = status_colour(r.status)
    console.print(
        f"run [bold]{r.run_id}[/] ({r.graph}, period {r.period or '-'}"
        f"{', job ' + r.job if r.job else ''}): [{colour}]{r.status}[/]"
    )
    console.print(
        f"started {clock(r.started_at)} UTC, "
        f"{'finished ' + clock(r.finished_at) + ' UTC, ' if r.finished_at else ''}"
        f"took {seconds_text(run_seconds(r))}; {history.calls} model calls, "
        f"{history.tokens} tokens, ${history.cost_usd:.4f}"
    )
    if r.error:
        console.print(f"[red]error:[/] {safe(r.error, 2000)}", highlight=False)
    table = Table(title="timeline")
    for column in ("Step", "Agent", "Started", "Duration", "Calls", "Tokens", "Cost", "Outcome"):
        table.add_column(column, no_wrap=column in ("Step", "Started"))
    for s in history.steps:
        outcome = s.outcome if not s.error else f"{s.outcome}: {s.error}"
        table.add_row(
            safe(s.step),
            s.agent or "-",
            clock(s.started_at)[11:],
            seconds_text(s.seconds),
            str(s.calls),
            str(s.tokens),
            f"${s.cost_usd:.4f}",
            safe(outcome),
        )
    console.print(table)
    if history.approvals:
        approvals = Table(title="approvals")
        for column in ("Approval", "Decision", "By", "At", "Note"):
            approvals.add_column(column)
        for a in history.approvals:
            approvals.add_row(
                safe(a["approval"]),
                safe(a.get("decision") or "-"),
                safe(a.get("decided_by") or "-"),
                clock(a.get("decided_at")),
                safe(a.get("note") or ""),
            )
        console.print(approvals)
    else:
        console.print("approvals: none")
    if r.pending:
        p = r.pending
        _print_waiting(
            console, r.run_id, p.get("decider"), p.get("question"), list(p.get("options") or [])
        )
    for artifact in history.artifacts:
        title = artifact.data.get("title") or artifact.kind
        console.print(f"  artifact {artifact.step}: {safe(title, 200)}", highlight=False)
    if r.status == "interrupted":
        console.print(f"continue it with: nexus runs resume {r.run_id}")


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
        """Run a playbook graph once (shows live progress). Exit 0 succeeded, 1 failed,
        3 waiting for approval, 130 interrupted (resumable)."""
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
        progress = _Progress(console, as_json)
        nx = _nexus(workspace, runs=True, listeners=[progress])
        name = _ALIASES.get(graph, graph)
        _check_graph_inputs(nx, name, data, period)
        result = _drive(
            console, nx, progress, nx.arun(name, data, period=period, unattended=unattended)
        )
        _finish(console, result, as_json=as_json)

    @app.command("approve")
    def approve(
        run_id: str = typer.Argument(..., help="Run id (or a unique prefix of it)."),
        decision: str = typer.Option(..., "--decision", "-d", help="One of the gate's options."),
        note: str | None = typer.Option(None, "--note"),
        by: str | None = typer.Option(None, "--by", help="Who decides (recorded)."),
        workspace: Path | None = _WORKSPACE,
    ) -> None:
        """Give the decision a waiting run asks for, and continue it."""
        import asyncio

        console = _console()
        progress = _Progress(console, False)
        nx = _nexus(workspace, runs=True, listeners=[progress])
        full = asyncio.run(_resolve(nx, run_id))
        progress.run_id = full
        _finish(console, _drive(console, nx, progress, nx.aresume(full, decision, note, decided_by=by)))

    runs = typer.Typer(help="Run history: list, show, trace, resume, cancel.", no_args_is_help=True)

    @runs.command("list")
    def list_runs(
        workspace: Path | None = _WORKSPACE,
        job: str | None = typer.Option(None, "--job"),
        graph: str | None = typer.Option(None, "--graph"),
        limit: int = typer.Option(30, "--limit"),
    ) -> None:
        """Recent runs, newest first (a short id works wherever a run id is asked for)."""
        import asyncio

        from rich.markup import escape
        from rich.table import Table

        from nexus_agents.cli.history import clock, run_seconds, seconds_text, short_id

        nx = _nexus(workspace)

        async def rows() -> list[tuple[Any, dict[str, float]]]:
            async with await nx._store() as store:
                records = await store.list_runs(
                    job=job, graph=_ALIASES.get(graph or "", graph), limit=limit
                )
                totals = await store.usage_totals_for([r.run_id for r in records])
                return [(r, totals[r.run_id]) for r in records]

        found = asyncio.run(rows())
        table = Table(title=f"{len(found)} runs")
        for column in ("Run", "Graph", "Job", "Period", "Status", "Started (UTC)", "Took", "Cost", "Error"):
            table.add_column(column, no_wrap=column not in ("Error",))
        for r, usage in found:
            table.add_row(
                short_id(r.run_id),
                r.graph,
                r.job or "-",
                r.period or "-",
                r.status,
                clock(r.started_at),
                seconds_text(run_seconds(r)),
                f"${usage.get('cost_usd', 0.0):.4f}",
                escape(shown(r.error or "", 60)),
            )
        _console().print(table)

    @runs.command("show")
    def show_run(
        run_id: str = typer.Argument(..., help="Run id (or a unique prefix of it)."),
        workspace: Path | None = _WORKSPACE,
        markdown: bool = typer.Option(
            False, "--markdown", help="Write the run and every artifact as Markdown."
        ),
        as_json: bool = typer.Option(False, "--json", help="The run result as JSON."),
        verbose: bool = typer.Option(
            False, "--verbose", "-v", help="Also print each step's messages and raw answers."
        ),
    ) -> None:
        """A run's timeline (start, duration, calls, tokens, cost per step), approvals,
        status, error and artifacts."""
        import asyncio

        from nexus_agents.cli.history import to_markdown

        nx = _nexus(workspace)
        if as_json:
            full = asyncio.run(_resolve(nx, run_id))
            typer.echo(asyncio.run(nx.aresult(full)).model_dump_json(indent=2))
            return
        history = asyncio.run(load_history(nx, run_id))
        if markdown:
            typer.echo(to_markdown(history), nl=False)
        else:
            print_history(_console(), history)
        if verbose:
            _print_traces(nx, history.record.run_id, None)

    @runs.command("trace")
    def trace_run(
        run_id: str = typer.Argument(..., help="Run id (or a unique prefix of it)."),
        step: str | None = typer.Argument(None, help="Only this step."),
        workspace: Path | None = _WORKSPACE,
    ) -> None:
        """The messages sent to the model and its raw answers, per step (secrets redacted)."""
        import asyncio

        nx = _nexus(workspace)
        _print_traces(nx, asyncio.run(_resolve(nx, run_id)), step)

    @runs.command("resume")
    def resume_run(
        run_id: str = typer.Argument(..., help="Run id (or a unique prefix of it)."),
        workspace: Path | None = _WORKSPACE,
    ) -> None:
        """Continue a run that stopped (crash, kill, Ctrl-C) from its last completed step."""
        import asyncio

        console = _console()
        progress = _Progress(console, False)
        nx = _nexus(workspace, runs=True, listeners=[progress])
        full = asyncio.run(_resolve(nx, run_id))
        progress.run_id = full
        _finish(console, _drive(console, nx, progress, nx.aresume(full)))

    @runs.command("cancel")
    def cancel_run(
        run_id: str = typer.Argument(..., help="Run id (or a unique prefix of it)."),
        workspace: Path | None = _WORKSPACE,
    ) -> None:
        """Stop a run for good: a waiting or interrupted run is never continued."""
        import asyncio

        from nexus_agents.cli.history import resolve_run_id
        from nexus_agents.exceptions import NexusError

        nx = _nexus(workspace)

        async def cancel() -> str:
            async with await nx._store() as store:
                full = await resolve_run_id(store, run_id)
                record = await store.get_run(full)
                assert record is not None
                if record.status in ("succeeded", "failed", "cancelled"):
                    raise NexusError(f"run {full} has already ended ({record.status})")
                await store.set_status(full, "cancelled", error="cancelled from the command line")
                return full

        typer.echo(f"run {asyncio.run(cancel())} cancelled")

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
        from nexus_agents.periods import parse_period

        nx = _nexus(workspace)
        spec = nx.roster.get(name)
        _ = nx.model  # fail fast (exit 2) when no endpoint is configured
        data = _load_json_file(input_file) if input_file else {}
        label = period or data.pop("period", None)
        if label is not None:
            try:
                parse_period(str(label))
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--period") from None
        outcome = nx.ask(spec.slug, period=label, inputs=data)
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
        from nexus_agents.cli.history import clock, short_id

        nx = _nexus(workspace)

        async def latest() -> list[Any]:
            return [await nx.alatest_artifact(kind) for kind in all_artifacts()]

        table = Table(title="latest artifacts")
        for column in ("Kind", "Run", "Step", "Created"):
            table.add_column(column, no_wrap=True)
        for record in asyncio.run(latest()):
            if record is not None:
                table.add_row(record.kind, short_id(record.run_id), record.step, clock(record.created_at))
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


def _print_traces(nx: Nexus, run_id: str, step: str | None) -> None:
    """Print the stored model exchanges of a run (or of one step): each message sent and
    the raw answer (stored with secrets replaced)."""
    import asyncio

    from nexus_agents.cli.history import readable
    from nexus_agents.exceptions import NexusError

    async def calls() -> list[Any]:
        async with await nx._store() as store:
            events = await store.events_for(run_id)
        return [e for e in events if e.event == "model_call" and (step is None or e.step == step)]

    found = asyncio.run(calls())
    if not found:
        where = f"step {step!r} of run {run_id}" if step else f"run {run_id}"
        raise NexusError(f"no recorded model calls for {where}")
    for number, event in enumerate(found, 1):
        detail = event.detail or {}
        typer.echo(
            f"\n=== {shown(event.step, 100)} ({shown(event.agent or '-', 100)}) "
            f"call {number} at {event.at}"
        )
        earlier = detail.get("earlier_messages")
        if isinstance(earlier, int) and earlier > 0:
            typer.echo(f"--- ({earlier} earlier message(s), shown with the call before)")
        for message in detail.get("messages") or []:
            typer.echo(f"--- {shown(message.get('role'), 20)}")
            typer.echo(readable(message.get("content")))
            for call in message.get("tool_calls") or []:
                typer.echo(f"[tool call] {readable(call)}")
        finish = detail.get("finish_reason")
        typer.echo("--- answer" + (f" ({shown(finish, 20)})" if finish else ""))
        if detail.get("answer") is not None:
            typer.echo(readable(detail["answer"]))
        for call in detail.get("tool_calls") or []:
            typer.echo(f"[tool call] {readable(call)}")
        if detail.get("refusal"):
            typer.echo(f"[refusal] {readable(detail['refusal'])}")
        if detail.get("error"):
            typer.echo(f"[error] {readable(detail['error'])}")

