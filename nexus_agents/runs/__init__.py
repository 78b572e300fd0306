"""Runs: executing graphs and recording what they did.

This package owns everything a run writes or does, one layer above ``nexus_agents.graphs``
(which only builds the graph's shape):

- ``engine``: starts and resumes runs (a LangGraph thread per run, the run's lease,
  checkpoints and records in one database) and hands the graph builder its node factory;
- ``nodes``: that node factory: what each node does when it runs (agent steps through the
  ``StepExecutor``, call, action and approval steps) and what it records (events, step
  rows, usage, artifacts, actions with their idempotency keys);
- ``store`` / ``postgres``: the run records in the workspace SQLite file or PostgreSQL.
"""

from nexus_agents.runs.store import RunRecord, RunStore, default_db_path

__all__ = ["RunRecord", "RunStore", "default_db_path"]
