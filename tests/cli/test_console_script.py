"""The installed ``nexus`` console script, run in a subprocess as people run it: exit codes,
one-line usage errors, workspace detection and Ctrl-C / SIGTERM during a run.

The model endpoint is the project's mock server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

REPO = Path(__file__).resolve().parents[2]
NEXUS = Path(sys.executable).parent / "nexus"

pytestmark = pytest.mark.skipif(not NEXUS.exists(), reason="the nexus console script is not installed")


def nexus(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NEXUS), *args],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NEXUS_", "OPENAI_")) and k != "PYTHONPATH"
    }
    env["PYTHONPATH"] = str(REPO)  # this checkout's code behind the installed script
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


@pytest.fixture(scope="module")
def demo_ws(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo the module's read-only commands share (they open its run store)."""
    path = tmp_path_factory.mktemp("console") / "ws"
    shutil.copytree(demo_template, path)
    return path


@pytest.fixture
def fresh_ws(demo_workspace: Path) -> Path:
    return demo_workspace


@pytest.fixture(scope="module")
def author_server() -> Iterator[MockLLMServer]:
    with MockLLMServer(responder=PlaybookAuthor(), max_requests=500, max_lifetime_s=300) as server:
        yield server


def _endpoint(server: MockLLMServer) -> dict[str, str]:
    return {"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": "sk-console-test"}


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, proc.stderr  # the error, and at most a usage hint
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in proc.stderr


# ---------------------------------------------------------------- usage errors (exit 2)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["kpis", "--bogus"], "--bogus"),
        (["nosuch"], "nosuch"),
        (["run"], "graph"),
        (["kpis", "--period", "banana"], "banana"),
        (["run", "loop", "--period", "banana"], "banana"),
        (["--log-level", "LOUD", "runs", "list"], "LOUD"),
        (["runs", "show", "nosuchrun"], "nosuchrun"),
        (["run", "nosuchgraph"], "nosuchgraph"),
        (["run", "incident"], "--alert"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    demo_ws: Path, args: list[str], needle: str
) -> None:
    proc = nexus(*args, cwd=demo_ws)
    assert proc.returncode == 2, proc.stderr
    _assert_one_line_error(proc, needle)


@pytest.mark.parametrize("args", [[], ["runs"]], ids=["nexus", "nexus runs"])
def test_a_bare_command_group_prints_its_help(tmp_path: Path, args: list[str]) -> None:
    proc = nexus(*args, cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith("Usage: nexus") and "Commands:" in proc.stdout
    assert proc.stderr == ""


def test_usage_error_hint_names_the_command_help(tmp_path: Path) -> None:
    proc = nexus("kpis", "--bogus", cwd=tmp_path)
    assert proc.returncode == 2
    assert "nexus kpis --help" in proc.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = nexus("--debug", "runs", "list", cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "ConfigError" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["run", "loop"],
        ["runs", "list"],
        ["kpis"],
        ["artifacts", "list"],
        ["schedule", "list"],
        ["approve", "abc", "--decision", "approve"],
    ],
)
def test_a_folder_that_is_not_a_workspace_is_refused_and_left_untouched(
    tmp_path: Path, args: list[str]
) -> None:
    proc = nexus(*args, cwd=tmp_path, env={"NEXUS_LLM_BASE_URL": "http://127.0.0.1:9/v1"})
    assert proc.returncode == 2, proc.stderr
    _assert_one_line_error(proc, "not a nexus workspace", "nexus init")
    assert list(tmp_path.iterdir()) == []  # no .nexus/ created


def test_run_in_a_workspace_without_data_is_refused_before_any_model_call(tmp_path: Path) -> None:
    assert nexus("init", "empty", cwd=tmp_path).returncode == 0
    proc = nexus(
        "run", "loop", "-w", "empty", cwd=tmp_path,
        env={"NEXUS_LLM_BASE_URL": "http://127.0.0.1:9/v1", "NEXUS_LLM_API_KEY": "sk-x"},
    )
    assert proc.returncode == 2
    _assert_one_line_error(proc, "no data files")
    assert not (tmp_path / "empty" / ".nexus" / "nexus.sqlite").exists()


def test_incident_without_alert_creates_no_run(fresh_ws: Path) -> None:
    proc = nexus("run", "incident", "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert proc.returncode == 2
    listed = nexus("runs", "list", "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert listed.returncode == 0, listed.stderr
    assert "0 runs" in listed.stdout


def test_help_documents_exit_codes_and_shows_flags_without_a_type(tmp_path: Path) -> None:
    proc = nexus("--help", cwd=tmp_path)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "0 succeeded, 1 run failed, 2 usage or configuration error" in text
    assert "3 waiting for approval, 130 interrupted" in text
    init_help = nexus("init", "--help", cwd=tmp_path).stdout
    assert "--demo" in init_help
    assert "<bool>" not in init_help


# ---------------------------------------------------------------- run exit codes


def test_waiting_run_exits_3_then_approve_by_short_id_exits_0(
    fresh_ws: Path, author_server: MockLLMServer
) -> None:
    env = _endpoint(author_server)
    proc = nexus("run", "loop", "-w", str(fresh_ws), cwd=fresh_ws.parent, env=env)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "waiting for studio_producer" in proc.stdout
    assert "approving: Deploy Decision" in proc.stdout  # what the gate is about
    run_id = next(
        line.split()[1] for line in proc.stdout.splitlines() if line.startswith("run ")
    )
    short = run_id[:8]
    listed = nexus("runs", "list", "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert short in listed.stdout and run_id not in listed.stdout
    assert "waiting_approval" in listed.stdout

    approved = nexus(
        "approve", short, "--decision", "approve", "--by", "alice", "--note", "ship it",
        "-w", str(fresh_ws), cwd=fresh_ws.parent, env=env,
    )
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "succeeded" in approved.stdout

    shown = nexus("runs", "show", short, "-w", str(fresh_ws), "--markdown", cwd=fresh_ws.parent)
    assert shown.returncode == 0, shown.stderr
    md = shown.stdout
    assert md.startswith(f"# Run {run_id}\n")
    assert "## Timeline" in md and "| Step | Agent | Started | Duration |" in md
    assert "| deploy_approval | approve | alice |" in md and "ship it" in md
    assert "\x1b[" not in md and "┃" not in md  # Markdown, not terminal drawing

    traced = nexus("runs", "trace", short, "plan", "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert traced.returncode == 0, traced.stderr
    assert "=== plan (sprint_prioritizer) call 1" in traced.stdout
    assert "--- system" in traced.stdout and "--- user" in traced.stdout
    assert "--- answer" in traced.stdout
    assert "=== measure" not in traced.stdout  # one step only
    assert "sk-console-test" not in traced.stdout
    verbose = nexus("runs", "show", short, "--verbose", "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert verbose.returncode == 0 and "=== measure (analytics_reporter)" in verbose.stdout
    missing = nexus("runs", "trace", short, "nosuchstep", "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert missing.returncode == 1
    _assert_one_line_error(missing, "nosuchstep")


def test_failed_run_exits_1(fresh_ws: Path) -> None:
    with MockLLMServer(faults=lambda _n: "refusal", max_requests=200, max_lifetime_s=120) as server:
        proc = nexus(
            "run", "loop", "-w", str(fresh_ws), cwd=fresh_ws.parent,
            env={**_endpoint(server), "NEXUS_LLM_MAX_ATTEMPTS": "1"},
        )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "failed" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_run_exits_130_and_can_be_resumed(fresh_ws: Path, sig: signal.Signals) -> None:
    with MockLLMServer(
        responder=PlaybookAuthor(), latency_s=30, max_requests=50, max_lifetime_s=120
    ) as server:
        env = _env(_endpoint(server))
        proc = subprocess.Popen(
            [str(NEXUS), "run", "loop", "-w", str(fresh_ws)],
            cwd=fresh_ws.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # wait until the first model call is under way
                if "measure:" in line:
                    break
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, out + err
    assert "nexus runs resume" in err
    assert "Traceback" not in err
    listed = nexus("runs", "list", "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert "interrupted" in listed.stdout
    run_id = err.split("nexus runs resume ", 1)[1].split()[0]

    cancelled = nexus("runs", "cancel", run_id[:8], "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"run {run_id} cancelled" in cancelled.stdout
    resumed = nexus("runs", "resume", run_id, "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert resumed.returncode == 2
    _assert_one_line_error(resumed, "cancelled")


# ---------------------------------------------------------------- doctor, schedules


def test_doctor_checks_the_endpoint_with_the_key_masked(
    demo_ws: Path, author_server: MockLLMServer
) -> None:
    env = {**_endpoint(author_server), "NEXUS_LLM_API_KEY": "sk-doctor-secret-987654"}
    proc = nexus("doctor", "-w", str(demo_ws), cwd=demo_ws.parent, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sk-doctor-secret-987654" not in proc.stdout + proc.stderr
    assert "answered a 1-token request" in proc.stdout
    assert "backlog: backlog.csv, 25 rows" in proc.stdout
    assert "cadences enabled" in proc.stdout


def test_doctor_fails_when_the_endpoint_is_unreachable(demo_ws: Path) -> None:
    env = {"NEXUS_LLM_BASE_URL": "http://127.0.0.1:9/v1", "NEXUS_LLM_API_KEY": "sk-x"}
    proc = nexus("doctor", "-w", str(demo_ws), cwd=demo_ws.parent, env=env)
    assert proc.returncode == 1
    assert "cannot connect" in proc.stdout


def test_schedule_sync_reports_what_changed(fresh_ws: Path) -> None:
    first = nexus("schedule", "sync", "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("added ")
    again = nexus("schedule", "sync", "-w", str(fresh_ws), cwd=fresh_ws.parent)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("schedules up to date (")


def test_worker_logs_json_lines_to_stderr(fresh_ws: Path) -> None:
    proc = nexus(
        "worker", "-w", str(fresh_ws), "--drain", "--no-sync", "--log-format", "json",
        cwd=fresh_ws.parent,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    events = [line.get("event") for line in lines]
    assert "worker_started" in events and "worker_stopping" in events
    assert all(line["level"] and line["logger"].startswith("nexus_agents") for line in lines)


def test_eval_run_works_outside_the_repository_and_rejects_an_unknown_case(tmp_path: Path) -> None:
    proc = nexus("eval", "run", "--case", "sprint-plan-rice", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1/1 passed" in proc.stdout
    unknown = nexus("eval", "run", "--case", "no-such-case", cwd=tmp_path)
    assert unknown.returncode == 2
    _assert_one_line_error(unknown, "unknown eval case")
