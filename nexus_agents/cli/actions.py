"""``nexus actions``: the actions runs took, their delivery state, and retrying failed ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

_WORKSPACE = typer.Option(
    None, "--workspace", "-w", envvar="NEXUS_WORKSPACE", help="Workspace folder (default: current)."
)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Actions runs took (deploy, publish, status_post, backlog_append, notify) and "
        "their delivery to webhooks.",
        no_args_is_help=True,
    )

    @group.command("list")
    def list_actions(
        run: str | None = typer.Option(None, "--run", help="Only this run (id or its start)."),
        status: str | None = typer.Option(
            None, "--status", metavar="delivered|failed|pending", help="Only actions in this state."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the actions as JSON."),
        workspace: Path | None = _WORKSPACE,
    ) -> None:
        """List actions with their state, attempts, target (host only) and last error."""
        from nexus_agents.actions.ledger import DELIVERY_STATUSES, action_states
        from nexus_agents.cli._common import workspace_dir

        if status is not None and status not in DELIVERY_STATUSES:
            raise typer.BadParameter(
                f"{status!r} is not one of {', '.join(DELIVERY_STATUSES)}", param_hint="--status"
            )
        states = [
            s
            for s in action_states(workspace_dir(workspace))
            if (run is None or s.run_id.startswith(run)) and (status is None or s.status == status)
        ]
        if as_json:
            typer.echo(json.dumps([s.summary() for s in states], indent=2))
            return
        _print_table(states)

    @group.command("retry")
    def retry_actions(
        run: str | None = typer.Argument(None, help="Only this run (id or its start)."),
        workspace: Path | None = _WORKSPACE,
    ) -> None:
        """Send failed actions again, with their idempotency keys. Exit code 0 when all are
        delivered, 1 when some still fail."""
        from nexus_agents.untrusted_text import shown

        outcomes = _retry(workspace, run)
        if not outcomes:
            typer.echo("no failed actions" + (f" in run {shown(run, 80)}" if run else ""))
            return
        failing = [(state, result) for state, result in outcomes if not result.ok]
        for state, result in outcomes:
            mark = "delivered" if result.ok else "failed"
            typer.echo(f"{mark}: {shown(state.key, 160)} ({state.kind})")
        if failing:
            named = "; ".join(f"{shown(s.key, 160)}: {shown(r.detail, 300)}" for s, r in failing)
            count = f"{len(failing)} action{'s' if len(failing) != 1 else ''}"
            typer.secho(f"error: {count} still failing: {named}", fg="red", err=True)
            raise typer.Exit(1)

    app.add_typer(group, name="actions")


def _retry(workspace: Path | None, run: str | None) -> list[tuple[Any, Any]]:
    """Retry through the workspace's webhooks and write the new results to the run store."""
    import asyncio

    from nexus_agents.actions.webhook import WebhookIntegration
    from nexus_agents.api import Nexus
    from nexus_agents.cli._common import workspace_dir

    nx = Nexus.from_workspace(workspace_dir(workspace))
    integration = WebhookIntegration(nx.config.workspace, nx.config.integrations)

    async def go() -> list[tuple[Any, Any]]:
        outcomes = await integration.retry(run)
        delivered = [(s, r) for s, r in outcomes if r.ok]
        if delivered:
            async with await nx._store() as store:
                for state, result in delivered:
                    if await store.get_action(state.key) is not None:
                        await store.update_action_result(state.key, result.model_dump(mode="json"))
        return outcomes

    return asyncio.run(go())


def _print_table(states: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from nexus_agents.untrusted_text import shown

    table = Table(title=f"{len(states)} action{'s' if len(states) != 1 else ''}")
    for column in ("Run", "Step", "Kind", "Status", "Attempts", "Target", "At", "Last error"):
        table.add_column(column, overflow="fold")
    for s in states:
        table.add_row(
            shown(s.run_id, 80),
            shown(s.step_id, 80),
            s.kind,
            s.status,
            str(s.attempts),
            s.target,
            s.at,
            shown(s.last_error or "", 300),
        )
    Console(width=200).print(table)
