"""A tiny nexus worker / CLI process for the multi-process DBOS tests.

usage: python -m tests.schedule._app DB_URL LOG MODE [ARGS...]
  run JOB PERIOD          run one period now (admin process) and print the outcome
  worker-enqueue KEY      worker that queues JOB:PERIOD, then drains (runner dies once)
  worker-drain            worker that drains what is queued or unfinished, then exits
  worker-forever          worker until SIGINT / SIGTERM
"""

from __future__ import annotations

import sys
from pathlib import Path

from nexus_agents.schedule.engine import ScheduleEngine
from nexus_agents.schedule.worker import run_worker
from tests.schedule._fakes import DiesOnceRunner, RecordingRunner, calendar


def main(argv: list[str]) -> int:
    url, log, mode, *rest = argv
    log_path = Path(log)
    marker = log_path.with_suffix(".crashed")
    if mode == "run":
        runner = RecordingRunner(log_path, hold_s=0.5)
        engine = ScheduleEngine(
            calendar(), runner, database_url=url, role="admin", poll_interval_s=0.05
        )
        with engine:
            outcome = engine.run(rest[0], rest[1])
        print(outcome.model_dump_json())
        return 0
    engine = ScheduleEngine(
        calendar(), DiesOnceRunner(log_path, marker), database_url=url, poll_interval_s=0.05
    )
    if mode == "worker-enqueue":
        job_id, _, period = rest[0].partition(":")
        engine.launch()
        engine.enqueue(job_id, period)
    run_worker(
        engine,
        sync=False,
        until_idle=mode != "worker-forever",
        on_event=lambda msg: print(msg, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
