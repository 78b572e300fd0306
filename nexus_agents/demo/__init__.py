"""The bundled demo: a generated workspace and recorded model responses for one loop iteration.

``nexus demo`` uses the recording only when no model endpoint is configured; the data,
tools, graph, checkpoints and artifacts are always real.
"""

from __future__ import annotations

from pathlib import Path

from nexus_agents.paths import package_data

DEMO_MODEL = "gpt-4o-mini"
REPLAY_BASE_URL = "http://recorded-demo.invalid/v1"


def cassette_path() -> Path:
    """The recorded model traffic of one demo improvement-loop iteration."""
    return package_data("demo", "improvement_loop.cassette.yaml")
