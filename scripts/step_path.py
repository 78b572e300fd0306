"""The call path of one agent step, as a newcomer follows it: which nexus functions lie
between the command line and LangGraph, and between a LangGraph node and the HTTP request
to the model.

Runs ``nexus demo`` in a temporary folder (replayed model answers, no network) with two
spies: one at LangGraph's ``Pregel.ainvoke`` (the run entering the graph) and one at the
openai client's ``request`` (the first agent step calling the model). Prints the nexus
frames on each path, their count and the files and packages they sit in.

    python scripts/step_path.py [--json]
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

PACKAGE = "nexus_agents"


def _nexus_frames(stack: list[traceback.FrameSummary]) -> list[traceback.FrameSummary]:
    return [f for f in stack if f"/{PACKAGE}/" in f.filename]


def _describe(frames: list[traceback.FrameSummary]) -> dict[str, Any]:
    where = [f.filename.split(f"/{PACKAGE}/")[-1] for f in frames]
    return {
        "frames": [f"{w}:{f.lineno} {f.name}" for w, f in zip(where, frames, strict=True)],
        "hops": len(frames),
        "files": len(set(where)),
        "packages": len({w.split("/")[0] if "/" in w else "(top)" for w in where}),
    }


def measure() -> dict[str, Any]:
    import openai._base_client as base_client
    from langgraph.pregel import Pregel

    from nexus_agents.cli import main as cli

    seen: dict[str, list[traceback.FrameSummary]] = {}
    invoke, request = Pregel.ainvoke, base_client.AsyncAPIClient.request

    async def spy_invoke(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.setdefault("cli_to_graph", _nexus_frames(traceback.extract_stack()[:-1]))
        return await invoke(self, *args, **kwargs)

    async def spy_request(self: Any, *args: Any, **kwargs: Any) -> Any:
        # LangGraph runs a node as a task of its own: its stack starts where the asyncio
        # runner of the command resumed it; the node's frames follow LangGraph's last one
        stack = traceback.extract_stack()[:-1]
        last = max(i for i, f in enumerate(stack) if "/langgraph/" in f.filename)
        seen.setdefault("node_to_http", _nexus_frames(stack[last + 1 :]))
        return await request(self, *args, **kwargs)

    Pregel.ainvoke = spy_invoke  # type: ignore[method-assign]
    base_client.AsyncAPIClient.request = spy_request  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            argv, sys.argv = sys.argv, ["nexus", "demo", "--dir", str(Path(tmp) / "demo")]
            try:
                cli.run()  # what the installed `nexus` console script calls
            except SystemExit:
                pass
            finally:
                sys.argv = argv
    finally:
        Pregel.ainvoke = invoke  # type: ignore[method-assign]
        base_client.AsyncAPIClient.request = request  # type: ignore[method-assign]
    return {name: _describe(frames) for name, frames in seen.items()}


def main() -> None:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        paths = measure()
    if "--json" in sys.argv:
        print(json.dumps(paths, indent=2))
        return
    for name, path in paths.items():
        print(f"{name}: {path['hops']} hops in {path['files']} files, {path['packages']} packages")
        for frame in path["frames"]:
            print(f"  {frame}")


if __name__ == "__main__":
    main()
