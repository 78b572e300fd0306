"""Entry point of the ``nexus`` console script.

Each command group lives in its own module exposing ``register(app)``; modules import
their heavy dependencies inside the command functions so ``nexus --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

from nexus_agents._version import __version__

# Modules under nexus_agents.cli that add commands; each defines register(app).
_COMMAND_MODULES: tuple[str, ...] = (
    "demo", "agents", "data", "runs", "schedule", "evals", "graphs", "serve"
)

app = typer.Typer(
    name="nexus",
    help="nexus_agents: a team of LLM agents that operates and evolves a live product.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"nexus_agents {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    """nexus_agents command line."""


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"nexus_agents.cli.{name}")
        module.register(app)


_register_all()


def run() -> None:
    """Console-script entry: turn known errors into one readable line and an exit code."""
    from nexus_agents.exceptions import ConfigError, NexusError

    try:
        app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except NexusError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    run()
