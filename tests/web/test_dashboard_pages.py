"""Every page of the dashboard over a demo workspace with a waiting and a finished run."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient
from web_helpers import API_KEY, nexus_on, waiting_run

from nexus_agents.graphs.loader import load_graph_specs
from nexus_agents.periods import parse_period
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor
from nexus_agents.tools.kpis import KPIS, compute_kpi
from nexus_agents.web.dashboard import dashboard_app
from nexus_agents.web.kpi_charts import format_value


def _count(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text))


def test_every_page_renders(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        with TestClient(dashboard_app(nx)) as client:
            run_id = client.portal.call(waiting_run, nx)  # type: ignore[union-attr]
            assert client.get("/", follow_redirects=False).headers["location"] == "/kpis"

            weeks = client.get("/kpis")
            assert weeks.status_code == 200
            assert _count(r'<svg class="kpi-chart"', weeks.text) == len(KPIS) == 14
            assert _count(r'data-series="value"', weeks.text) == len(KPIS)
            assert _count(r'data-series="target"', weeks.text) == len(KPIS)
            # the engine's own judgement colours the points; the demo misses some weeks
            assert _count(r'class="point met"', weeks.text) > 0
            assert _count(r'class="point missed"', weeks.text) > 0
            assert "/kpis/uptime?period=2026-W47" in weeks.text  # a point links to its breakdown
            week = compute_kpi(nx.workspace, "uptime", parse_period("2026-W47"), nx.workspace.now())
            assert f"2026-W47: {format_value(week.value, week.unit)} ({week.status})" in weeks.text
            months = client.get("/kpis?per=months")
            assert months.status_code == 200 and "2026-10" in months.text and "2026-W47" not in months.text
            assert client.get("/kpis?per=decades").status_code == 400

            breakdown = client.get("/kpis/support_first_response_sla?period=2026-10")
            assert breakdown.status_code == 200
            expected = compute_kpi(nx.workspace, "support_first_response_sla", parse_period("2026-10"), nx.workspace.now())
            assert expected.name in breakdown.text
            assert format_value(expected.value, expected.unit) in breakdown.text
            assert _count(r"<tr><td>", breakdown.text) == len(expected.breakdown) >= 2  # a row per group
            assert client.get("/kpis/happiness").status_code == 404
            assert client.get("/kpis/uptime?period=someday").status_code == 400

            runs = client.get("/runs")
            assert runs.status_code == 200 and run_id in runs.text and "waiting_approval" in runs.text
            assert run_id in client.get("/runs?status=waiting_approval&graph=incident_response").text
            assert run_id not in client.get("/runs?status=succeeded").text
            assert run_id not in client.get("/runs?period=2001-01-01").text
            assert client.get("/runs?status=exploded").status_code == 400

            page = client.get(f"/runs/{run_id}")
            assert page.status_code == 200
            assert _count(r'<rect class="bar ', page.text) >= 3  # the Gantt bars of its steps
            assert 'class="artifact"' in page.text and "Waiting for" in page.text
            assert client.get("/runs/no-such-run").status_code == 404

            approvals = client.get("/approvals")
            assert approvals.status_code == 200
            assert "Deploy it?" in approvals.text and 'value="approve"' in approvals.text
            # what the gate lets happen (the deploy and the fix it ships), then the evidence
            assert "Approving: deploy (p1_deploy) of step collect_fix" in approvals.text
            assert "step verify_fix" in approvals.text
            assert 'name="csrf_token"' in approvals.text and 'name="decided_by"' in approvals.text

            schedules = client.get("/schedules")
            assert schedules.status_code == 200 and _count(r"<tr data-job=", schedules.text) == 23

            listed = client.get("/graphs")
            shipped = load_graph_specs()
            assert all(f"/graphs/{name}" in listed.text for name in shipped)
            for name, spec in shipped.items():
                drawn = client.get(f"/graphs/{name}")
                assert drawn.status_code == 200
                assert _count(r'<g class="node ', drawn.text) >= len(spec.steps) + 2, name
            assert client.get("/graphs/nope").status_code == 404
            assert client.get("/static/style.css").status_code == 200

            for path in ("/kpis", "/runs", f"/runs/{run_id}", "/approvals", "/schedules"):
                assert API_KEY not in client.get(path).text


def test_model_and_data_text_is_escaped_and_secrets_hidden(workspace: Path) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        with TestClient(dashboard_app(nx, token="tok-" + "9" * 20)) as client:
            run_id = client.portal.call(waiting_run, nx)  # type: ignore[union-attr]

            async def plant() -> None:
                async with nx._using_engine() as engine:
                    await engine.store.save_artifact(
                        run_id,
                        "zz_hostile",
                        {
                            "kind": "incident_report",
                            "title": hostile,
                            "facts": {"note": f"key {API_KEY} and Bearer abcdefghijklmnop"},
                            "narrative": {"summary": hostile},
                        },
                        markdown=f"</pre>{hostile} token tok-{'9' * 20}",
                    )

            client.portal.call(plant)  # type: ignore[union-attr]
            auth = {"Authorization": "Bearer tok-" + "9" * 20}
            for path in (f"/runs/{run_id}", "/approvals"):
                text = client.get(path, headers=auth).text
                assert "<script>alert" not in text and "<img src=x" not in text
                assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
                assert API_KEY not in text and "abcdefghijklmnop" not in text
                assert "tok-" + "9" * 20 not in text
                assert "[redacted]" in text
