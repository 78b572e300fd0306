"""Every analysis tool is registered with a description and an object JSON schema."""

from __future__ import annotations

import json

import pytest

from nexus_agents.tools.base import all_tools, get_tool

MY_MODULES = {"rice", "stats", "funnel", "finance", "retention", "sla", "severity"}
EXPECTED = {
    "rank_backlog", "plan_sprint", "two_proportion_test", "analyze_experiment",
    "funnel_report", "mrr_report", "forecast_monthly", "budget_variance", "unit_economics",
    "retention_cohorts", "ticket_sla", "incident_sla", "severity_floor", "apply_floor",
    "severity_policy",
}  # fmt: skip


def mine() -> dict[str, object]:
    return {
        name: t
        for name, t in all_tools().items()
        if t.func.__module__.rsplit(".", 1)[-1] in MY_MODULES
    }


def test_all_expected_tools_registered() -> None:
    assert set(mine()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tool_has_description_and_object_schema(name: str) -> None:
    t = get_tool(name)
    assert len(t.description) > 40
    schema = t.json_schema()
    assert schema["type"] == "object" and schema["properties"]
    json.dumps(schema)  # plain JSON, nothing exotic
    assert t.output_model.model_json_schema()["type"] == "object"
