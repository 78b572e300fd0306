"""Any model, any answer: every shipped graph and every cadence job, run against a model
that answers each call with a random object valid for the schema it was sent
(``RandomSchemaModel``), ends ``succeeded`` (approvals answered) and never fails on
validation. Such a model knows no rule the schema does not state, so a rule that is
neither in the schema nor owned by code shows up here as a failed run.

CI runs a fixed handful of seeds; ``NEXUS_PROPERTY_SEEDS=50`` runs seeds 1..50.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from nexus_agents.api import Nexus
from nexus_agents.config import load_config
from nexus_agents.data.demo import DemoFacts, generate_demo
from nexus_agents.graphs.loader import load_graph_specs
from nexus_agents.runs.engine import RunResult
from nexus_agents.schedule.calendar import load_calendar
from nexus_agents.schedule.jobs import CadenceJob, JobStatus, Trigger
from nexus_agents.schedule.planner import period_for_fire, thread_id
from nexus_agents.testing import RandomSchemaModel

CI_SEEDS = (1, 2)
SEEDS = (
    tuple(range(1, int(os.environ["NEXUS_PROPERTY_SEEDS"]) + 1))
    if os.environ.get("NEXUS_PROPERTY_SEEDS")
    else CI_SEEDS
)

P0_ALERT = {"id": "ALERT-PROP", "service": "api", "service_down": True}

# every shipped graph: (inputs, period) on the demo workspace
GRAPHS: dict[str, tuple[dict[str, Any], str]] = {
    "cadence_run": ({"agent": "analytics_reporter"}, "2026-11-26"),
    "compliance_check": ({}, "2026-11"),
    "content_ops": ({}, "2026-10"),
    "feature_cycle": ({}, "2026-W47"),
    "financial_review": ({}, "2026-10"),
    "growth_review": ({}, "2026-10"),
    "improvement_loop": ({}, "2026-W47"),
    "incident_response": ({"alert": P0_ALERT}, "2026-11-26"),
    "preconditions": ({}, "2026-11-26"),
    "strategic_review": ({}, "2026-Q3"),
}

# What the continuous checks report when something is wrong (their own trigger shapes),
# so the job's graph runs even though the demo is quiet at the chosen moment.
TRIGGERS: dict[str, Trigger] = {
    "incident-detection": Trigger(
        kind="incident",
        summary="failing: api (uptime checks since 2026-11-26 23:50)",
        details={"source": "uptime_checks", "services_down": ["api"]},
    ),
    "support-first-response-sla": Trigger(
        kind="sla_breach",
        summary="2 ticket(s) without a first response for more than 4 h (oldest 6.5 h)",
        details={"sla_hours": 4, "tickets": ["T-1", "T-2"], "oldest_hours": 6.5},
    ),
    "deploy-pipeline-health": Trigger(
        kind="deploy_failure",
        summary="latest deployment failed and was not rolled back: api 2.4.1",
        details={"deployments": [{"service": "api", "version": "2.4.1"}]},
    ),
}

@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoFacts]:
    path = tmp_path_factory.mktemp("property_demo") / "ws"
    return path, generate_demo(path, seed=7)


def _copy(demo: tuple[Path, DemoFacts], tmp_path: Path) -> Path:
    dest = tmp_path / "ws"
    shutil.copytree(demo[0], dest, ignore=shutil.ignore_patterns(".nexus"))
    return dest


async def _answer_approvals(nx: Nexus, result: RunResult, seed: int) -> RunResult:
    """Answer each approval with an option picked by the seed: any answer must keep the
    run sound, so different seeds walk different branches (approve, reject, ...)."""
    for turn in range(8):
        if result.status != "waiting_approval" or result.pending is None:
            return result
        options = result.pending.options
        choice = options[(seed + turn) % len(options)]
        result = await nx.aresume(result.run_id, choice, "property test", decided_by="test")
    return result


def _explain(result: RunResult, model: RandomSchemaModel) -> str:
    return f"{result.status}: {result.error} (after {model.calls} model call(s))"


def test_every_shipped_graph_is_covered() -> None:
    assert set(load_graph_specs()) == set(GRAPHS)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("graph", sorted(GRAPHS))
async def test_graph_survives_random_schema_valid_answers(
    graph: str, seed: int, demo: tuple[Path, DemoFacts], tmp_path: Path
) -> None:
    inputs, period = GRAPHS[graph]
    model = RandomSchemaModel(seed)
    nx = Nexus.from_workspace(_copy(demo, tmp_path), model=model)
    result = await _answer_approvals(nx, await nx.arun(graph, inputs, period=period), seed)
    assert result.status == "succeeded", _explain(result, model)
    assert model.calls > 0 or graph == "preconditions"


def _jobs() -> list[CadenceJob]:
    return list(load_calendar(load_config(None)).jobs)


def _job_params() -> list[Any]:
    return [pytest.param(job.id, id=job.id) for job in _jobs()]


def test_all_23_cadence_jobs_are_covered() -> None:
    ids = [job.id for job in _jobs()]
    assert len(ids) == 23
    continuous = {job.id for job in _jobs() if job.is_check}
    assert continuous == set(TRIGGERS)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("job_id", _job_params())
async def test_cadence_job_survives_random_schema_valid_answers(
    job_id: str, seed: int, demo: tuple[Path, DemoFacts], tmp_path: Path
) -> None:
    ws = _copy(demo, tmp_path)
    calendar = load_calendar(load_config(ws))
    job = calendar.job(job_id)
    if job.is_check:
        job = job.model_copy(update={"trigger": TRIGGERS[job_id]})
    period = period_for_fire(job, demo[1].as_of, calendar.timezone)
    model = RandomSchemaModel(seed)
    nx = Nexus.from_workspace(ws, model=model)
    outcome = await nx.arun_job(job, period, thread_id(job.id, period))
    if outcome.status is JobStatus.FAILED and outcome.run_id is not None:
        # an unattended job may stop at an approval; answering it must finish the run
        stopped = await nx.aresult(outcome.run_id)
        if stopped.status == "waiting_approval":
            result = await _answer_approvals(nx, stopped, seed)
            assert result.status == "succeeded", _explain(result, model)
            return
    assert outcome.status is JobStatus.SUCCEEDED, f"{outcome.error} ({model.calls} call(s))"
