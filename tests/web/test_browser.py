"""The dashboard in a real browser: Debian's chromium, headless, driven by selenium through
chromium-driver. Skips where either is missing (.ci/run installs them when it can)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from web_helpers import nexus_on, waiting_run

pytest.importorskip("selenium", reason="selenium (the test extra) is not installed")
pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")

from live_server import serving
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor
from nexus_agents.tools.kpis import KPIS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


def _browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(120)
    return driver


async def _prepare(nx: object) -> str:
    run_id = await waiting_run(nx)  # type: ignore[arg-type]
    await nx.aclose()  # type: ignore[attr-defined]
    return run_id


@pytest.mark.slow
def test_kpi_charts_drawn_and_a_run_approved_in_the_browser(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as model:
        run_id = asyncio.run(_prepare(nexus_on(workspace, model)))
        with serving(nexus_on(workspace, model)) as base:
            driver = _browser()
            try:
                driver.get(f"{base}/kpis")
                charts = driver.find_elements(By.CSS_SELECTOR, "svg.kpi-chart")
                assert len(charts) == len(KPIS)
                for chart in charts:
                    series = chart.find_elements(By.CSS_SELECTOR, "g.series")
                    assert [s.get_attribute("data-series") for s in series] == ["target", "value"]
                    assert chart.size["width"] > 100 and chart.size["height"] > 50  # laid out
                drawn = driver.execute_script(
                    "return Array.from(document.querySelectorAll('svg.kpi-chart g.series-value'))"
                    ".map(g => g.getBBox().width)"
                )
                assert sum(1 for width in drawn if width > 0) >= len(KPIS) - 2  # lines drawn

                driver.get(f"{base}/approvals")
                section = driver.find_element(By.CSS_SELECTOR, f'section[data-run="{run_id}"]')
                section.find_element(By.NAME, "decided_by").send_keys("Dana On-call")
                section.find_element(By.NAME, "note").send_keys("<b>verified</b> on staging")
                section.find_element(By.CSS_SELECTOR, 'button[value="approve"]').click()

                WebDriverWait(driver, 120).until(
                    lambda d: d.find_elements(By.ID, "run-status")
                    and d.find_element(By.ID, "run-status").text == "succeeded"
                )
                assert driver.find_element(By.CSS_SELECTOR, "td.decided-by").text == "Dana On-call"
                assert driver.find_element(By.CSS_SELECTOR, "td.note").text == "<b>verified</b> on staging"
                driver.get(f"{base}/approvals")
                assert not driver.find_elements(By.CSS_SELECTOR, f'section[data-run="{run_id}"]')
            finally:
                driver.quit()
