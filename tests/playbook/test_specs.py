"""Every shipped graph loads, validates against the real names, and is exposed to LangGraph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playbook_fakes import roster_slugs
from typer.testing import CliRunner

from nexus_agents import langgraph_entry
from nexus_agents.artifacts.registry import all_artifacts
from nexus_agents.graphs.loader import load_graph_specs
from nexus_agents.graphs.spec import ApprovalStep, GraphSpec, iter_steps, validate_names
from nexus_agents.paths import shipped_dir
from nexus_agents.testing.fake_executor import FakeStepExecutor

REPO = Path(__file__).resolve().parents[2]
EXPECTED = {
    "cadence_run", "compliance_check", "content_ops", "feature_cycle", "financial_review",
    "growth_review", "improvement_loop", "incident_response", "preconditions", "strategic_review",
}


def test_every_shipped_spec_validates_against_roster_and_artifacts() -> None:
    slugs = roster_slugs()
    specs = load_graph_specs(agents=slugs, artifacts=list(all_artifacts()))
    assert set(specs) == EXPECTED
    for spec in specs.values():
        validate_names(spec, agents=slugs, artifacts=list(all_artifacts()), graphs=list(specs))
        assert spec.source.endswith(f"{spec.name}.yaml")
        assert Path(spec.source).read_text(encoding="utf-8").startswith("#"), spec.name


def test_approval_gates_name_a_roster_decider_and_a_timeout(specs: dict[str, GraphSpec]) -> None:
    slugs = set(roster_slugs())
    gates = [s for spec in specs.values() for s in iter_steps(spec.steps) if isinstance(s, ApprovalStep)]
    assert len(gates) >= 5
    for gate in gates:
        assert gate.decider in slugs and gate.on_timeout in gate.options
    escalation = specs["improvement_loop"].step("escalation_decision")
    assert isinstance(escalation, ApprovalStep)
    assert escalation.options == ["reassign", "decompose", "revise_scope", "accept_with_risk", "defer"]
    assert (escalation.decider, escalation.on_timeout) == ("studio_producer", "defer")


def test_langgraph_json_names_every_shipped_graph() -> None:
    config = json.loads((REPO / "langgraph.json").read_text(encoding="utf-8"))
    graphs = config["graphs"]
    shipped = {p.stem for p in shipped_dir("graphs").glob("*.yaml")} - {"cadences"}
    assert set(graphs) == shipped == set(langgraph_entry.GRAPH_NAMES)
    for name, ref in graphs.items():
        module, _, attr = ref.partition(":")
        assert module == "nexus_agents.langgraph_entry" and attr == name
        assert callable(getattr(langgraph_entry, attr))


def test_langgraph_entry_compiles_each_graph_with_the_given_executor() -> None:

    for name in langgraph_entry.GRAPH_NAMES:
        graph = langgraph_entry.build(name, executor=FakeStepExecutor())
        assert graph.name == name and graph.get_graph().nodes


def test_cli_lists_and_draws_graphs(tmp_path: Path) -> None:
    from nexus_agents.cli.main import app

    runner = CliRunner()
    listed = runner.invoke(app, ["graph", "list", "--workspace", str(tmp_path)])
    assert listed.exit_code == 0, listed.output
    for name in EXPECTED:
        assert name in listed.output
    shown = runner.invoke(app, ["graph", "show", "strategic_review", "-w", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("flowchart TD")
    for step in ("market", "brand", "customers", "tech_debt", "process", "strategic_review"):
        assert f"inputs --> {step}" in shown.output or f"--> {step}" in shown.output
    missing = runner.invoke(app, ["graph", "show", "nope", "-w", str(tmp_path)])
    assert missing.exit_code != 0
    assert "nope" in str(missing.exception)


def test_workspace_graph_shadows_a_shipped_one(tmp_path: Path) -> None:
    from nexus_agents.cli.main import app

    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "strategic_review.yaml").write_text(
        "name: strategic_review\ntitle: Our own review\nsteps:\n  - {id: only, agent: studio_producer}\n",
        encoding="utf-8",
    )
    listed = CliRunner().invoke(app, ["graph", "list", "-w", str(tmp_path)])
    assert "Our own review" in listed.output


def test_langgraph_entry_uses_the_workspace_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_agents.data.init import init_workspace
    from nexus_agents.runtime.executor import AgentExecutor

    init_workspace(tmp_path / "ws")
    monkeypatch.setenv("NEXUS_WORKSPACE", str(tmp_path / "ws"))
    graph = langgraph_entry.improvement_loop()
    assert {"measure", "plan", "deploy_approval"} <= set(graph.get_graph().nodes)
    from nexus_agents.api import default_executor

    made = default_executor()
    assert isinstance(made, AgentExecutor)
    assert made.workspace.path == tmp_path / "ws"
