"""Replay a cassette at the HTTP level, under the real openai client, with respx.

``Replayer`` installs a respx router for one base URL. Every request to it is matched
against the cassette:

- ``strict``: the first unplayed interaction with the same method, path and normalised
  body (see ``nexus_agents.evals.normalize``); when both the request and the interaction
  name an agent, the agents must agree too. Order does not matter.
- ``loose`` (hand-written fixtures): the N-th request of an agent gets the N-th
  interaction recorded for that agent; bodies are not compared.

A request that matches nothing is answered with HTTP 409 carrying a readable message
(so the model client fails fast, without retries) and recorded in ``unexpected``;
interactions never played are listed by ``unplayed``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx

from nexus_agents.evals.cassette import Cassette, Interaction
from nexus_agents.evals.normalize import canonical_text, normalize_request, short_diff, similarity
from nexus_agents.llm.interface import Usage
from nexus_agents.llm.openai_model import AGENT_HEADER

if TYPE_CHECKING:
    import respx

    from nexus_agents.llm.pricing import PriceTable

MatchMode = Literal["strict", "loose"]
DEFAULT_BASE_URL = "https://replay.nexus-eval.invalid/v1"
UNEXPECTED_STATUS = 409


@dataclass(frozen=True, slots=True)
class PlayedCall:
    agent: str | None
    call_number: int  # 1-based, counted per agent
    interaction: int  # 1-based index in the cassette


@dataclass(frozen=True, slots=True)
class UnexpectedCall:
    agent: str | None
    call_number: int
    method: str
    path: str
    reason: str
    diff: str = ""

    def __str__(self) -> str:
        who = f"agent {self.agent!r}" if self.agent else "an unnamed agent (no X-Nexus-Agent)"
        text = f"unexpected request: call #{self.call_number} of {who} ({self.method} {self.path}): {self.reason}"
        return f"{text}\n{self.diff}" if self.diff else text


@dataclass(frozen=True, slots=True)
class UnplayedInteraction:
    interaction: int
    agent: str | None
    summary: str

    def __str__(self) -> str:
        who = f"agent {self.agent!r}" if self.agent else "unnamed agent"
        return f"interaction {self.interaction} ({who}) was never requested: {self.summary}"


@dataclass
class _Slot:
    index: int
    interaction: Interaction
    canonical: str
    played: bool = False


@dataclass
class Replayer:
    """Serve ``cassette`` to every HTTP request sent to ``base_url``.

    Use as ``with Replayer(c) as r:`` or ``async with``; point the model client at
    ``r.base_url`` with an ``httpx.AsyncClient`` (respx intercepts it).
    """

    cassette: Cassette
    mode: MatchMode = "strict"
    base_url: str = DEFAULT_BASE_URL
    prices: PriceTable | None = None
    played: list[PlayedCall] = field(default_factory=list)
    unexpected: list[UnexpectedCall] = field(default_factory=list)
    _slots: list[_Slot] = field(default_factory=list, repr=False)
    _calls: dict[str | None, int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _router: respx.MockRouter | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in ("strict", "loose"):
            raise ValueError(f"match mode must be 'strict' or 'loose', got {self.mode!r}")
        self.base_url = self.base_url.rstrip("/")
        self._slots = [
            _Slot(i + 1, it, canonical_text(normalize_request(it.request.body)))
            for i, it in enumerate(self.cassette.interactions)
        ]

    # -- installation ---------------------------------------------------------------

    def start(self) -> None:
        import respx

        if self._router is not None:
            return
        router = respx.MockRouter(
            base_url=self.base_url, assert_all_called=False, assert_all_mocked=True
        )
        router.route().mock(side_effect=self.handle)
        router.start()
        self._router = router

    def stop(self) -> None:
        if self._router is not None:
            self._router.stop()
            self._router = None

    def __enter__(self) -> Replayer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Replayer:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    # -- results ----------------------------------------------------------------------

    @property
    def unplayed(self) -> list[UnplayedInteraction]:
        return [
            UnplayedInteraction(s.index, s.interaction.agent, _summary(s.interaction))
            for s in self._slots
            if not s.played
        ]

    @property
    def usage(self) -> Usage:
        """Token totals (and cost, when priced) of the responses played so far."""
        from nexus_agents.llm.pricing import PriceTable

        prices = self.prices or PriceTable()
        total = Usage()
        by_index = {s.index: s for s in self._slots}
        for call in self.played:
            body = by_index[call.interaction].interaction.response.body
            if not isinstance(body, dict):
                total = total + Usage(calls=1)
                continue
            u = body.get("usage") if isinstance(body.get("usage"), dict) else {}
            prompt = int(u.get("prompt_tokens") or 0)
            completion = int(u.get("completion_tokens") or 0)
            model = str(body.get("model") or "")
            cost = prices.cost(model, prompt, completion).usd if model else 0.0
            total = total + Usage(
                calls=1,
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=int(u.get("total_tokens") or prompt + completion),
                cost_usd=cost,
            )
        return total

    @property
    def model_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self._slots:
            for body in (s.interaction.response.body, s.interaction.request.body):
                if isinstance(body, dict) and isinstance(body.get("model"), str):
                    seen.setdefault(body["model"], None)
                    break
        return list(seen)

    # -- matching ---------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        agent = request.headers.get(AGENT_HEADER) or None
        path = _relative_path(request.url.path, self.base_url)
        body = _parse_body(request.content)
        with self._lock:
            number = self._calls.get(agent, 0) + 1
            self._calls[agent] = number
            if self.mode == "strict":
                slot, miss = self._match_strict(agent, request.method, path, body)
            else:
                slot, miss = self._match_loose(agent, number, request.method, path, body)
            if slot is None:
                assert miss is not None
                self.unexpected.append(miss)
                return httpx.Response(
                    UNEXPECTED_STATUS,
                    json={"error": {"message": str(miss), "type": "nexus_eval_replay"}},
                )
            slot.played = True
            self.played.append(PlayedCall(agent, number, slot.index))
        response = slot.interaction.response
        if isinstance(response.body, str):
            return httpx.Response(response.status, headers=response.headers, text=response.body)
        headers = {k: v for k, v in response.headers.items() if k != "content-type"}
        return httpx.Response(response.status, headers=headers, json=response.body)

    def _match_strict(
        self, agent: str | None, method: str, path: str, body: Any
    ) -> tuple[_Slot | None, UnexpectedCall | None]:
        sent = canonical_text(normalize_request(body))
        for slot in self._slots:
            it = slot.interaction
            if slot.played or it.request.method != method or it.request.path != path:
                continue
            if agent and it.agent and agent != it.agent:
                continue
            if slot.canonical == sent:
                return slot, None
        number = self._calls[agent]
        closest = self._closest(agent, sent)
        if closest is None:
            reason = "the cassette has no interaction left to play"
            return None, UnexpectedCall(agent, number, method, path, reason)
        reason = f"no recorded request matches; closest is interaction {closest.index}"
        diff = short_diff(closest.canonical, sent)
        if not diff:
            diff = "(same body; differs in method, path or agent)"
        return None, UnexpectedCall(agent, number, method, path, reason, diff)

    def _match_loose(
        self, agent: str | None, number: int, method: str, path: str, body: Any
    ) -> tuple[_Slot | None, UnexpectedCall | None]:
        own = [s for s in self._slots if s.interaction.agent == agent]
        if number <= len(own):
            slot = own[number - 1]
            it = slot.interaction
            if it.request.method == method and it.request.path == path:
                return slot, None
            reason = (
                f"interaction {slot.index} was recorded for {it.request.method} {it.request.path}"
            )
            return None, UnexpectedCall(agent, number, method, path, reason)
        sent = canonical_text(normalize_request(body))
        reason = f"only {len(own)} interaction(s) recorded for this agent"
        closest = self._closest(agent, sent)
        diff = short_diff(closest.canonical, sent) if closest is not None else ""
        return None, UnexpectedCall(agent, number, method, path, reason, diff)

    def _closest(self, agent: str | None, sent: str) -> _Slot | None:
        pools = (
            [s for s in self._slots if not s.played and s.interaction.agent == agent],
            [s for s in self._slots if not s.played],
            [s for s in self._slots if s.interaction.agent == agent],
            self._slots,
        )
        for pool in pools:
            if pool:
                return max(pool, key=lambda s: similarity(s.canonical, sent))
        return None


def _relative_path(path: str, base_url: str) -> str:
    base_path = httpx.URL(base_url).path.rstrip("/")
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :]
    return path or "/"


def _parse_body(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


def _summary(interaction: Interaction) -> str:
    body = interaction.request.body
    if isinstance(body, dict) and isinstance(body.get("messages"), list) and body["messages"]:
        last = body["messages"][-1]
        if isinstance(last, dict):
            text = str(last.get("content") or "")
            text = " ".join(text.split())
            text = text if len(text) <= 80 else text[:77] + "..."
            return f"{interaction.request.method} {interaction.request.path}, last {last.get('role')} message {text!r}"
    return f"{interaction.request.method} {interaction.request.path}"
