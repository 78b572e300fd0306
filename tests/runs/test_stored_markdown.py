"""Agent artifacts are stored as JSON and rendered as Markdown when someone reads them."""

from __future__ import annotations

from pathlib import Path

from nexus_agents.api import Nexus
from nexus_agents.artifacts.registry import all_artifacts
from nexus_agents.artifacts.render import render_stored
from nexus_agents.data.demo import generate_demo
from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

ARTIFACT_KINDS = set(all_artifacts())


async def test_every_stored_artifact_reads_back_as_markdown(tmp_path: Path) -> None:
    generate_demo(tmp_path / "ws", seed=7)
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        env = {"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": "sk-test"}
        async with Nexus.from_workspace(tmp_path / "ws", env=env) as nx:
            loop = await nx.arun("improvement_loop")
            review = await nx.arun("strategic_review", period="2026-Q3")
            produced = [*loop.artifacts.values(), *review.artifacts.values()]
            kinds = {a["kind"] for a in produced if a.get("kind") in ARTIFACT_KINDS}
            records = [await nx.alatest_artifact(kind) for kind in sorted(kinds)]
    assert {"weekly_analytics_report", "sprint_plan", "quarterly_strategic_review"} <= kinds
    assert len(records) >= 10
    for record in records:
        assert record is not None
        assert record.markdown is not None, record.step
        assert record.markdown.startswith(f"# {record.data['title']}"), record.step
    weekly = next(r for r in records if r is not None and r.kind == "weekly_analytics_report")
    assert weekly.data["facts"]["week"] in weekly.markdown  # facts are in the text


def test_unknown_or_outdated_json_has_no_markdown() -> None:
    assert render_stored({"kind": "no_such_kind", "facts": {}}) is None
    assert render_stored({"facts": {}}) is None
    assert render_stored({"kind": "sprint_plan", "facts": {"nonsense": 1}}) is None
