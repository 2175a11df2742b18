"""The dashboard in a real headless Chromium: every pool with its numbers, no console errors."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil

import pytest
import requests

from tests.harness.service import running_pooler
from tests.helpers import make_settings, wait_for
from vmpooler.store.monitoring import MonitoringStore

ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1600,1100")
POOLS = [
    {"name": "debian-12-x86_64", "size": 3, "provider": "dummy", "template": "t/debian"},
    {"name": "centos-9-x86_64", "size": 2, "provider": "dummy", "template": "t/centos"},
    {"name": "win-2022", "size": 1, "provider": "dummy", "template": "t/win"},
]


def _require_browser() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [name for name, found in (("chromium", chromium), ("chromedriver", driver),
                                        ("selenium", importlib.util.find_spec("selenium"))) if not found]
    if not missing:
        return chromium, driver
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test; missing: {', '.join(missing)} "
                    "(.ci/run installs them)")
    pytest.skip(f"missing {', '.join(missing)} (.ci/run installs them)")


@pytest.fixture
def browser(tmp_path):
    chromium, driver_path = _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    yield driver
    driver.quit()


def table(driver) -> dict[str, dict[str, str]]:
    """The page's pool table, in page order: {pool: {field: text}}."""
    return dict(driver.execute_script("""
        return Array.from(document.querySelectorAll('#pools tbody tr'), (tr) => [
          tr.dataset.pool,
          Object.fromEntries(Array.from(tr.querySelectorAll('td[data-field]'),
                                        (td) => [td.dataset.field, td.textContent])),
        ]);
    """))


def text(driver, element_id: str) -> str:
    return driver.find_element("id", element_id).text


@pytest.mark.integration
def test_dashboard_shows_every_pool_with_its_numbers(browser, redis_url, redis_client):
    settings = make_settings(redis_url, pools=POOLS, config={"site_name": "CI pools"},
                             providers={"dummy": {"seed": 5, "createvm_max_time": 0.1}})
    with running_pooler(settings) as pooler:
        MonitoringStore(redis_client).beat_ticked()  # this harness ticks without beat
        wait_for(lambda: all(pooler.count("ready", p["name"]) == p["size"] for p in POOLS), message="pools full")
        checked_out = requests.post(pooler.url("/api/v1/vm/win-2022"), timeout=10).json()["win-2022"]["hostname"]

        browser.get(pooler.url("/dashboard/?refresh=0.5"))
        wait_for(lambda: table(browser).get("win-2022", {}).get("running") == "1", timeout=30,
                 message="the checked-out VM shown as running")
        rows = wait_for(lambda: (rows := table(browser)) and rows["win-2022"]["ready"] == "1" and rows,
                        timeout=30, message="the replacement shown as ready")
        assert list(rows) == [p["name"] for p in POOLS]
        for pool in POOLS:
            assert rows[pool["name"]]["size"] == str(pool["size"])
        assert rows["debian-12-x86_64"]["ready"] == "3" and rows["debian-12-x86_64"]["running"] == "0"
        assert float(rows["debian-12-x86_64"]["clone_average"]) > 0
        assert browser.find_element("tag name", "h1").text == "CI pools"
        assert text(browser, "capacity-total") == "6"
        assert text(browser, "queue-running") == "1"
        assert text(browser, "ondemand-requested") == "0"
        wait_for(lambda: text(browser, "health") == "healthy", timeout=10, message="health shown")
        assert browser.execute_script("return Chart.getChart('pools-chart').data.labels") == \
            [p["name"] for p in POOLS]

        ARTIFACTS.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
        assert pooler.members("running", "win-2022") == {checked_out}
