"""Continuous checks named in ``graphs/cadences.yaml``.

Each takes a ``CheckContext`` (job, period, workspace, now) and returns ``None`` when all
is well or a ``Trigger`` describing what is wrong; only a trigger starts the job's graph.
They read the workspace data through ``nexus_agents.data`` and never call a model.
"""
