"""``nexus serve``: the dashboard and the alert webhook receiver (the ``web`` extra)."""

from __future__ import annotations

import ipaddress
import os
import socket
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
            dashboard_app(nx, token=token), log_level="info", access_log=False, lifespan="off"
        )
        sock = _listen(host, port)  # bound here so that --port 0 can say which port it got
        shown_host = f"[{host}]" if ":" in host else host
        typer.echo(
            f"nexus serve: workspace {nx.config.workspace}; "
            f"dashboard at http://{shown_host}:{sock.getsockname()[1]}/",
            err=True,
        )
        uvicorn.Server(config).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    from nexus_agents.exceptions import ConfigError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    return sock
