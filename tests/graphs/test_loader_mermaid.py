"""Loading specs from folders (workspace shadows shipped) and drawing them."""

from __future__ import annotations

from pathlib import Path

import pytest
from graph_specs import SPECS_DIR, spec_from

from nexus_agents.exceptions import SpecError
from nexus_agents.graphs.loader import load_graph_specs, load_spec
from nexus_agents.graphs.mermaid import to_mermaid


def _write(folder: Path, name: str, title: str, extra: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(f"name: {name}\ntitle: {title}\nsteps:\n  - {{id: a, agent: x}}\n{extra}")


def test_workspace_file_shadows_shipped_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped, workspace = tmp_path / "shipped", tmp_path / "ws" / "graphs"
    _write(shipped, "daily", "Shipped daily")
    _write(shipped, "weekly", "Shipped weekly")
    _write(workspace, "daily", "My daily")
    monkeypatch.setattr("nexus_agents.graphs.loader.shipped_dir", lambda name: shipped)
    specs = load_graph_specs([workspace])
    assert sorted(specs) == ["daily", "weekly"]
    assert specs["daily"].title == "My daily"
    assert specs["daily"].source == str(workspace / "daily.yaml")
    assert specs["weekly"].title == "Shipped weekly"
    assert load_graph_specs([workspace], include_shipped=False).keys() == {"daily"}


def test_subgraph_names_are_checked_across_specs(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nsteps:\n  - subgraph: {id: s, graph: b}\n")
    with pytest.raises(SpecError, match=r"a.yaml \[s\]: unknown graph 'b'"):
        load_graph_specs([tmp_path], include_shipped=False)
    (tmp_path / "b.yaml").write_text("name: b\nsteps:\n  - subgraph: {id: s, graph: a}\n")
    with pytest.raises(SpecError, match="sub-graphs form a cycle: a -> b -> a"):
        load_graph_specs([tmp_path], include_shipped=False)


def test_mermaid_shows_every_step_and_branch() -> None:
    spec = spec_from("""
        name: loop_and_route
        steps:
          - parallel:
              id: gather
              branches:
                - [{id: left, agent: a}]
                - [{id: right, agent: b}]
          - loop:
              id: bv
              max_attempts: 3
              until: {value: verdict, equals: PASS}
              on_exhausted: escalate
              body:
                - {id: build, agent: developer}
                - {id: check, agent: qa, set: {verdict: narrative.verdict}}
          - approval: {id: gate, decider: studio_producer, question: Go, on_timeout: reject}
          - route: {id: after, on: gate, cases: {approve: ship}, default: escalate}
          - action: {id: ship, kind: deploy, from: build, requires_approval: gate, next: end}
          - {id: escalate, agent: studio_producer}
    """)
    chart = to_mermaid(spec)
    assert chart.startswith("flowchart TD\n")
    for edge in ("gather --> left", "gather --> right", "left --> gather_join", "right --> gather_join",
                 "gather_join --> bv", "check --> bv_check", "bv_check -->|yes| gate",
                 "bv_check -->|retry (≤ 3)| build", "bv_check -->|exhausted| escalate",
                 "after -->|approve| ship", "after -->|default| escalate", "ship --> END", "escalate --> END"):
        assert edge in chart, edge
    assert 'gate{{"gate<br/>approval: studio_producer"}}' in chart


def test_spec_files_in_tests_folder_load() -> None:
    for file in sorted(SPECS_DIR.glob("*.yaml")):
        assert load_spec(file).name == file.stem


def test_mermaid_draws_an_alongside_action_as_a_side_branch() -> None:
    text = to_mermaid(spec_from("""
        name: told
        steps:
          - {id: triage, agent: analytics_reporter}
          - action: {id: tell, kind: notify, from: triage, alongside: true}
          - {id: respond, agent: developer}
    """))
    assert "triage -->|alongside| tell" in text
    assert "triage --> respond" in text
    assert "tell -->" not in text  # nothing continues from it
