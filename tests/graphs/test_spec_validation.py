"""A broken spec names its file, the step and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from graph_specs import spec_from

from nexus_agents.exceptions import SpecError
from nexus_agents.graphs.loader import load_spec
from nexus_agents.graphs.spec import validate_names

CASES = [
    ("unknown kind", "- {id: a, agnt: x}", None, "unknown step kind"),
    ("duplicate id", "- {id: a, agent: x}\n- {id: a, agent: y}", "a", "duplicate step id 'a'"),
    ("dangling next", "- {id: a, agent: x, next: nowhere}", "a", "unknown step 'nowhere'"),
    ("dangling case", "- route: {id: r, on: v, cases: {X: gone}}\n- {id: b, agent: x, set: {v: a.b}}",
     "r", "case 'X' points to unknown step 'gone'"),
    ("loop without bound", "- loop: {id: l, body: [{id: b, agent: x, set: {ok: y}}], until: {value: ok, equals: 1}}",
     "l", "max_attempts: Field required"),
    ("route on unset value", "- route: {id: r, on: mood, cases: {X: b}}\n- {id: b, agent: x}",
     "r", "no step sets that value"),
    ("bad function", "- call: {id: c, function: not-a-ref}", "c", "function: String should match pattern"),
    ("timeout not an option", "- approval: {id: g, decider: p, question: q, options: [yes_go, no], on_timeout: maybe}",
     "g", "on_timeout 'maybe' is not one of the options"),
    ("jump into loop", "- {id: a, agent: x, next: b}\n- loop: {id: l, max_attempts: 2, body: [{id: b, agent: x, set: {ok: y}}],"
     " until: {value: ok, equals: 1}}", "a", "outside its block"),
    ("end in branch", "- parallel: {id: p, branches: [[{id: a, agent: x, next: end}], [{id: b, agent: x}]]}",
     "a", "'end' is not allowed inside a parallel branch"),
    ("action without approval step", "- {id: a, agent: x}\n- action: {id: d, kind: deploy, from: a, requires_approval: a}",
     "d", "is not an approval step"),
    ("unknown action kind", "- action: {id: d, kind: launch_rockets}", "d", "kind_of_action"),
    ("action guarded by an unset value", "- {id: a, agent: x}\n- action: {id: d, kind: deploy, from: a, only_if: {value: qa, equals: PASS}}",
     "d", "only_if.value 'qa' is never set"),
]


@pytest.mark.parametrize(("label", "steps", "item", "reason"), CASES, ids=[c[0] for c in CASES])
def test_broken_spec_names_file_step_and_reason(label: str, steps: str, item: str | None, reason: str) -> None:
    text = "name: broken\nsteps:\n" + "\n".join("  " + line for line in steps.splitlines())
    with pytest.raises(SpecError) as err:
        spec_from(text, "graphs/broken.yaml")
    assert err.value.file == "graphs/broken.yaml"
    if item is not None:
        assert err.value.item == item
    assert reason in err.value.reason
    assert str(err.value).startswith("graphs/broken.yaml")


def test_unknown_agent_artifact_and_function(tmp_path: Path) -> None:
    spec = spec_from("""
        name: names
        steps:
          - {id: a, agent: analytics_reporter, output: kpi_snapshot}
          - call: {id: c, function: "graph_fns:NOT_CALLABLE"}
    """, "names.yaml")
    validate_names(spec, agents=["analytics_reporter"], artifacts=["kpi_snapshot"], resolve_functions=False)
    with pytest.raises(SpecError, match=r"names.yaml \[a\]: unknown agent 'analytics_reporter'"):
        validate_names(spec, agents=["sprint_prioritizer"])
    with pytest.raises(SpecError, match=r"\[a\]: unknown artifact kind 'kpi_snapshot'"):
        validate_names(spec, artifacts=["sprint_plan"])
    with pytest.raises(SpecError, match=r"\[c\]: graph_fns:NOT_CALLABLE is not callable"):
        validate_names(spec)
    missing = spec_from("name: m\nsteps:\n  - call: {id: c, function: 'no_such_pkg.mod:fn'}")
    with pytest.raises(SpecError, match=r"cannot import module 'no_such_pkg\.mod'"):
        validate_names(missing)


def test_yaml_errors_and_name_mismatch(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps: [\n")
    with pytest.raises(SpecError, match=r"bad.yaml: not valid YAML at line \d"):
        load_spec(bad)
    other = tmp_path / "weekly.yaml"
    other.write_text("name: monthly\nsteps: [{id: a, agent: x}]\n")
    with pytest.raises(SpecError, match="differs from the file name 'weekly'"):
        load_spec(other)
