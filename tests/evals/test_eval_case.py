"""Case files: validation errors name the file and field; the published schema is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from eval_helpers import write_case

from nexus_agents.evals.case import case_json_schema, load_case, load_cases, render_case_schema
from nexus_agents.evals.cassette import load_cassette
from nexus_agents.exceptions import SpecError, UnknownNameError

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "evals" / "schema" / "case.schema.json"


def test_published_schema_matches_the_model() -> None:
    assert SCHEMA_FILE.is_file(), "run: nexus eval schema --output evals/schema/case.schema.json"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render_case_schema()
    assert "expectations" in case_json_schema()["properties"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"version": 0}, "version", "greater than or equal to 1"),
        ({"now": "2025-04-07T09:00:00"}, "now", "needs a UTC offset"),
        ({"target": {"graph": "daily", "extra": 1}}, "target", ""),
        ({"inputs": {"workspace": "../outside"}}, "inputs.workspace", "without '..'"),
        ({"match": "fuzzy"}, "match", "'strict' or 'loose'"),
        (
            {"expectations": {"assertions": [{"path": "$.a", "op": "range"}]}},
            "expectations.assertions.0",
            "needs 'min', 'max'",
        ),
        (
            {
                "expectations": {
                    "rubrics": [{"name": "r", "judge_model": "m", "threshold": 2, "criteria": "c"}]
                }
            },
            "expectations.rubrics.0.threshold",
            "less than or equal to 1",
        ),
    ],
)
def test_validation_errors_name_file_and_field(tmp_path, change, field, message) -> None:
    path = write_case(tmp_path, "bad-case", **change)
    with pytest.raises(SpecError) as caught:
        load_case(path)
    text = str(caught.value)
    assert str(path) in text
    assert f"field '{field}" in text
    assert message in text


def test_yaml_syntax_error_names_the_file(tmp_path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"broken\.yaml: not valid YAML"):
        load_case(path)


def test_load_cases_filters_by_id_and_tag_and_rejects_duplicates(tmp_path) -> None:
    write_case(tmp_path, "a", tags=["daily"])
    write_case(tmp_path, "b", tags=["incident"])
    cases_dir = tmp_path / "cases"
    assert [c.id for c, _ in load_cases(cases_dir)] == ["a", "b"]
    assert [c.id for c, _ in load_cases(cases_dir, tags=["incident"])] == ["b"]
    assert [c.id for c, _ in load_cases(cases_dir, ids=["a"])] == ["a"]
    with pytest.raises(UnknownNameError, match="unknown eval case 'zzz'; known: a, b"):
        load_cases(cases_dir, ids=["zzz"])
    dup = cases_dir / "dup.yaml"
    dup.write_text((cases_dir / "a.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(SpecError, match="id 'a' is also used by"):
        load_cases(cases_dir)


def test_cassette_errors_name_the_interaction_and_field(tmp_path) -> None:
    path = tmp_path / "tape.yaml"
    bad = {
        "version": 1,
        "interactions": [
            {"request": {"body": {}}, "response": {"body": {}}},
            {"request": {"body": {}}, "response": {"headers": {"Authorization": "x"}, "body": {}}},
        ],
    }
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_cassette(path)
    assert "[interaction 2]" in str(caught.value)
    assert "response.headers" in str(caught.value) and "authorization" in str(caught.value)
    json_path = tmp_path / "tape.json"
    json_path.write_text(json.dumps({"version": 2, "interactions": []}), encoding="utf-8")
    with pytest.raises(SpecError, match="cassette version 2 is not supported"):
        load_cassette(json_path)
