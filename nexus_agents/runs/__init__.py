"""Runs: records in the workspace SQLite file (or PostgreSQL), and the engine that starts and
resumes them."""

from nexus_agents.runs.store import RunRecord, RunStore, default_db_path

__all__ = ["RunRecord", "RunStore", "default_db_path"]
