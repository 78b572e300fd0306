"""Test helpers shipped with the library: an OpenAI-compatible mock server with fault
injection, a deterministic generator of JSON-schema instances, ``RandomSchemaModel``
(an in-process model answering each call with a random schema-valid object) and
``FakeStepExecutor`` (scripted agent steps for graph tests, no model at all).

Names are imported lazily so ``python -m nexus_agents.testing.mock_server`` runs cleanly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nexus_agents._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "FAULT_NAMES": "nexus_agents.testing.faults",
    "Fault": "nexus_agents.testing.faults",
    "FaultKind": "nexus_agents.testing.faults",
    "FaultSchedule": "nexus_agents.testing.faults",
    "FakeCall": "nexus_agents.testing.fake_executor",
    "FakeStepExecutor": "nexus_agents.testing.fake_executor",
    "MockLLMServer": "nexus_agents.testing.mock_server",
    "MockServerStats": "nexus_agents.testing.mock_server",
    "RandomSchemaModel": "nexus_agents.testing.random_model",
    "RecordedRequest": "nexus_agents.testing.mock_server",
    "Responder": "nexus_agents.testing.mock_server",
    "SchemaFakerError": "nexus_agents.testing.schema_faker",
    "content_reply": "nexus_agents.testing.completions",
    "fake_instance": "nexus_agents.testing.schema_faker",
    "tool_call_reply": "nexus_agents.testing.completions",
}

__all__ = [
    "FAULT_NAMES",
    "FakeCall",
    "FakeStepExecutor",
    "Fault",
    "FaultKind",
    "FaultSchedule",
    "MockLLMServer",
    "MockServerStats",
    "RandomSchemaModel",
    "RecordedRequest",
    "Responder",
    "SchemaFakerError",
    "content_reply",
    "fake_instance",
    "tool_call_reply",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover
    from nexus_agents.testing.completions import content_reply, tool_call_reply
    from nexus_agents.testing.fake_executor import FakeCall, FakeStepExecutor
    from nexus_agents.testing.faults import FAULT_NAMES, Fault, FaultKind, FaultSchedule
    from nexus_agents.testing.mock_server import (
        MockLLMServer,
        MockServerStats,
        RecordedRequest,
        Responder,
    )
    from nexus_agents.testing.random_model import RandomSchemaModel
    from nexus_agents.testing.schema_faker import SchemaFakerError, fake_instance
