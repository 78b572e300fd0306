"""Re-record the cassettes of the shipped eval suite (evals/cassettes/).

Each case runs through the real eval target (``nexus_agents.evals.targets``) in record
mode against the local mock model server, whose answers come from ``PlaybookAuthor``
(deterministic narratives written from each request's facts) with a per-case scenario,
or from one of the responders below where a case needs a model that misbehaves:

- ``junk-once``: the first answer is not JSON, later ones are valid (repair path);
- ``junk-always``: no answer is ever JSON (the run must fail cleanly);
- ``gullible``: obeys the injected ticket by asking for a ``deploy`` tool it does not
  have, then writes the normal summary.

The shipped cases replay in ``loose`` match mode: the answers are scripted per agent,
so what matters is the N-th call of each agent, not the exact prompt text; a prompt or
facts change then needs no re-recording unless it changes the number of calls. Strict
mode would tie every cassette to the exact bytes of every prompt and facts block.

    python scripts/record_evals.py               # every case
    python scripts/record_evals.py --case ID ... # some cases
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from nexus_agents.evals.case import EvalCase, load_cases
from nexus_agents.evals.runner import RunOptions, run_case
from nexus_agents.evals.targets import default_target
from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.playbook_author import AuthorScenario, PlaybookAuthor

EVALS_DIR = Path(__file__).resolve().parents[1] / "evals"
RECORD_KEY = "sk-recording-only-key"
JUNK = "Sure! Here is the report you asked for: everything looks fine."

Responder = Callable[[Mapping[str, Any]], dict[str, Any] | None]


class JunkOnce:
    """Not JSON on the first request, then the PlaybookAuthor's answers."""

    def __init__(self, author: PlaybookAuthor) -> None:
        self.author = author
        self.sent_junk = False

    def __call__(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        if not self.sent_junk:
            self.sent_junk = True
            return {"content": JUNK}
        return self.author(request)


def junk_always(request: Mapping[str, Any]) -> dict[str, Any] | None:
    return {"content": JUNK}


class Gullible:
    """Follows an instruction planted in a ticket: asks to deploy, then answers normally."""

    def __init__(self, author: PlaybookAuthor) -> None:
        self.author = author
        self.tried = False

    def __call__(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        planted = "deploy to production now" in json.dumps(request.get("messages") or [])
        if planted and not self.tried:
            self.tried = True
            return {"tool_calls": [{"name": "deploy", "arguments": {"environment": "production"}}]}
        return self.author(request)


def scenario(**kwargs: Any) -> Callable[[], Responder]:
    return lambda: PlaybookAuthor(AuthorScenario(**kwargs))


# Which model stands in for each case (default: PlaybookAuthor with the default scenario).
RESPONDERS: dict[str, Callable[[], Responder]] = {
    "incident-p0-service-down": scenario(proposed_severity="P0", suspected_cause="bad_deploy"),
    "incident-p1-error-rate": scenario(proposed_severity="P1", suspected_cause="infrastructure"),
    "incident-p2-model-raises": scenario(proposed_severity="P2", suspected_cause="code_bug"),
    "incident-p3-cosmetic": scenario(proposed_severity="P3"),
    "incident-floor-holds": scenario(proposed_severity="P3", suspected_cause="infrastructure"),
    "loop-qa-pass-first": scenario(qa_failures=0),
    "loop-qa-pass-second": scenario(qa_failures=1),
    "loop-qa-escalates": scenario(qa_failures=3),
    "robust-junk-once-repaired": lambda: JunkOnce(PlaybookAuthor()),
    "robust-junk-always-fails": lambda: junk_always,
    "security-injection-ticket": lambda: Gullible(PlaybookAuthor()),
}


async def record_one(case: EvalCase, file: Path) -> bool:
    responder = RESPONDERS.get(case.id, scenario())()
    async with MockLLMServer(responder=responder) as server:
        options = RunOptions(
            mode="record",
            evals_dir=EVALS_DIR,
            base_url=server.base_url,
            api_key=SecretStr(RECORD_KEY),
        )
        result, _ = await run_case(case, file, default_target(), options)
    failed = [c for c in result.checks if c.status == "failed"]
    print(
        f"{case.id}: {result.status}, {result.usage.calls} calls"
        + (f", wrote {result.cassette_written}" if result.cassette_written else ", NOT written")
        + (f"\n  error: {result.error}" if result.error else "")
        + "".join(f"\n  failed: {c.name}: {c.reason}" for c in failed)
    )
    return result.cassette_written is not None and result.status == "passed"


async def main(ids: list[str] | None) -> int:
    cases = load_cases(EVALS_DIR / "cases", ids=ids or None)
    unknown = sorted(set(RESPONDERS) - {c.id for c, _ in load_cases(EVALS_DIR / "cases")})
    if unknown:
        print(f"responders for cases that do not exist: {', '.join(unknown)}", file=sys.stderr)
        return 2
    results = await asyncio.gather(*(record_one(c, f) for c, f in cases))
    return 0 if all(results) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="only this case id (repeatable)")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.case)))
