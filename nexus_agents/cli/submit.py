"""``nexus submit``: queue a run for the workers (``nexus worker``) instead of running it here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from nexus_agents.untrusted_text import shown

_WORKSPACE = typer.Option(
    None, "--workspace", "-w", envvar="NEXUS_WORKSPACE", help="Workspace folder (default: current)."
)


def _inline_json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc.msg}", param_hint="--input") from None
    if not isinstance(data, dict):
        raise typer.BadParameter("expected a JSON object", param_hint="--input")
    return data


def register(app: typer.Typer) -> None:
    @app.command("submit")
    def submit(
        graph: str = typer.Argument(..., help="Graph name, or 'loop' / 'incident'."),
        workspace: Path | None = _WORKSPACE,
        period: str | None = typer.Option(None, "--period", help="e.g. 2026-W47, 2026-10."),
        thread_id: str | None = typer.Option(
            None,
            "--thread-id",
            help="The run's id (default: derived from graph, period and inputs, so the same"
            " submission twice is one run).",
        ),
        alert: Path | None = typer.Option(None, "--alert", help="Alert JSON file (incidents)."),
        inputs: Path | None = typer.Option(None, "--inputs", help="JSON file of graph inputs."),
        inline: str | None = typer.Option(
            None, "--input", metavar="JSON", help="Graph inputs as a JSON object."
        ),
        unattended: bool = typer.Option(
            False, "--unattended", help="Approval gates take their timeout default."
        ),
        wait: bool = typer.Option(
            False, "--wait", help="Wait until a worker finished the run and print its result."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the submission as JSON."),
    ) -> None:
        """Queue a run for any 'nexus worker' on this workspace's database and print its
        run id (exit 0). With --wait: exit codes as for 'nexus run'."""
        from nexus_agents.cli.runs import (
            _ALIASES,
            _check_graph_inputs,
            _console,
            _finish,
            _load_json_file,
            _nexus,
        )

        data = _load_json_file(inputs) if inputs else {}
        if inline is not None:
            data.update(_inline_json(inline))
        if alert is not None:
            data["alert"] = _load_json_file(alert)
        nx = _nexus(workspace)
        name = _ALIASES.get(graph, graph)
        _check_graph_inputs(nx, name, data, period)
        try:
            sub = nx.submit(
                name, data, period=period, thread_id=thread_id, unattended=unattended
            )
            if as_json and not wait:
                typer.echo(sub.model_dump_json(indent=2))
            elif not as_json:
                what = "already submitted" if sub.already_submitted else "queued"
                typer.echo(
                    shown(f"{what}: run {sub.run_id} ({sub.graph}, {sub.period}): {sub.status}", 400)
                )
                if not wait:
                    typer.echo(
                        f"  a 'nexus worker' runs it; then: nexus runs show {sub.run_id}"
                        " (or submit with --wait)"
                    )
            if not wait:
                return
            result = nx.wait_submitted(sub.run_id)
        finally:
            nx.close_queue()
        _finish(_console(), result, as_json=as_json)
