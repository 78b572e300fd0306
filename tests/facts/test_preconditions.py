"""The preconditions report: the four entry checks computed by code."""

from __future__ import annotations

from pathlib import Path

from facts_helpers import build, copy_without

from nexus_agents.data.workspace import Workspace
from nexus_agents.playbook.preconditions import GATE_FILE, PACKAGE_FILE


def _checks(ws: Workspace) -> dict[str, bool]:
    _, facts = build(ws, "preconditions_report", "2026-11-26")
    return {c.name: c.passed for c in facts.checks}  # type: ignore[attr-defined]


def test_demo_without_handoff_files_fails_the_handoff_checks(demo_ws: Workspace) -> None:
    checks = _checks(demo_ws)
    assert len(checks) == 4
    assert checks["phase5_quality_gate"] is False and checks["handoff_package"] is False
    assert checks["baseline_metrics"] is True


def test_all_checks_pass_with_gate_and_package(demo_ws: Workspace, tmp_path: Path) -> None:
    ws = copy_without(demo_ws, tmp_path / "ws")
    for name, text in ((GATE_FILE, "Verdict: PASS\n"), (PACKAGE_FILE, "Runbooks, dashboards\n")):
        (ws.path / name).parent.mkdir(parents=True, exist_ok=True)
        (ws.path / name).write_text(text)
    assert all(_checks(ws).values())


def test_without_data_baseline_fails_not_crashes(demo_ws: Workspace, tmp_path: Path) -> None:
    ws = copy_without(demo_ws, tmp_path / "ws")
    for f in ws.data_dir.iterdir():
        f.unlink()
    assert _checks(ws)["baseline_metrics"] is False
