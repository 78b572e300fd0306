"""One open incident run per alert key: repeats start nothing, a resolve closes the run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alert_nexus import nexus_on
from payloads import alertmanager, am_alert, pagerduty

from nexus_agents.exceptions import DataError
from nexus_agents.graphs.errors import ApprovalError
from nexus_agents.runs.alert_runs import InFlight, open_incident
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor


async def test_fire_repeat_resolve_and_fire_again(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        [first] = await nx.areceive_alerts(alertmanager(), source="alertmanager")
        assert first.action == "started" and first.run_id == "incident:alertmanager:1a30ba71cca2921f"
        assert first.severity_floor == "P1" and first.run_status == "waiting_approval"  # P1 deploy gate
        result = await nx.aresult(first.run_id)
        assert result.artifacts["triage"]["facts"]["severity_floor"] == "P1"

        [repeat] = await nx.areceive_alerts(alertmanager(), source="alertmanager")
        assert (repeat.action, repeat.run_id) == ("already_open", first.run_id)

        resolved = alertmanager(am_alert(status="resolved"))
        [closed] = await nx.areceive_alerts(resolved, source="alertmanager")
        assert closed.action == "closed" and closed.run_status == "cancelled"
        record = (await nx.alist_runs(graph="incident_response"))[0]
        assert record.status == "cancelled" and "resolved at its source" in (record.error or "")
        with pytest.raises(ApprovalError, match="cancelled"):
            await nx.aresume(first.run_id, "approve")

        [again] = await nx.areceive_alerts(resolved, source="alertmanager")
        assert again.action == "nothing_open"

        [reopened] = await nx.areceive_alerts(alertmanager(), source="alertmanager")
        assert reopened.action == "started" and reopened.run_id == f"{first.run_id}:2"
        await nx.aclose()


async def test_a_resolve_with_nothing_open_is_a_no_op(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        [outcome] = await nx.areceive_alerts(pagerduty("resolve"), source="pagerduty")
        assert outcome.action == "nothing_open" and server.stats.requests == 0
        [acked] = await nx.areceive_alerts(pagerduty("acknowledge"), source="pagerduty")
        assert acked.action == "ignored"
        assert await nx.alist_runs() == []
        await nx.aclose()


async def test_a_flood_of_one_fingerprint_starts_one_run(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        # 1,000 deliveries at once, in one process: concurrent calls and a grouped payload
        calls = [nx.areceive_alerts(alertmanager(), source="alertmanager", unattended=True) for _ in range(500)]
        grouped = nx.areceive_alerts(alertmanager(*[am_alert() for _ in range(500)]), source="alertmanager")
        outcomes = [o for batch in await asyncio.wait_for(asyncio.gather(*calls, grouped), 120) for o in batch]
        assert len(outcomes) == 1000
        assert sum(o.action == "started" for o in outcomes) == 1
        assert {o.run_id for o in outcomes} == {"incident:alertmanager:1a30ba71cca2921f"}
        assert len(await nx.alist_runs(graph="incident_response")) == 1
        triages = [r for r in server.requests if "IncidentTriageNarrative" in str(r.body.get("response_format"))]
        assert len(triages) == 1
        await nx.aclose()


async def test_a_bad_alert_in_a_group_starts_nothing(workspace: Path) -> None:
    bad = am_alert("bbb")
    bad["startsAt"] = "1999-01-01T00:00:00Z"  # outside the alert time window
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        with pytest.raises(DataError) as raised:
            await nx.areceive_alerts(alertmanager(am_alert("aaa"), bad), source="alertmanager")
        assert raised.value.column == "detected_at"
        assert await nx.alist_runs() == [] and server.stats.requests == 0
        await nx.aclose()


async def test_a_resolve_during_the_start_cancels_the_run_it_started(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from nexus_agents.runs.alert_runs import receive_alerts
    from nexus_agents.runs.engine import RunResult
    from nexus_agents.runs.store import RunStore

    store = await RunStore.open(tmp_path / "runs.sqlite")
    in_flight: dict[str, InFlight] = {}
    common = {"now": [datetime.now(UTC)], "tz": UTC, "in_flight": in_flight}
    resolved: list[str] = []

    async def start(thread_id: str, alert: dict) -> RunResult:
        lease = await store.acquire_lease(thread_id)  # as Engine.start does while it executes
        await store.create_run(thread_id, "incident_response")
        [outcome] = await receive_alerts(
            store, alertmanager(am_alert(status="resolved")), source="alertmanager", start=start, **common
        )
        resolved.append(outcome.detail)
        await store.set_status(thread_id, "waiting_approval", pending={"approval_id": "p1_deploy_approval"})
        await store.release_lease(lease)
        return RunResult(run_id=thread_id, graph="incident_response", status="waiting_approval")

    try:
        [fired] = await receive_alerts(store, alertmanager(), source="alertmanager", start=start, **common)
        assert "executing" in resolved[0]  # the run held its lease: its key was closed
        assert fired.action == "started" and fired.run_status == "cancelled"
        record = await store.get_run(fired.run_id or "")
        assert record is not None and record.status == "cancelled"
        closed = [e for e in await store.events_for(fired.run_id or "") if e.event == "closed"]
        assert len(closed) == 1  # the resolve wrote it; cancelling afterwards adds none
    finally:
        await store.close()


async def test_a_resolve_before_the_run_has_a_record_closes_it_once_started(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from nexus_agents.runs.alert_runs import receive_alerts
    from nexus_agents.runs.engine import RunResult
    from nexus_agents.runs.store import RunStore

    store = await RunStore.open(tmp_path / "runs.sqlite")
    in_flight: dict[str, InFlight] = {}
    common = {"now": [datetime.now(UTC)], "tz": UTC, "in_flight": in_flight}
    early: list[str] = []

    async def start(thread_id: str, alert: dict) -> RunResult:
        # the resolve arrives before the engine has written the run's record
        [outcome] = await receive_alerts(
            store, alertmanager(am_alert(status="resolved")), source="alertmanager", start=start, **common
        )
        early.append(outcome.action)
        await store.create_run(thread_id, "incident_response")
        await store.set_status(thread_id, "waiting_approval", pending={"approval_id": "p1_deploy_approval"})
        return RunResult(run_id=thread_id, graph="incident_response", status="waiting_approval")

    try:
        [fired] = await receive_alerts(store, alertmanager(), source="alertmanager", start=start, **common)
        assert early == ["closed"]
        assert fired.action == "started" and fired.run_status == "cancelled"
        record = await store.get_run(fired.run_id or "")
        assert record is not None and record.status == "cancelled"
        assert "resolved at its source" in (record.error or "")
        closed = [e for e in await store.events_for(fired.run_id or "") if e.event == "closed"]
        assert len(closed) == 1
        # the key is closed: the next firing opens a new run
        assert in_flight == {}
        record2, next_thread = await open_incident(store, "incident:alertmanager:1a30ba71cca2921f")
        assert record2 is None and next_thread.endswith(":2")
    finally:
        await store.close()
