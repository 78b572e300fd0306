"""``nexus eval``: run eval cases against recordings (default) or a live endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nexus_agents._refs import RefError, resolve_ref
from nexus_agents.exceptions import NexusError

if TYPE_CHECKING:
    from nexus_agents.evals.target import TargetRunner

DEFAULT_TARGETS = "nexus_agents.evals.targets:default_target"


def _load_target(spec: str) -> TargetRunner:
    """``package.module:factory`` -> the TargetRunner the factory returns."""
    try:
        factory = resolve_ref(spec)
    except RefError as exc:
        cause = exc.import_error
        if exc.problem == "form":
            raise NexusError(
                f"--target must look like package.module:function, got {spec!r}"
            ) from None
        named_module_missing = isinstance(cause, ModuleNotFoundError) and bool(
            cause.name and exc.module.startswith(cause.name)
        )
        if named_module_missing:
            raise NexusError(
                f"eval target {spec!r} is not available: module {exc.module!r} not found"
            ) from None
        if cause is not None:
            raise cause from None  # the module exists but fails to import: its own error
        raise NexusError(
            f"eval target {spec!r} is not available: no function {exc.attr!r}"
        ) from None
    return factory()  # type: ignore[no-any-return]


def _cases_dir(given: Path | None) -> Path:
    """``--cases-dir``, else ``evals/cases`` here, else the suite next to the package (a
    source checkout), so ``nexus eval run`` works from any folder."""
    from nexus_agents.exceptions import ConfigError

    if given is not None:
        if not given.is_dir():
            raise ConfigError(f"--cases-dir {given}: no such folder")
        return given
    for candidate in (Path("evals/cases"), Path(__file__).resolve().parents[2] / "evals" / "cases"):
        if candidate.is_dir():
            return candidate
    raise ConfigError(
        "no eval cases found: run from a folder with evals/cases, or pass --cases-dir DIR"
    )


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Evaluate agents and graphs on recorded or live cases.")
    app.add_typer(group, name="eval")

    @group.command("run")
    def run(
        case: Annotated[
            list[str] | None, typer.Option("--case", help="Only this case id (repeatable).")
        ] = None,
        tag: Annotated[
            list[str] | None, typer.Option("--tag", help="Only cases with this tag (repeatable).")
        ] = None,
        live: Annotated[
            bool, typer.Option("--live", help="Call the configured model endpoint.")
        ] = False,
        record: Annotated[
            bool,
            typer.Option("--record", help="Live, and rewrite each case's cassette (scrubbed)."),
        ] = False,
        baseline: Annotated[
            Path | None, typer.Option("--baseline", help="Compare to this report.")
        ] = None,
        report: Annotated[
            Path | None, typer.Option("--report", help="Write the JSON report here.")
        ] = None,
        cases_dir: Annotated[
            Path | None,
            typer.Option(
                "--cases-dir",
                help="Folder of case files (default: ./evals/cases, else the suite shipped "
                "with this checkout).",
            ),
        ] = None,
        concurrency: Annotated[
            int, typer.Option("--concurrency", min=1, help="Cases run at once.")
        ] = 4,
        target: Annotated[
            str, typer.Option("--target", help="package.module:function returning the target.")
        ] = DEFAULT_TARGETS,
        workspace: Annotated[
            Path | None,
            typer.Option("--workspace", help="Workspace whose configuration live runs use."),
        ] = None,
    ) -> None:
        """Run eval cases and print a table; exit 1 on a failed gate or a regression."""
        from rich.console import Console

        from nexus_agents.evals.case import load_cases
        from nexus_agents.evals.report import exit_code, load_report, render_table, save_report
        from nexus_agents.evals.runner import RunOptions, run_evals_sync

        mode = "record" if record else "live" if live else "replay"
        cases_dir = _cases_dir(cases_dir)
        selected = load_cases(cases_dir, ids=case or None, tags=tag or None)
        if not selected:
            raise typer.BadParameter(
                f"{cases_dir}: no eval case matches the selection", param_hint="--case / --tag"
            )
        base = load_report(baseline) if baseline is not None else None
        runner = _load_target(target)
        base_url = api_key = model = None
        if mode != "replay":
            from nexus_agents.config import load_config

            config = load_config(workspace)
            base_url, api_key, model = config.llm.base_url, config.llm.api_key, config.llm.model
        options = RunOptions(
            mode=mode,  # type: ignore[arg-type]
            evals_dir=cases_dir.parent,
            concurrency=concurrency,
            base_url=base_url,
            api_key=api_key,
            model=model,
            baseline=base,
        )
        result = run_evals_sync(selected, runner, options)
        render_table(result, Console())
        if report is not None:
            save_report(result, report)
            typer.echo(f"report written to {report}")
        raise typer.Exit(exit_code(result))

    @group.command("schema")
    def schema(
        output: Annotated[Path | None, typer.Option("--output", help="Write to this file.")] = None,
    ) -> None:
        """Print (or write) the JSON Schema of eval case files."""
        from nexus_agents.evals.case import render_case_schema, write_case_schema

        if output is None:
            typer.echo(render_case_schema(), nl=False)
        else:
            changed = write_case_schema(output)
            typer.echo(f"{output} {'updated' if changed else 'already up to date'}")
