"""OpenAIChatModel through the real openai client, with respx answering at the HTTP level."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import respx
from llm_http import API_KEY, BASE_URL, body_of, completion, ok
from pydantic import BaseModel

from nexus_agents.exceptions import ModelError, StructuredOutputError
from nexus_agents.llm import CallRecord, ChatMessage, ChatRequest, run_structured
from nexus_agents.llm.limiter import ConcurrencyLimiter
from nexus_agents.llm.openai_model import OpenAIChatModel
from nexus_agents.llm.retry import RetryPolicy
from nexus_agents.tools.base import Tool


class Verdict(BaseModel):
    status: str
    score: int
    note: str | None = None


GOOD = json.dumps({"status": "PASS", "score": 7, "note": None})
ASK = [ChatMessage(role="user", content="judge the build")]


def _request(agent: str = "evidence-collector") -> ChatRequest:
    return ChatRequest(messages=ASK, agent=agent)


async def test_clean_structured_response(make_model) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(return_value=ok(completion(GOOD)))
        result = await run_structured(
            make_model(), messages=ASK, output_type=Verdict, agent="evidence-collector"
        )
    assert result.output == Verdict(status="PASS", score=7)
    assert result.calls == 1
    sent = body_of(route.calls[0])
    assert sent["model"] == "gpt-4o"
    assert sent["messages"] == [{"role": "user", "content": "judge the build"}]
    fmt = sent["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Verdict"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == ["note", "score", "status"]
    assert "tools" not in sent
    assert route.calls[0].request.headers["authorization"] == f"Bearer {API_KEY}"
    assert route.calls[0].request.headers["x-nexus-agent"] == "evidence-collector"


async def test_rate_limit_honours_retry_after(make_model, sleeps) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[
                httpx.Response(
                    429, headers={"Retry-After": "2"}, json={"error": {"message": "slow"}}
                ),
                ok(completion("hello")),
            ]
        )
        response = await make_model().complete(_request())
    assert response.message.content == "hello"
    assert route.call_count == 2
    assert sleeps.waits == [2.0]


async def test_retry_after_is_capped_by_backoff_max(make_model, sleeps) -> None:
    model = make_model(retry=RetryPolicy(max_attempts=2, backoff_max_s=5.0, sleep=sleeps))
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "120"}), ok(completion("x"))]
        )
        await model.complete(_request())
    assert sleeps.waits == [5.0]


async def test_server_errors_back_off_then_succeed(make_model, sleeps) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[httpx.Response(500), httpx.Response(502), ok(completion("fine"))]
        )
        response = await make_model().complete(_request())
    assert response.message.content == "fine"
    assert route.call_count == 3
    # base 0.5 s doubling, up to 50% jitter on top
    assert len(sleeps.waits) == 2
    assert 0.5 <= sleeps.waits[0] <= 0.75
    assert 1.0 <= sleeps.waits[1] <= 1.5


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError])
async def test_timeout_or_lost_connection_is_retried(make_model, sleeps, error) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[error("network trouble"), ok(completion("back"))]
        )
        response = await make_model().complete(_request())
    assert response.message.content == "back"
    assert route.call_count == 2
    assert len(sleeps.waits) == 1


async def test_gives_up_after_max_attempts(make_model, sleeps) -> None:
    records: list[CallRecord] = []
    model = make_model(on_call=records.append)
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(return_value=httpx.Response(503))
        with pytest.raises(ModelError) as info:
            await model.complete(_request("finance-tracker"))
    assert route.call_count == 3
    assert len(sleeps.waits) == 2
    assert info.value.status == 503
    assert info.value.agent == "finance-tracker"
    assert "after 3 attempts" in str(info.value)
    assert [(r.status, r.attempts, r.http_status) for r in records] == [("error", 3, 503)]


async def test_unauthorized_is_not_retried_and_hides_the_key(make_model, sleeps) -> None:
    body = {
        "error": {
            "message": f"Incorrect API key provided: {API_KEY}",
            "type": "invalid_request_error",
        }
    }
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(return_value=httpx.Response(401, json=body))
        with pytest.raises(ModelError) as info:
            await make_model().complete(_request("support-responder"))
    message = str(info.value)
    assert route.call_count == 1
    assert sleeps.waits == []
    assert info.value.status == 401
    assert message.startswith("agent support-responder:")
    assert "401" in message and "NEXUS_LLM_API_KEY" in message
    assert API_KEY not in message
    assert "SECRET" not in message
    assert "Bearer" not in message


@pytest.mark.parametrize("status", [400, 403, 404, 422])
async def test_client_errors_are_not_retried(make_model, sleeps, status) -> None:
    body = {"error": {"message": "The model `gpt-9` does not exist"}}
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(return_value=httpx.Response(status, json=body))
        with pytest.raises(ModelError) as info:
            await make_model().complete(_request())
    assert route.call_count == 1
    assert sleeps.waits == []
    assert info.value.status == status
    assert "does not exist" in str(info.value)


async def test_json_schema_rejected_falls_back_to_json_object_and_remembers(make_model) -> None:
    records: list[CallRecord] = []

    async def record(call: CallRecord) -> None:  # an async hook is awaited
        records.append(call)

    model = make_model(on_call=record)
    rejection = httpx.Response(
        400, json={"error": {"message": "response_format type json_schema is not supported"}}
    )
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[rejection, ok(completion(GOOD)), ok(completion(GOOD))]
        )
        first = await run_structured(model, messages=ASK, output_type=Verdict, agent="qa")
        second = await run_structured(model, messages=ASK, output_type=Verdict, agent="qa")
    assert first.output.score == 7 and second.output.score == 7
    bodies = [body_of(c) for c in route.calls]
    assert bodies[0]["response_format"]["type"] == "json_schema"
    fallback = bodies[1]["response_format"]
    assert fallback["type"] == "json_object"
    assert fallback["schema"] == bodies[0]["response_format"]["json_schema"]["schema"]
    system = bodies[1]["messages"][0]
    assert system["role"] == "system"
    assert '"score"' in system["content"] and "JSON schema" in system["content"]
    assert bodies[1]["messages"][1] == {"role": "user", "content": "judge the build"}
    # remembered: the second run goes straight to json_object, no second rejection
    assert route.call_count == 3
    assert bodies[2]["response_format"] == fallback
    assert model.json_object_models == {"gpt-4o"}
    assert [(r.attempts, r.response_format) for r in records] == [
        (2, "json_object"),
        (1, "json_object"),
    ]


# What llama-cpp-python's server (0.3.x) answers to a json_schema request: its request model
# only knows "text" and "json_object", and it reports the failed validation as a 500.
LLAMA_CPP_REJECTION = {
    "error": {
        "message": "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}]",
        "type": "internal_server_error",
    }
}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, LLAMA_CPP_REJECTION),
        (422, {"detail": [{"loc": ["body", "response_format"], "msg": "unsupported"}]}),
    ],
)
async def test_json_schema_rejected_with_another_status_falls_back_without_retrying(
    make_model, sleeps, status: int, body: dict
) -> None:
    records: list[CallRecord] = []
    model = make_model(on_call=records.append)
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[httpx.Response(status, json=body), ok(completion(GOOD))]
        )
        result = await run_structured(model, messages=ASK, output_type=Verdict, agent="qa")
    assert result.output.score == 7
    assert route.call_count == 2
    assert sleeps.waits == []  # no retry of the rejected format
    fallback = body_of(route.calls[1])["response_format"]
    assert fallback["type"] == "json_object"
    assert sorted(fallback["schema"]["required"]) == ["note", "score", "status"]
    assert model.json_object_models == {"gpt-4o"}
    assert [(r.status, r.attempts, r.response_format) for r in records] == [
        ("ok", 2, "json_object")
    ]


async def test_server_error_unrelated_to_the_format_is_retried_as_before(
    make_model, sleeps
) -> None:
    model = make_model()
    busy = httpx.Response(500, json={"error": {"message": "model is loading"}})
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(side_effect=[busy, ok(completion(GOOD))])
        result = await run_structured(model, messages=ASK, output_type=Verdict, agent="qa")
    assert result.output.score == 7
    assert len(sleeps.waits) == 1
    assert body_of(route.calls[1])["response_format"]["type"] == "json_schema"
    assert model.json_object_models == set()


async def test_unrelated_bad_request_reports_the_original_error(make_model) -> None:
    model = make_model()
    too_long = httpx.Response(400, json={"error": {"message": "context length exceeded"}})
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(return_value=too_long)
        with pytest.raises(ModelError, match="context length exceeded"):
            await run_structured(model, messages=ASK, output_type=Verdict, agent="qa")
    assert model.json_object_models == set()


class Lookup(BaseModel):
    metric: str


class LookupResult(BaseModel):
    value: float


def _failing_lookup(args: Lookup) -> LookupResult:
    raise KeyError(f"no metric named {args.metric}")


FAILING_TOOL = Tool("kpi_lookup", "Look up a KPI value.", Lookup, LookupResult, _failing_lookup)


async def test_tool_error_goes_back_to_the_model(make_model) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[
                ok(completion(tool_calls=[("kpi_lookup", {"metric": "mrr"})])),
                ok(completion(GOOD)),
            ]
        )
        result = await run_structured(
            make_model(), messages=ASK, output_type=Verdict, agent="qa", tools=[FAILING_TOOL]
        )
    assert result.output.status == "PASS"
    first, second = (body_of(c) for c in route.calls)
    assert first["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "kpi_lookup",
                "description": "Look up a KPI value.",
                "parameters": Lookup.model_json_schema(),
            },
        }
    ]
    assistant, tool_reply = second["messages"][-2:]
    assert assistant["tool_calls"][0]["function"] == {
        "name": "kpi_lookup",
        "arguments": json.dumps({"metric": "mrr"}),
    }
    assert tool_reply["role"] == "tool"
    assert tool_reply["tool_call_id"] == "call_0"
    assert "no metric named mrr" in json.loads(tool_reply["content"])["error"]
    assert result.tool_calls[0].ok is False
    assert "KeyError" in (result.tool_calls[0].error or "")


async def test_refusal_names_the_agent(make_model) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(
            return_value=ok(completion(None, refusal="I can't help with that."))
        )
        with pytest.raises(ModelError) as info:
            await run_structured(make_model(), messages=ASK, output_type=Verdict, agent="legal")
    assert not isinstance(info.value, StructuredOutputError)
    assert str(info.value) == "agent legal: model refused: I can't help with that."


async def test_length_cut_off_is_repaired_once_then_fails_clearly(make_model) -> None:
    cut = completion('{"status": "PASS", "sco', finish_reason="length")
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(side_effect=[ok(cut), ok(cut)])
        with pytest.raises(StructuredOutputError) as info:
            await run_structured(
                make_model(), messages=ASK, output_type=Verdict, agent="writer", repair_rounds=1
            )
    assert route.call_count == 2
    repair = body_of(route.calls[1])["messages"][-1]
    assert repair["role"] == "user" and "shorter" in repair["content"]
    assert "output was cut off (length)" in str(info.value)
    assert str(info.value).startswith("agent writer:")


async def test_usage_and_cost_are_summed(make_model) -> None:
    records: list[CallRecord] = []
    model = make_model(on_call=records.append)
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(
            side_effect=[
                ok(completion("not json", prompt_tokens=1000, completion_tokens=200)),
                ok(completion(GOOD, prompt_tokens=1500, completion_tokens=100)),
            ]
        )
        result = await run_structured(model, messages=ASK, output_type=Verdict, agent="qa")
    usage = result.usage
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        2,
        2500,
        300,
        2800,
    )
    # gpt-4o-2024-08-06 is priced as gpt-4o: $2.50 in / $10.00 out per 1M tokens
    assert usage.cost_usd == pytest.approx(2500 * 2.5e-6 + 300 * 10e-6)
    assert usage.latency_ms > 0
    assert [r.status for r in records] == ["ok", "ok"]
    assert sum(r.usage.cost_usd for r in records) == pytest.approx(usage.cost_usd)
    assert all(r.priced and r.agent == "qa" and r.attempts == 1 for r in records)


@pytest.mark.parametrize("limit", [2, 5])
async def test_concurrency_limit_holds(make_model, limit) -> None:
    in_flight = 0
    peak = 0
    reached = asyncio.Event()
    release = asyncio.Event()

    async def hold(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= limit:
            reached.set()
        await release.wait()
        in_flight -= 1
        return ok(completion("done"))

    model = make_model(limiter=ConcurrencyLimiter(limit))
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=hold)
        tasks = [asyncio.create_task(model.complete(_request())) for _ in range(5)]
        await reached.wait()
        # give every other task the chance to get as far as it can (scheduler turns, no clock)
        for _ in range(50):
            await asyncio.sleep(0)
        blocked_peak = peak
        release.set()
        responses = await asyncio.gather(*tasks)
    assert blocked_peak == min(limit, 5)
    assert peak == min(limit, 5)
    assert [r.message.content for r in responses] == ["done"] * 5


def test_one_model_serves_several_event_loops() -> None:
    model = OpenAIChatModel(
        model="gpt-4o",
        base_url=BASE_URL,
        api_key=API_KEY,
        limiter=ConcurrencyLimiter(1),
        retry=RetryPolicy(max_attempts=1),
    )

    async def two_calls() -> list[str | None]:
        # two at once with one slot: the second waits on the limiter of this loop
        out = await asyncio.gather(model.complete(_request()), model.complete(_request()))
        return [r.message.content for r in out]

    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(return_value=ok(completion("hi")))
        assert asyncio.run(two_calls()) == ["hi", "hi"]
        assert asyncio.run(two_calls()) == ["hi", "hi"]


async def test_empty_choices_is_a_model_error(make_model) -> None:
    body = completion("x")
    body["choices"] = []
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(return_value=ok(body))
        with pytest.raises(ModelError, match="agent qa: model 'gpt-4o' returned no choices"):
            await make_model().complete(_request("qa"))


def test_repr_hides_the_key() -> None:
    model = OpenAIChatModel(model="m", base_url="http://user:pw@host/v1", api_key=API_KEY)
    assert API_KEY not in repr(model) and "pw" not in repr(model)
