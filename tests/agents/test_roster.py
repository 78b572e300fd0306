"""The agent roster: shipped prompt files, name resolution, validation and shadowing."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_agents.agents import Roster, load_agent_file, load_roster
from nexus_agents.artifacts import get_artifact
from nexus_agents.exceptions import SpecError, UnknownNameError
from nexus_agents.paths import shipped_dir

# Tool names the shipped prompts use (the tool modules are written separately).
PROMPT_TOOLS = {
    "forecast_monthly",
    "kpi_value",
    "nps_score",
    "rank_backlog",
    "severity_floor",
    "two_proportion_test",
    "unit_economics",
    "uptime_summary",
}

PLAYBOOK_AGENTS = [
    "Infrastructure Maintainer",
    "Support Responder",
    "DevOps Automator",
    "Analytics Reporter",
    "Feedback Synthesizer",
    "Sprint Prioritizer",
    "Growth Hacker",
    "Project Shepherd",
    "Experiment Tracker",
    "Content Creator",
    "Executive Summary Generator",
    "Finance Tracker",
    "Legal Compliance Checker",
    "Trend Researcher",
    "Brand Guardian",
    "Studio Producer",
    "Workflow Optimizer",
    "Performance Benchmarker",
    "Tool Evaluator",
    "Agents Orchestrator",
    "Evidence Collector",
    "Reality Checker",
    "Backend Architect",
    "Social Media Strategist",
    "Twitter Engager",
    "Instagram Curator",
    "TikTok Strategist",
    "Reddit Community Builder",
    "Data Analytics Reporter",
    "Appropriate Developer Agent",
]

# The playbook's cadence tables, row by row: (cadence, agent, activity, output or SLA).
PLAYBOOK_ROWS = {
    ("continuous", "Infrastructure Maintainer", "System uptime, performance, security", "99.9% uptime, < 30min MTTR"),
    ("continuous", "Support Responder", "Customer support, issue resolution", "< 4hr first response"),
    ("continuous", "DevOps Automator", "Deployment pipeline, hotfixes", "Multiple deploys/day capability"),
    ("daily", "Analytics Reporter", "KPI dashboard update", "Daily metrics snapshot"),
    ("daily", "Support Responder", "Issue triage and resolution", "Support ticket summary"),
    ("daily", "Infrastructure Maintainer", "System health check", "Health status report"),
    ("weekly", "Analytics Reporter", "Weekly performance analysis", "Weekly Analytics Report"),
    ("weekly", "Feedback Synthesizer", "User feedback synthesis", "Weekly Feedback Summary"),
    ("weekly", "Sprint Prioritizer", "Backlog grooming + sprint planning", "Sprint Plan"),
    ("weekly", "Growth Hacker", "Growth channel optimization", "Growth Metrics Report"),
    ("weekly", "Project Shepherd", "Cross-team coordination", "Weekly Status Update"),
    ("biweekly", "Feedback Synthesizer", "Deep feedback analysis", "Bi-Weekly Insights Report"),
    ("biweekly", "Experiment Tracker", "A/B test analysis", "Experiment Results Summary"),
    ("biweekly", "Content Creator", "Content calendar execution", "Published Content Report"),
    ("monthly", "Executive Summary Generator", "C-suite reporting", "Monthly Executive Summary"),
    ("monthly", "Finance Tracker", "Financial performance review", "Monthly Financial Report"),
    ("monthly", "Legal Compliance Checker", "Regulatory monitoring", "Compliance Status Report"),
    ("monthly", "Trend Researcher", "Market intelligence update", "Monthly Market Brief"),
    ("monthly", "Brand Guardian", "Brand consistency audit", "Brand Health Report"),
    ("quarterly", "Studio Producer", "Strategic portfolio review", "Quarterly Strategic Review"),
    ("quarterly", "Workflow Optimizer", "Process efficiency audit", "Optimization Report"),
    ("quarterly", "Performance Benchmarker", "Performance regression testing", "Quarterly Performance Report"),
    ("quarterly", "Tool Evaluator", "Technology stack review", "Tech Debt Assessment"),
}  # fmt: skip


@pytest.fixture(scope="module")
def roster() -> Roster:
    return load_roster(known_tools=PROMPT_TOOLS)


def test_every_shipped_prompt_loads(roster: Roster) -> None:
    files = sorted(shipped_dir("prompts").glob("*.md"))
    assert len(files) == len(roster) >= 29
    for path in files:
        spec = load_agent_file(path, known_tools=PROMPT_TOOLS)
        assert spec.slug == path.stem
        body_lines = [line for line in spec.system_prompt.splitlines() if line.strip()]
        assert 12 <= len(body_lines) <= 40, f"{path.name}: {len(body_lines)} lines"
        text = " ".join(spec.system_prompt.lower().split())
        assert "invent" in text, f"{path.name}: forbid invented numbers"
        assert "instructions" in text, f"{path.name}: say data holds no instructions"
        assert "narrative fields" in text, f"{path.name}: output only the narrative"


@pytest.mark.parametrize("name", PLAYBOOK_AGENTS)
def test_every_playbook_agent_exists(roster: Roster, name: str) -> None:
    assert roster.get(name).name


def test_every_output_is_a_known_artifact(roster: Roster) -> None:
    for spec in roster:
        for output in spec.outputs:
            assert get_artifact(output), f"{spec.slug}: {output}"


def test_cadence_rows_reproduce_the_playbook_tables(roster: Roster) -> None:
    rows = {
        (r.cadence, spec.name, r.activity, r.output or r.sla)
        for spec in roster
        for r in spec.cadences
        if r.cadence != "on_demand"
    }
    assert rows == PLAYBOOK_ROWS


def test_aliases_and_slugs_resolve_case_insensitively(roster: Roster) -> None:
    assert roster.get("data analytics reporter").slug == "analytics_reporter"
    assert roster.get("DATA ANALYTICS REPORTER").slug == "analytics_reporter"
    assert roster.get("analytics_reporter").name == "Analytics Reporter"
    assert roster.get("appropriate developer agent").slug == "developer"
    assert roster.get("tiktok strategist").slug == "tiktok_strategist"
    assert "Reality Checker" in roster


def test_unknown_agent_lists_known_slugs(roster: Roster) -> None:
    with pytest.raises(UnknownNameError) as info:
        roster.get("Chief Vibes Officer")
    assert "Chief Vibes Officer" in str(info.value)
    assert "studio_producer" in str(info.value)


# --- broken files ------------------------------------------------------------------------

GOOD = """\
---
name: Test Agent
slug: test_agent
aliases: [Tester]
role: Tests things.
cadences:
  - {cadence: weekly, activity: Testing, output: Sprint Plan}
tools: [rank_backlog]
output: sprint_plan
---
You test things.
"""


def _write(folder: Path, text: str, name: str = "test_agent.md") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_custom_file_loads(tmp_path: Path) -> None:
    spec = load_agent_file(_write(tmp_path, GOOD), known_tools={"rank_backlog"})
    assert spec.role == "Tests things."
    assert spec.system_prompt == "You test things."
    assert spec.cadences[0].output == "Sprint Plan"


@pytest.mark.parametrize(
    ("change", "item", "words"),
    [
        (("role: Tests things.\n", ""), "role", "missing required field"),
        (("output: sprint_plan", "output: horoscope"), "output", "unknown artifact 'horoscope'"),
        (("output: Sprint Plan}", "output: Horoscope}"), "cadences.0.output", "unknown artifact"),
        (
            ("tools: [rank_backlog]", "tools: [crystal_ball]"),
            "tools.0",
            "unknown tool 'crystal_ball'",
        ),
        (("cadence: weekly", "cadence: hourly"), "cadences.0.cadence", "Input should be"),
        (("slug: test_agent", "slug: Test Agent"), "slug", "snake_case"),
        (("role: Tests things.\n", "role: Tests.\nmood: cheerful\n"), "mood", "unknown field"),
    ],
)
def test_broken_file_names_file_and_field(
    tmp_path: Path, change: tuple[str, str], item: str, words: str
) -> None:
    old, new = change
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(SpecError) as info:
        load_agent_file(path, known_tools={"rank_backlog"})
    assert info.value.file == str(path)
    assert info.value.item == item
    assert words in str(info.value)
    assert str(path) in str(info.value)


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("aliases: [Tester]", "aliases: [Tester"))
    with pytest.raises(SpecError, match="not valid YAML at line") as info:
        load_agent_file(path, known_tools={"rank_backlog"})
    assert info.value.file == str(path)


def test_file_without_front_matter_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "You test things.\n")
    with pytest.raises(SpecError, match="front matter"):
        load_agent_file(path, known_tools=set())


def test_tools_are_checked_against_the_tool_registry_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_agents.tools import base

    path = _write(tmp_path, GOOD)
    monkeypatch.setattr(base, "all_tools", lambda: {})
    with pytest.raises(SpecError, match="unknown tool 'rank_backlog'"):
        load_agent_file(path)
    monkeypatch.setattr(base, "all_tools", lambda: {"rank_backlog": object()})
    assert load_agent_file(path).tools == ("rank_backlog",)


# --- shadowing and collisions --------------------------------------------------------------


def test_workspace_prompt_shadows_the_shipped_one(tmp_path: Path) -> None:
    custom = GOOD.replace("name: Test Agent", "name: Analytics Reporter")
    custom = custom.replace("slug: test_agent", "slug: analytics_reporter")
    custom = custom.replace("aliases: [Tester]", "aliases: [Data Analytics Reporter, KPI Bot]")
    _write(tmp_path / "prompts", custom, "analytics_reporter.md")
    _write(tmp_path / "prompts", GOOD)
    roster = load_roster([tmp_path / "prompts"], known_tools=PROMPT_TOOLS)
    spec = roster.get("kpi bot")
    assert spec.slug == "analytics_reporter"
    assert spec.role == "Tests things."
    assert spec.origin == "workspace"
    assert roster.get("Data Analytics Reporter") is spec
    assert roster.get("tester").slug == "test_agent"
    assert roster.get("Studio Producer").origin == "shipped"
    assert len(roster) == len(load_roster(known_tools=PROMPT_TOOLS)) + 1


def test_missing_workspace_prompts_folder_is_fine(tmp_path: Path) -> None:
    roster = load_roster([tmp_path / "nope"], known_tools=PROMPT_TOOLS)
    assert "Studio Producer" in roster


def test_alias_used_by_two_agents_is_an_error(tmp_path: Path) -> None:
    clash = GOOD.replace("aliases: [Tester]", "aliases: [Studio Producer]")
    path = _write(tmp_path, clash)
    with pytest.raises(SpecError, match="already used by agent 'studio_producer'") as info:
        load_roster([tmp_path], known_tools=PROMPT_TOOLS)
    assert info.value.file == str(path)


def test_two_files_with_one_slug_in_a_folder_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, GOOD, "a.md")
    _write(tmp_path, GOOD, "b.md")
    with pytest.raises(SpecError, match="also defined in"):
        load_roster([tmp_path], known_tools={"rank_backlog"}, include_shipped=False)
