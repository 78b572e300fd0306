"""The CLI shows outside text (errors quoting data, alert titles) cut to one bounded line,
never as rich markup: a 50 MB alert title cannot hang or break the terminal output."""

from __future__ import annotations

import io

from rich.console import Console

from nexus_agents.cli.runs import print_result
from nexus_agents.runs.engine import RunResult
from nexus_agents.untrusted_text import SHOWN_LIMIT


def test_a_huge_error_with_markup_is_shown_cut_and_literal() -> None:
    title = "[/][bold red]" + "x" * 50_000_000 + "\x1b[2J"
    result = RunResult(
        run_id="r1",
        graph="incident_response",
        status="failed",
        error=f"step triage failed: alert title {title!s}",
        artifacts={"triage": {"title": title}},
    )
    out = io.StringIO()
    print_result(Console(file=out, width=140, color_system=None), result)
    text = out.getvalue()
    assert len(text) < 3 * SHOWN_LIMIT
    assert "[/][bold" in text  # shown literally, not read as markup
    assert f"[cut {len(result.error or '') - SHOWN_LIMIT} chars]" in text
    assert "\x1b" not in text
