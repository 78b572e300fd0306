"""Entry point of the ``nexus`` console script.

Each command group lives in its own module exposing ``register(app)``; modules import
their heavy dependencies inside the command functions so ``nexus --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

import typer

from nexus_agents._version import __version__
from nexus_agents.cli._common import (
    EXIT_CODES_HELP,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
)

# Modules under nexus_agents.cli that add commands; each defines register(app).
_COMMAND_MODULES: tuple[str, ...] = (
    "demo", "agents", "data", "runs", "actions", "submit", "schedule", "evals", "graphs", "doctor",
    "serve",
)

app = typer.Typer(
    name="nexus",
    help="nexus_agents: a team of LLM agents that operates and evolves a live product.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags without a "<bool>" value
)

# set by --debug (or NEXUS_DEBUG=1): show tracebacks instead of one-line errors
_state: dict[str, object] = {"debug": os.environ.get("NEXUS_DEBUG", "") not in ("", "0")}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"nexus_agents {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of an error (env NEXUS_DEBUG=1)."
    ),
    log_level: str | None = typer.Option(
        None,
        "--log-level",
        metavar="LEVEL",
        help="DEBUG, INFO, WARNING (default; the worker: INFO) or ERROR (env NEXUS_LOG_LEVEL).",
    ),
    log_format: str | None = typer.Option(
        None, "--log-format", metavar="text|json", help="Log lines as text or JSON (env NEXUS_LOG_FORMAT)."
    ),
) -> None:
    """nexus_agents command line."""
    from nexus_agents.logging_setup import configure_logging, resolve_format, resolve_level

    _state["debug"] = _state["debug"] or debug
    try:
        if _state.get("process"):  # the console script, not an embedding (CliRunner)
            configure_logging(log_level, log_format)
        else:
            resolve_level(log_level)
            resolve_format(log_format)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"nexus_agents.cli.{name}")
        module.register(app)


_register_all()


def _error(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv``; the exit code (see ``EXIT_CODES_HELP``)."""
    from typer import Abort
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    from nexus_agents.exceptions import ApprovalError, NexusError, UserError

    args = list(sys.argv[1:] if argv is None else argv)
    _state["process"] = True
    try:
        code = app(args=args, prog_name="nexus", standalone_mode=False)
        return code if isinstance(code, int) else EXIT_OK
    except NoArgsIsHelpError as exc:  # "nexus" or "nexus runs" alone: the help it asks for
        typer.echo(exc.format_message())
        return EXIT_OK
    except UsageError as exc:
        _error(exc.format_message())
        path = exc.ctx.command_path if exc.ctx is not None else "nexus"
        typer.echo(f"usage: see '{path} --help'", err=True)
        return EXIT_USAGE
    except ClickException as exc:
        _error(exc.format_message())
        return int(getattr(exc, "exit_code", EXIT_FAILED))
    except (Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except (UserError, ApprovalError) as exc:  # what the person typed or set up
        if _state["debug"]:
            raise
        _error(str(exc))
        return EXIT_USAGE
    except NexusError as exc:
        if _state["debug"]:
            raise
        _error(str(exc))
        return EXIT_FAILED
    except Exception as exc:
        if _state["debug"]:
            raise
        _error(f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return EXIT_FAILED


def run() -> None:
    """Console-script entry."""
    sys.exit(main())


if __name__ == "__main__":
    run()
