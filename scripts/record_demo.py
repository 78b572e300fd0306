"""Re-record the demo's model responses (nexus_agents/demo/improvement_loop.cassette.yaml).

The responses come from ``PlaybookAuthor`` (a deterministic stand-in that writes
narratives from the facts of each request) served by the local mock server, so the
recording needs no model endpoint. Run after changing prompts, artifacts or the loop:

    python scripts/record_demo.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from nexus_agents.api import Nexus
from nexus_agents.config import load_config
from nexus_agents.data.demo import generate_demo
from nexus_agents.demo import DEMO_MODEL, cassette_path
from nexus_agents.evals.record import Recorder
from nexus_agents.llm.factory import build_chat_model
from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

RECORD_KEY = "sk-recording-only"


async def record(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "demo"
        generate_demo(workspace, seed=7)
        async with MockLLMServer(responder=PlaybookAuthor()) as server:
            config = load_config(
                workspace,
                env={"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": RECORD_KEY},
                overrides={"llm.model": DEMO_MODEL},
            )
            recorder = Recorder(server.base_url, api_key=RECORD_KEY)
            nx = Nexus(config, model=build_chat_model(config, http_client=recorder.http_client()))
            result = await nx.arun_loop_iteration()
            while result.status == "waiting_approval":
                result = await nx.aresume(result.run_id, "approve", "recording")
            if result.status != "succeeded":
                raise SystemExit(f"recording run ended {result.status}: {result.error}")
            recorder.save(target)
            print(f"recorded {len(recorder.interactions)} model calls into {target}")


if __name__ == "__main__":
    asyncio.run(record(cassette_path()))
