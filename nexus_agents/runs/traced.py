"""The span of a run execution, linked to the spans of the run's earlier executions.

Each start or resume of a run is one ``run <graph>`` span in a trace of its own. Its ids
are kept in the run store as an ``otel_span`` event, so a later resume of the same run
(after a crash, or with an approval decision) links to every earlier execution.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import nexus_agents.tracing as tracing
from nexus_agents.runs.store import RunStore

SPAN_EVENT = "otel_span"


@contextlib.asynccontextmanager
async def traced_run(
    store: RunStore, run_id: str, graph: str, *, new_run: bool
) -> AsyncIterator[Any]:
    """The run's span, current while the body executes the run."""
    record = await store.get_run(run_id)
    links: list[tuple[str, str]] = []
    if not new_run:
        for event in await store.events_named(run_id, SPAN_EVENT):
            detail = event.detail or {}
            if isinstance(detail.get("trace_id"), str) and isinstance(detail.get("span_id"), str):
                links.append((detail["trace_id"], detail["span_id"]))
    with tracing.run_span(
        graph,
        run_id,
        thread_id=record.thread_id if record else None,
        period=record.period if record else None,
        job=record.job if record else None,
        resumed=not new_run,
        links=links,
    ) as span:
        ids = span.ids() if span else None
        if ids is not None:
            trace_id, span_id = ids
            detail = {"trace_id": trace_id, "span_id": span_id}
            await store.add_event(run_id, "", SPAN_EVENT, detail=detail, wait=False)
        yield span
