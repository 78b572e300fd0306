"""The mock server at the HTTP level: routes, bounds, concurrency and lifecycle."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from nexus_agents.testing import FAULT_NAMES, MockLLMServer

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


async def test_models_route_and_unknown_paths(server: MockLLMServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        models = await http.get("/models")
        missing = await http.get("/nope")
        wrong_method = await http.get("/chat/completions")
    assert models.status_code == 200
    assert [m["id"] for m in models.json()["data"]] == ["mock-model"]
    assert missing.status_code == 404
    assert wrong_method.status_code == 405
    assert server.stats.other_requests == 3
    assert server.stats.requests == 0


async def test_body_that_is_not_a_json_object_is_a_400(server: MockLLMServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        broken = await http.post("/chat/completions", content=b"{not json")
        listed = await http.post("/chat/completions", json=[1, 2])
    assert broken.status_code == listed.status_code == 400
    assert "JSON object" in broken.json()["error"]["message"]


async def test_reset_is_a_remote_protocol_error_for_httpx() -> None:
    async with (
        MockLLMServer(faults=lambda n: "reset" if n % 2 == 0 else None) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        assert (await http.post("/chat/completions", json=CHAT)).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/chat/completions", json=CHAT)
        assert (await http.post("/chat/completions", json=CHAT)).status_code == 200
    assert server.stats.faults == {"reset": 1}
    assert [r.fault for r in server.requests] == [None, "reset", None]


async def test_concurrency_is_counted() -> None:
    parallel = 12
    arrived = 0
    all_in: asyncio.Event | None = None

    async def responder(request: dict[str, Any]) -> None:
        # runs on the server's loop: hold every request until all of them are in flight
        nonlocal arrived, all_in
        all_in = all_in or asyncio.Event()
        arrived += 1
        if arrived == parallel:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), timeout=10)

    async with (
        MockLLMServer(responder=responder) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        replies = await asyncio.gather(
            *(http.post("/chat/completions", json=CHAT) for _ in range(parallel))
        )
        stats = server.stats
    assert [r.status_code for r in replies] == [200] * parallel
    assert stats.peak_concurrency == parallel
    assert stats.in_flight == 0
    assert stats.requests == parallel


async def test_max_requests_bound_answers_503_and_stops_counting() -> None:
    async with (
        MockLLMServer(max_requests=3) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        codes = [(await http.post("/chat/completions", json=CHAT)).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 503, 503]
    assert server.stats.requests == 3
    assert server.stats.rejected == 2
    assert len(server.requests) == 3


async def test_many_concurrent_keep_alive_connections() -> None:
    """250 sockets open at once, each sending two requests on the same connection."""
    body = json.dumps(CHAT).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    async def read_reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        status_line, _, rest = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in rest.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        return int(status_line.split()[1]), await reader.readexactly(length)

    async with MockLLMServer(latency_s=0.05) as server:
        connections = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(250)]

        async def two_requests(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> list[int]:
            codes = []
            for _ in range(2):
                writer.write(head + body)
                status, payload = await read_reply(reader)
                assert json.loads(payload)["choices"][0]["message"]["content"]
                codes.append(status)
            writer.close()
            return codes

        results = await asyncio.gather(*(two_requests(r, w) for r, w in connections))
        stats = server.stats
    assert all(codes == [200, 200] for codes in results)
    assert stats.requests == 500
    assert stats.connections == 250
    assert stats.peak_concurrency > 1


async def test_keep_alive_reuses_one_connection(server: MockLLMServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for _ in range(5):
            assert (await http.post("/chat/completions", json=CHAT)).status_code == 200
    assert server.stats.connections == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "localhost", "::1", "192.168.1.10", ""])
def test_only_loopback_ipv4_is_accepted(host: str) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        MockLLMServer(host=host)


def test_unknown_fault_names_are_refused_up_front() -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        MockLLMServer(faults=["rate-limit"])
    with pytest.raises(ValueError, match="1-based"):
        MockLLMServer(faults={0: "reset"})
    assert "schema_invalid" in FAULT_NAMES


def test_responder_errors_are_reported_as_500() -> None:
    def responder(request: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("no script step left")

    with MockLLMServer(responder=responder) as server:
        reply = httpx.post(f"{server.base_url}/chat/completions", json=CHAT)
    assert reply.status_code == 500
    assert "no script step left" in reply.json()["error"]["message"]


def test_sync_context_manager_and_stop() -> None:
    with MockLLMServer() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert httpx.post(f"{server.base_url}/chat/completions", json=CHAT).status_code == 200
        assert server.stats.running
    assert server.wait_stopped(timeout=10)
    assert not server.stats.running
    assert server.stats.stopped_reason == "stopped"
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{server.base_url}/chat/completions", json=CHAT)


def test_max_lifetime_stops_the_server_by_itself() -> None:
    server = MockLLMServer(max_lifetime_s=0.2).start()
    try:
        assert server.wait_stopped(timeout=10)
        assert server.stats.stopped_reason == "max_lifetime"
    finally:
        server.stop()


def test_module_entry_serves_a_subprocess_client() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nexus_agents.testing.mock_server",
            "--port",
            "0",
            "--latency-ms",
            "5",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        reply = httpx.post(f"{base_url}/chat/completions", json=CHAT, timeout=10)
        assert reply.status_code == 200
        assert reply.json()["usage"]["prompt_tokens"] == 2  # "hello" -> ceil(5 / 4)
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


async def test_unsatisfiable_schema_is_a_500_naming_the_field(server: MockLLMServer) -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{9}$"}}}
    request = {
        **CHAT,
        "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
    }
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        reply = await http.post("/chat/completions", json=request)
    assert reply.status_code == 500
    assert reply.json()["error"]["message"].startswith("$.code:")


def test_public_names_are_pinned() -> None:
    import nexus_agents.testing as testing

    for name in testing.__all__:
        assert getattr(testing, name) is not None

    assert sorted(testing.__all__) == [
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
    assert set(FAULT_NAMES) == {
        "rate_limit", "server_error", "slow", "reset",
        "invalid_json", "schema_invalid", "refusal", "length",
    }  # fmt: skip
