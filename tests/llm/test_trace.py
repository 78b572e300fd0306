"""Stored call traces keep the exchange readable and leave credentials out."""

from __future__ import annotations

from nexus_agents.llm.interface import ChatMessage, ChatRequest, ChatResponse
from nexus_agents.llm.trace import REDACTED, call_trace


def test_trace_keeps_messages_and_answer_and_drops_secrets() -> None:
    request = ChatRequest(
        messages=[
            ChatMessage(role="system", content="You are the reporter."),
            ChatMessage(
                role="user",
                content="ticket text: my key is sk-live-abcdef123456 and api_key=hunter22secret",
            ),
        ],
        agent="support_responder",
    )
    response = ChatResponse(
        message=ChatMessage(role="assistant", content='{"summary": "uses configured-secret-xyz"}')
    )
    trace = call_trace(request, response, None, secrets=["configured-secret-xyz"])
    text = str(trace)
    assert trace["messages"][0] == {"role": "system", "content": "You are the reporter."}
    assert "sk-live-abcdef123456" not in text and "hunter22secret" not in text
    assert "configured-secret-xyz" not in text
    assert REDACTED in trace["messages"][1]["content"] and REDACTED in trace["answer"]
    assert trace["finish_reason"] == "stop"


def test_trace_of_a_failed_call_records_the_error() -> None:
    request = ChatRequest(messages=[ChatMessage(role="user", content="hi")])
    trace = call_trace(request, None, RuntimeError("boom"))
    assert trace["error"] == "RuntimeError: boom"
    assert "answer" not in trace
