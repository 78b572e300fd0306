"""``nexus serve``: the dashboard and the alert webhook receiver (the ``web`` extra)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import typer

TOKEN_ENV = "NEXUS_SERVE_TOKEN"
DEFAULT_PORT = 8321
_WORKSPACE = typer.Option(
    None, "--workspace", "-w", envvar="NEXUS_WORKSPACE", help="Workspace folder (default: current)."
)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        workspace: Path | None = _WORKSPACE,
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: loopback)."),
        port: int = typer.Option(DEFAULT_PORT, "--port", help="TCP port (0: any free port)."),
    ) -> None:
        """The dashboard (KPIs, runs, approvals, schedules, graphs) and the alert webhooks
        (POST /hooks/alerts/{alertmanager|grafana|pagerduty|nexus}).

        Off loopback a token is required: set NEXUS_SERVE_TOKEN; scripts send it as
        'Authorization: Bearer <token>', a browser opens any page once with ?token=<token>."""
        from nexus_agents.exceptions import ConfigError

        token = os.environ.get(TOKEN_ENV) or None
        if not _loopback(host) and token is None:
            raise ConfigError(f"binding {host} (not loopback) needs a token: set {TOKEN_ENV}")
        try:
            import uvicorn

            from nexus_agents.web.dashboard import dashboard_app
        except ImportError as exc:
            raise ConfigError(
                f"{exc.name} is missing; install the web extra: pip install 'nexus-agents[web]'"
            ) from None
        from nexus_agents.api import Nexus
        from nexus_agents.cli._common import workspace_dir

        nx = Nexus.from_workspace(workspace_dir(workspace))
        config = uvicorn.Config(
            dashboard_app(nx, token=token),
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            lifespan="off",
        )
        shown_host = f"[{host}]" if ":" in host else host
        where = f"http://{shown_host}:{port}/" if port else "the port uvicorn reports below"
        typer.echo(f"nexus serve: workspace {nx.config.workspace}; dashboard at {where}", err=True)
        uvicorn.Server(config).run()
