"""Deciding from the Approvals page: CSRF, the token, a double decision, an unknown run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_helpers import nexus_on, waiting_run

from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor
from nexus_agents.web.dashboard import dashboard_app

TOKEN = "serve-token-" + "a1" * 12


def _csrf(client: TestClient, **kw: object) -> str:
    page = client.get("/approvals", **kw)  # type: ignore[arg-type]
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def _form(token: str | None, **fields: str) -> dict[str, str]:
    base = {"approval_id": "p1_deploy_approval", "decided_by": "Ana Ops", "note": "fix verified", "decision": "approve"}
    if token is not None:
        base["csrf_token"] = token
    return {**base, **fields}


def _status(client: TestClient, nx: object, run_id: str) -> str:
    async def get() -> str:
        result = await nx.aresult(run_id)  # type: ignore[attr-defined]
        return str(result.status)

    return client.portal.call(get)  # type: ignore[union-attr]


def test_a_decision_resumes_the_run_and_a_second_one_is_refused(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        with TestClient(dashboard_app(nx)) as client:
            run_id = client.portal.call(waiting_run, nx)  # type: ignore[union-attr]
            token = _csrf(client)

            no_name = client.post(f"/approvals/{run_id}", data=_form(token, decided_by="  "))
            assert no_name.status_code == 400 and "give your name" in no_name.text
            not_option = client.post(f"/approvals/{run_id}", data=_form(token, decision="ship it"))
            assert not_option.status_code == 400 and "choose one of approve, reject" in not_option.text
            assert _status(client, nx, run_id) == "waiting_approval"

            done = client.post(f"/approvals/{run_id}", data=_form(token), follow_redirects=False)
            assert done.status_code == 303 and done.headers["location"].startswith("/runs/incident")
            assert _status(client, nx, run_id) == "succeeded"
            page = client.get(done.headers["location"])
            assert 'id="run-status">succeeded' in page.text
            assert '<td class="decided-by">Ana Ops</td>' in page.text
            assert '<td class="note">fix verified</td>' in page.text
            assert run_id not in client.get("/approvals").text

            again = client.post(f"/approvals/{run_id}", data=_form(token, decision="reject"))
            assert again.status_code == 409
            assert "no longer waiting for a decision (it is succeeded)" in again.text

            unknown = client.post("/approvals/incident:nowhere:0", data=_form(token))
            assert unknown.status_code == 404 and "no run" in unknown.text


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "security token is missing or wrong"),
        ("wrong", "security token is missing or wrong"),
        ("other_session", "security token is missing or wrong"),
        ("no_session", "no dashboard session"),
        ("foreign_origin", "sent from another site"),
    ],
)
def test_a_decision_without_the_right_csrf_token_is_refused(workspace: Path, case: str, expected: str) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        with TestClient(dashboard_app(nx)) as client, TestClient(client.app) as other:
            run_id = client.portal.call(waiting_run, nx)  # type: ignore[union-attr]
            token = _csrf(client)
            headers: dict[str, str] = {}
            form = _form(token)
            if case == "missing":
                form = _form(None)
            elif case == "wrong":
                form = _form("0" * 64)
            elif case == "other_session":
                form = _form(_csrf(other))  # a token valid for another browser's session
            elif case == "no_session":
                client.cookies.clear()
            elif case == "foreign_origin":
                headers["Origin"] = "http://evil.example"
            refused = client.post(f"/approvals/{run_id}", data=form, headers=headers)
            assert refused.status_code == 403 and expected in refused.text
            assert _status(client, nx, run_id) == "waiting_approval"


def test_off_loopback_every_page_wants_the_token(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        with TestClient(dashboard_app(nx, token=TOKEN)) as client:
            run_id = client.portal.call(waiting_run, nx)  # type: ignore[union-attr]
            for path in ("/kpis", "/runs", "/approvals", "/schedules", "/graphs", "/static/style.css"):
                assert client.get(path).status_code == 401, path
            assert client.get("/healthz").status_code == 200
            assert client.get("/approvals?token=nope").status_code == 401
            assert client.post(f"/approvals/{run_id}", data=_form("0" * 64)).status_code == 401

            bearer = client.get("/runs", headers={"Authorization": f"Bearer {TOKEN}"})
            assert bearer.status_code == 200 and run_id in bearer.text

            entry = client.get(f"/approvals?token={TOKEN}&x=1", follow_redirects=False)
            assert entry.status_code == 303 and entry.headers["location"] == "/approvals?x=1"
            cookie = entry.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
            assert TOKEN not in cookie
            token = _csrf(client)  # the cookie now lets the browser in
            done = client.post(f"/approvals/{run_id}", data=_form(token), follow_redirects=False)
            assert done.status_code == 303
            assert _status(client, nx, run_id) == "succeeded"
