"""``nexus demo``: the main job on a fresh machine.

Creates the demo workspace if needed and runs one improvement-loop iteration end to end.
Without a configured model endpoint it replays the demo's recorded model responses
through the real model client, and says so first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from nexus_agents.api import Nexus
    from nexus_agents.runs.engine import RunResult


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        directory: Path = typer.Option(
            Path("nexus-demo"), "--dir", help="Demo workspace folder (created when missing)."
        ),
        seed: int = typer.Option(7, "--seed", help="Seed of the generated demo data."),
        decision: str = typer.Option(
            "approve",
            "--decision",
            help="How the demo answers the deploy approval gate (approve or reject).",
        ),
        live: bool = typer.Option(
            False, "--live", help="Require a configured model endpoint (no replay)."
        ),
    ) -> None:
        """Create the demo workspace if needed and run one improvement-loop iteration."""
        from nexus_agents.cli._common import EXIT_INTERRUPTED, run_async
        from nexus_agents.cli.runs import _console

        try:
            run_async(_run_demo(_console(), directory, seed, decision, live))
        except KeyboardInterrupt:
            typer.secho(
                f"interrupted: the demo's run is marked interrupted; see it with "
                f"'nexus runs list -w {directory}' and continue it with "
                f"'nexus runs resume RUN -w {directory}'",
                fg="yellow",
                err=True,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None


async def _run_demo(
    console: Console, directory: Path, seed: int, decision: str, live: bool
) -> None:
    from nexus_agents._gc import freeze_startup_objects
    from nexus_agents.api import Nexus
    from nexus_agents.cli.runs import _Progress
    from nexus_agents.config import load_config

    freeze_startup_objects()
    from nexus_agents.data.demo import generate_demo
    from nexus_agents.exceptions import ConfigError

    config = load_config(directory)
    has_endpoint = bool(config.llm.base_url or config.llm.api_key)
    if live and not has_endpoint:
        raise ConfigError(
            "--live needs a model endpoint: set NEXUS_LLM_BASE_URL and NEXUS_LLM_API_KEY "
            "(or OPENAI_API_KEY)"
        )
    if has_endpoint:
        console.print(
            f"Live run against {config.llm.base_url or 'the OpenAI API'} ({config.llm.model})."
        )
    else:
        console.print(
            "No model endpoint configured (NEXUS_LLM_BASE_URL / NEXUS_LLM_API_KEY): replaying the "
            "demo's recorded model responses. Data, tools, graph, checkpoints and artifacts are real."
        )
    if not (directory / "nexus.toml").is_file():
        generate_demo(directory, seed=seed)
        console.print(f"created the demo workspace in {directory}/ (seed {seed})")
        config = load_config(directory)
    if has_endpoint:
        await _iterate(console, Nexus(config, listeners=[_Progress(console, False)]), decision)
        return
    import httpx

    from nexus_agents.demo import DEMO_MODEL, REPLAY_BASE_URL, cassette_path
    from nexus_agents.evals.cassette import load_cassette
    from nexus_agents.evals.replay import Replayer
    from nexus_agents.llm.factory import build_chat_model

    replay_config = config.model_copy(
        update={
            "llm": config.llm.model_copy(
                update={"base_url": REPLAY_BASE_URL, "model": DEMO_MODEL, "max_attempts": 1}
            )
        }
    )
    async with Replayer(
        load_cassette(cassette_path()), mode="loose", base_url=REPLAY_BASE_URL
    ) as replayer:
        model = build_chat_model(replay_config, http_client=httpx.AsyncClient())
        nx = Nexus(replay_config, model=model, listeners=[_Progress(console, False)])
        await _iterate(console, nx, decision)
        if replayer.unexpected:
            console.print(
                f"[yellow]{len(replayer.unexpected)} request(s) were not in the recording: the "
                "prompts or data changed since it was made[/]"
            )


async def _iterate(console: Console, nx: Nexus, decision: str) -> None:
    from rich.markup import escape

    from nexus_agents.cli.history import short_id
    from nexus_agents.cli.runs import approval_subject, print_result
    from nexus_agents.untrusted_text import shown

    result = await nx.arun_loop_iteration()
    while result.status == "waiting_approval" and result.pending is not None:
        pending = result.pending
        chosen = decision if decision in pending.options else pending.on_timeout
        console.print(
            f"[yellow]approval gate[/] {pending.approval_id}: {escape(shown(pending.question))}",
            highlight=False,
        )
        for line in approval_subject(result):
            console.print(f"  {escape(line)}", highlight=False)
        console.print(
            f"  demo answers for {pending.decider}: [bold]{chosen}[/] "
            f"(in real use: nexus approve {short_id(result.run_id)} --decision ...)"
        )
        result = await nx.aresume(
            result.run_id, chosen, "decided by nexus demo", decided_by="nexus demo"
        )
    print_result(console, result)
    ws = nx.config.workspace
    console.print("\n[bold]What was decided[/]")
    for line in decision_summary(result):
        console.print(f"  {escape(line)}", highlight=False)
    short = short_id(result.run_id)
    console.print(
        f"every artifact as Markdown:  nexus runs show {short} -w {ws} --markdown\n"
        f"timeline and approvals:      nexus runs show {short} -w {ws}\n"
        f"this week's KPIs:            nexus kpis -w {ws}"
    )
    if result.status == "failed":
        raise typer.Exit(1)


def _unit(kpi: dict[str, object]) -> str:
    unit = str(kpi.get("unit") or "")
    return "" if not unit else unit if unit in ("%", "x") else f" {unit}"


def _number(value: object) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


def decision_summary(result: RunResult) -> list[str]:
    """What one loop iteration decided, from the artifacts' facts and the run's recorded
    values (numbers from code, never from model text)."""
    artifacts, values = result.artifacts, result.values
    from nexus_agents.untrusted_text import shown

    lines: list[str] = []
    kpis = (artifacts.get("measure") or {}).get("facts", {}).get("kpis") or []
    missed = [k for k in kpis if isinstance(k, dict) and k.get("meets_target") is False]
    if missed:
        lines.append(f"KPIs that missed target ({len(missed)} of {len(kpis)}):")
        for k in missed:
            better = "at least" if k.get("direction") == "higher_is_better" else "at most"
            lines.append(
                f"  - {shown(k.get('name'), 80)}: {_number(k.get('value'))}{_unit(k)} "
                f"(target {better} {_number(k.get('target'))}{_unit(k)})"
            )
    elif kpis:
        lines.append(f"KPIs: all {len(kpis)} met their targets")
    item = (artifacts.get("select_item") or {}).get("item")
    if isinstance(item, dict):
        plan = (artifacts.get("plan") or {}).get("facts", {})
        candidates = plan.get("candidates") or []
        lines.append(
            f"item selected: {shown(item.get('item_id'), 40)} {shown(item.get('title'), 120)!r}: "
            f"highest RICE score "
            f"{_number(item.get('score'))} (reach {_number(item.get('reach'))} x impact "
            f"{_number(item.get('impact'))} x confidence {_number(item.get('confidence'))} "
            f"/ effort {_number(item.get('effort'))}) of {len(candidates)} scored "
            f"candidates; sprint capacity {_number(plan.get('capacity'))} points"
        )
    elif values.get("item_selected") is not None:
        lines.append(f"item selected: {values.get('item_selected')}")
    if "qa_verdict" in values:
        attempts = (artifacts.get("release") or {}).get("facts", {}).get("qa_attempts")
        lines.append(
            f"QA verdict: {values['qa_verdict']}"
            + (f" (attempt {attempts})" if attempts else "")
        )
    if "readiness" in values:
        lines.append(f"release verdict: {values['readiness']}")
    if "deploy_action" in values:
        narrative = (artifacts.get("deploy_decision") or {}).get("narrative") or {}
        how = narrative.get("strategy")
        rollout = narrative.get("rollout_pct")
        detail = f" ({how}{f', {rollout}% rollout' if rollout is not None else ''})" if how else ""
        line = f"deploy decision: {values['deploy_action']}{detail}"
        if "deploy_approval" in values:
            line += f"; approval: {values['deploy_approval']}"
        if "deploy" in values:
            line += f"; deploy step: {values['deploy']}"
        lines.append(line)
    return lines
