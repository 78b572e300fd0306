"""Actions: the workspace integration, approval gating and idempotency across resume."""

from __future__ import annotations

import csv
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "graphs"))


from nexus_agents.actions import ActionRequest, WorkspaceIntegration
from nexus_agents.graphs.spec import parse_spec
from nexus_agents.runs.engine import Engine
from nexus_agents.testing.fake_executor import FakeStepExecutor

SPEC = """
    name: postmortem
    steps:
      - {id: review, agent: incident_commander, output: post_mortem}
      - action: {id: file_actions, kind: backlog_append, from: review}
      - approval: {id: ok_to_publish, decider: studio_producer, question: "Publish?", on_timeout: reject}
      - action: {id: publish_it, kind: publish, from: review, requires_approval: ok_to_publish}
"""


def _spec() -> Any:
    return parse_spec(yaml.safe_load(textwrap.dedent(SPEC)), "postmortem.yaml")


def _fake() -> FakeStepExecutor:
    actions = [{"action": "add alert on queue depth", "owner": "ops", "deadline": "2025-02-01"},
               {"id": "BL-0100", "action": "runbook for failover", "owner": "sre"}]
    return FakeStepExecutor(script={"review": [{"narrative": {"prevention_actions": actions}}]})


async def test_backlog_rows_get_unique_ids(tmp_path: Path) -> None:
    integ = WorkspaceIntegration(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "backlog.csv").write_text("id,title,reach,source\nBL-0007,old item,10,\n")
    payload = {"items": [{"title": "new a"}, {"title": "new b"}, {"id": "BL-0007", "title": "dup"}]}
    req = ActionRequest(kind="backlog_append", idempotency_key="r1:s", run_id="r1", step_id="s", payload=payload)
    result = await integ.backlog_append(req)
    assert result.data["ids"] == ["BL-0008", "BL-0009"]
    again = await integ.backlog_append(req)  # same key: nothing added twice
    assert again.data["ids"] == ["BL-0008", "BL-0009"]
    rows = list(csv.DictReader((tmp_path / "data" / "backlog.csv").open()))
    assert [r["id"] for r in rows] == ["BL-0007", "BL-0008", "BL-0009"]
    assert rows[1]["title"] == "new a" and rows[1]["reach"] == ""
    assert integ.executed_keys() == ["r1:s"]


def _titled(key: str, *titles: str) -> ActionRequest:
    payload = {"items": [{"title": t} for t in titles]}
    return ActionRequest(kind="backlog_append", idempotency_key=key, run_id=key, step_id="s", payload=payload)


async def test_appends_see_rows_others_wrote_since(tmp_path: Path) -> None:
    # the integration keeps what it read of the backlog between appends; another
    # process appending, or a person rewriting the file, must still be seen
    (tmp_path / "data").mkdir()
    backlog = tmp_path / "data" / "backlog.csv"
    backlog.write_text("id,title,source\nBL-0001,old,\n")
    ours, theirs = WorkspaceIntegration(tmp_path), WorkspaceIntegration(tmp_path)
    assert (await ours.backlog_append(_titled("a", "one"))).data["ids"] == ["BL-0002"]
    assert (await theirs.backlog_append(_titled("b", "two"))).data["ids"] == ["BL-0003"]
    assert (await ours.backlog_append(_titled("c", "three"))).data["ids"] == ["BL-0004"]
    # a person adds a row in place (same file, same size class): ids go on after it
    text = backlog.read_text().replace("BL-0001,old,", "BL-0040,old,")
    backlog.write_text(text)
    assert (await ours.backlog_append(_titled("d", "four"))).data["ids"] == ["BL-0041"]
    # a row written under a key whose log line is missing is not written twice
    (tmp_path / "actions.jsonl").unlink()
    assert (await theirs.backlog_append(_titled("d", "four"))).data["ids"] == ["BL-0041"]
    ids = [r["id"] for r in csv.DictReader(backlog.open())]
    assert ids == ["BL-0040", "BL-0002", "BL-0003", "BL-0004", "BL-0041"]


async def test_the_action_log_is_shared_with_other_writers(tmp_path: Path) -> None:
    # each integration knows its own log lines without reading them back, and still
    # reads what another process appended in between, in the file's order
    def note(key: str) -> ActionRequest:
        return ActionRequest(kind="notify", idempotency_key=key, run_id=key, step_id="s")

    ours, theirs = WorkspaceIntegration(tmp_path), WorkspaceIntegration(tmp_path)
    await ours.notify(note("a"))
    await theirs.notify(note("b"))
    await ours.notify(note("c"))
    await theirs.notify(note("d"))
    for integration in (ours, theirs, WorkspaceIntegration(tmp_path)):
        assert integration.executed_keys() == ["a", "b", "c", "d"]
        assert [r["run_id"] for r in integration.records()] == ["a", "b", "c", "d"]
    # an action another process executed is not executed again
    before = (tmp_path / "actions.jsonl").read_text()
    assert (await ours.notify(note("d"))).detail == "notification recorded"
    assert (tmp_path / "actions.jsonl").read_text() == before


async def test_actions_run_once_across_resume_and_respect_approval(tmp_path: Path) -> None:
    async with await Engine.open(specs={"postmortem": _spec()}, executor=_fake(), workspace=tmp_path) as engine:
        paused = await engine.start("postmortem")
        assert paused.status == "waiting_approval"
        assert paused.values["file_actions"] == "done"
        # Resuming re-enters the graph after the approval; the executed action is not repeated.
        done = await engine.resume(paused.run_id, "approve")
        assert done.status == "succeeded" and done.values["publish_it"] == "done"
        recorded = await engine.store.actions_for(paused.run_id)
        assert sorted(a.step for a in recorded) == ["file_actions", "publish_it"]

        rejected = await engine.start("postmortem")
        final = await engine.resume(rejected.run_id, "reject")
        assert final.values["publish_it"] == "skipped"

    log = [json.loads(line) for line in (tmp_path / "actions.jsonl").read_text().splitlines()]
    assert [(row["kind"], row["run_id"]) for row in log] == [
        ("backlog_append", paused.run_id), ("publish", paused.run_id), ("backlog_append", rejected.run_id)
    ]
    rows = list(csv.DictReader((tmp_path / "data" / "backlog.csv").open()))
    # ids stay unique: the next generated id follows the highest, a repeated explicit id is skipped
    assert [r["id"] for r in rows] == ["BL-0001", "BL-0100", "BL-0101"]
    assert rows[0]["title"] == "add alert on queue depth" and rows[0]["owner"] == "ops"


async def test_recorded_action_is_not_executed_again(tmp_path: Path) -> None:
    class Counting(WorkspaceIntegration):
        calls = 0

        async def deploy(self, request: ActionRequest) -> Any:
            Counting.calls += 1
            return await super().deploy(request)

    spec = parse_spec(yaml.safe_load(textwrap.dedent("""
        name: ship
        steps:
          - {id: build, agent: developer}
          - action: {id: go, kind: deploy, from: build}
    """)), "ship.yaml")
    async with await Engine.open(specs={"ship": spec}, executor=FakeStepExecutor(),
                                 workspace=tmp_path, integration=Counting(tmp_path)) as engine:
        real_record = engine.store.record_action

        async def record_then_crash(*args: Any, **kwargs: Any) -> None:
            await real_record(*args, **kwargs)
            raise RuntimeError("process died after recording the action")

        engine.store.record_action = record_then_crash  # type: ignore[method-assign]
        crashed = await engine.start("ship")
        assert crashed.status == "failed" and "'go'" in (crashed.error or "")
        engine.store.record_action = real_record  # type: ignore[method-assign]
        result = await engine.resume(crashed.run_id)
        events = await engine.store.events_for(crashed.run_id)
    assert result.status == "succeeded"
    assert Counting.calls == 1  # the resumed step found the record and did not deploy again
    assert [e.step for e in events if e.event == "started"] == ["build", "go", "go"]


async def test_appended_backlog_rows_keep_the_file_loadable(tmp_path: Path) -> None:
    """A workflow's follow-up item has no RICE inputs: the backlog must still load, the
    item waits unscored, and sprint planning leaves it out."""
    from nexus_agents.actions.base import ActionRequest
    from nexus_agents.actions.workspace import WorkspaceIntegration
    from nexus_agents.data.rows import backlog_rows
    from nexus_agents.data.workspace import Workspace

    data = tmp_path / "data"
    data.mkdir()
    # CRLF line ends and no newline after the last row, as spreadsheet exports often have
    (data / "backlog.csv").write_bytes(
        b"id,title,reach,impact,confidence,effort,status,source\r\n"
        b"BL-001,Faster dashboard,200,1,0.8,3,open,support"
    )
    integration = WorkspaceIntegration(tmp_path)
    request = ActionRequest(
        run_id="r1",
        step_id="backlog_add",
        idempotency_key="r1:backlog_add",
        kind="backlog_append",
        payload={"items": [{"title": "Add a retry to the payment webhook"}]},
    )
    result = await integration.backlog_append(request)
    assert result.data["ids"] == ["BL-002"]  # numbered like the existing ids

    rows = backlog_rows(Workspace(tmp_path))
    assert [r.id for r in rows] == ["BL-001", "BL-002"]
    added = rows[1]
    assert added.status == "new"
    assert added.source == "r1:backlog_add"
    assert not added.scored and rows[0].scored
    raw = (data / "backlog.csv").read_bytes()
    assert raw.count(b"\r\n") == 3 and b"\n\n" not in raw


async def test_an_action_logged_by_another_process_is_not_repeated(tmp_path: Path) -> None:
    from nexus_agents.actions.base import ActionRequest
    from nexus_agents.actions.workspace import WorkspaceIntegration

    def deploy(step: str) -> ActionRequest:
        return ActionRequest(
            run_id="r1", step_id=step, idempotency_key=f"r1:{step}", kind="deploy", payload={}
        )

    first, second = WorkspaceIntegration(tmp_path), WorkspaceIntegration(tmp_path)
    await second.deploy(deploy("warm_up"))  # second has read the log up to here
    await first.deploy(deploy("ship"))
    with (tmp_path / "actions.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"idempotency_key": "r1:half-writ')  # another writer, mid-line
    await second.deploy(deploy("ship"))  # must find first's record, not deploy again
    lines = (tmp_path / "actions.jsonl").read_text(encoding="utf-8").splitlines()
    assert sum('"r1:ship"' in line for line in lines) == 1
    assert second.executed_keys() == ["r1:warm_up", "r1:ship"]


def _append(items: list[dict[str, Any]], key: str = "r1:add") -> ActionRequest:
    run, step = key.split(":")
    return ActionRequest(
        kind="backlog_append",
        idempotency_key=key,
        run_id=run,
        step_id=step,
        payload={"items": items},
    )


async def test_model_text_becomes_one_safe_cell_and_line_ends_follow_the_header(
    tmp_path: Path,
) -> None:
    from nexus_agents.actions.workspace import csv_cell

    assert csv_cell("a\r\nb\rc\nd\x00\x1b\u200be") == "a b c de"
    assert [csv_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=x", " =x")] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'=x",
        "'=x",
    ]
    assert csv_cell("x" * 5000).endswith("[cut 3000 chars]")
    data = tmp_path / "data"
    data.mkdir()
    # an LF file whose quoted cell holds a CRLF: appended rows still end with LF
    (data / "backlog.csv").write_bytes(
        b'\xef\xbb\xbfid,title,status,source\nBL-1,"two\r\nlines",open,x\n'
    )
    integration = WorkspaceIntegration(tmp_path)
    result = await integration.backlog_append(
        _append([{"id": '"><x', "title": "=cmd|' /C calc'!A0\r\nmore"}])
    )
    assert result.data["ids"] == ["BL-2"]  # an unsafe id is replaced by a fresh one
    raw = (data / "backlog.csv").read_bytes()
    assert raw.endswith(b"BL-2,'=cmd|' /C calc'!A0 more,new,r1:add\n")
    assert raw.count(b"\r\n") == 1  # only the one inside the quoted cell


async def test_deploy_marks_the_item_shipped_keeping_every_other_byte(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    original = (
        b'id,title,status,source\r\nBL-1,"quoted, kept",open,x\r\n'
        b'BL-2,"multi\r\nline",open,y\r\nBL-3,last,planned,z'
    )
    (data / "backlog.csv").write_bytes(original)
    deploy = ActionRequest(
        kind="deploy",
        idempotency_key="r1:ship",
        run_id="r1",
        step_id="ship",
        payload={"item_id": "BL-2"},
    )
    result = await WorkspaceIntegration(tmp_path).deploy(deploy)
    assert result.data == {"item_id": "BL-2", "marked_shipped": True}
    assert (data / "backlog.csv").read_bytes() == original.replace(
        b'line",open,y', b'line",shipped,y'
    )
    unknown = deploy.model_copy(
        update={"idempotency_key": "r1:other", "payload": {"item_id": "INC-1"}}
    )
    other = await WorkspaceIntegration(tmp_path).deploy(unknown)
    assert other.data == {"item_id": "INC-1", "marked_shipped": False}


async def test_a_backlog_without_a_source_column_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from nexus_agents.exceptions import DataError

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "backlog.csv").write_text("id,title\nBL-1,x\n")
    with pytest.raises(DataError, match=r"data/backlog.csv, line 1, column 'source'"):
        await WorkspaceIntegration(tmp_path).backlog_append(_append([{"title": "y"}]))
    assert WorkspaceIntegration(tmp_path).executed_keys() == []
