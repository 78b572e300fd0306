"""Take the README's dashboard screenshots (docs/dashboard-kpis.png, docs/dashboard-run.png).

    python scripts/dashboard_screenshots.py [--out docs]

Builds the demo workspace (seed 7) in a temporary folder, runs one improvement-loop
iteration on the local mock model (approved at its deploy gate by "Sam Producer") and one
incident that waits for its decision, serves the dashboard on 127.0.0.1 and photographs
the KPI page and the loop's run page with headless Debian chromium (selenium +
chromium-driver). Needs the web and test extras.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "web")]


async def _runs(nx: object) -> str:
    from web_helpers import waiting_run

    result = await nx.arun_loop_iteration()  # type: ignore[attr-defined]
    while result.status == "waiting_approval" and result.pending is not None:
        result = await nx.aresume(result.run_id, "approve", "numbers checked", decided_by="Sam Producer")  # type: ignore[attr-defined]
    await waiting_run(nx)  # type: ignore[arg-type]
    await nx.aclose()  # type: ignore[attr-defined]
    return str(result.run_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    from live_server import serving
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from web_helpers import nexus_on

    from nexus_agents.data.demo import generate_demo
    from nexus_agents.testing.mock_server import MockLLMServer
    from nexus_agents.testing.playbook_author import PlaybookAuthor

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, MockLLMServer(responder=PlaybookAuthor()) as model:
        workspace = Path(tmp) / "demo"
        generate_demo(workspace, seed=7)
        run_id = asyncio.run(_runs(nexus_on(workspace, model)))
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1280,900", "--force-device-scale-factor=1"):
            options.add_argument(arg)
        with serving(nexus_on(workspace, model)) as base:
            driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
            try:
                for path, name, height in ((
                    "/kpis", "dashboard-kpis.png", 1060), (f"/runs/{run_id}", "dashboard-run.png", 1100)):
                    driver.set_window_size(1280, height)
                    driver.get(base + path)
                    driver.save_screenshot(str(args.out / name))
                    print(args.out / name)
            finally:
                driver.quit()


if __name__ == "__main__":
    main()
