"""The page's Timeline card in a real headless Chromium against a real daemon: a lane per job
(paused and disabled ones saying so), a bar for a run that happened (its <title> naming job,
status, start and duration; a click opens its log, through the ``fs:open-log`` event when a
listener takes it), marks for rows that never ran (blocked drawn apart), the now line, ticks of
the next fire times and a dependent's deadlines; at phone width the chart scrolls inside the card,
never the page. Screenshots: test-artifacts/timeline-desktop.png (1280 px) and
timeline-phone.png (390 px). Fixtures as in test_web_dashboard.py (skipped without Chromium
unless ``BROWSER_REQUIRED=1``)."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from fund_common.clock import utcnow
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from tests.e2e.test_web_dashboard import ARTIFACTS, _get, _wait, browser, served  # noqa: F401
from tests.support.harness import FAR_AWAY, PY, wait_for

pytestmark = pytest.mark.e2e

with contextlib.suppress(ImportError):  # without selenium the browser fixture skips
    from selenium.webdriver.common.by import By

TOKEN = "timeline-test-token-8d2e"
RUNS: dict[str, int] = {}
#: The chart is as wide as its box, or 48 h at 14 px an hour when the box is narrower.
DRAWN_FOR_ITS_BOX = (
    "const s = document.getElementById('timeline-scroll');"
    " return Number(s.querySelector('svg').getAttribute('width')) === Math.max(s.clientWidth, 672)"
)  # what the daemon fixture recorded: name -> execution id


def _post(url: str) -> dict:
    request = urllib.request.Request(
        url,
        data=b"{}",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def daemon(browser):  # noqa: F811
    """A started daemon (SQLite) with a job that ran once (successfully), a dependent whose
    hourly deadlines are ahead and which was blocked two hours ago, a missed fire time and a
    paused job; yields its base URL."""
    jobs = f"""
            [jobs.tl_probe]
            cron = "{FAR_AWAY}"
            command = ["{PY}", "-c", "print('timeline probe ran')"]
            [jobs.tl_after]
            cron = "15 * * * *"
            after = ["tl_probe"]
            command = ["{PY}", "-c", "print('after')"]
            [jobs.tl_paused]
            cron = "*/20 * * * *"
            command = ["{PY}", "-c", "print('paused')"]
        """
    env = {
        "SCHEDULER_API_TOKEN": TOKEN,
        "SCHEDULER_RUN_ON_FIRST_START": "false",
        "SCHEDULER_TIMEZONE": "Asia/Shanghai",
    }
    with served(jobs, env) as (base, home):
        _post(f"{base}/api/jobs/tl_paused/pause")
        RUNS["probe"] = _post(f"{base}/api/jobs/tl_probe/run")["execution_id"]

        def probe_done() -> bool:
            status, body = _get(f"{base}/api/executions/{RUNS['probe']}")
            return status == 200 and json.loads(body)["status"] == "success"

        wait_for(probe_done, 20, "the probe's run to succeed")
        engine = make_engine(home.database_url)
        now = utcnow()
        try:
            blocked_at = now - timedelta(hours=2)
            RUNS["blocked"] = history.record(
                engine,
                "tl_after",
                "blocked",
                scheduled_run_time=blocked_at,
                now=blocked_at,
                error="waiting for tl_probe: not run yet",
                run_date=date.today(),
            )
            missed_at = now - timedelta(hours=5)
            RUNS["missed"] = history.record(
                engine, "tl_paused", "missed", scheduled_run_time=missed_at, now=now - timedelta(hours=1)
            )
        finally:
            engine.dispose()
        yield base


@pytest.fixture
def page(browser, daemon):  # noqa: F811
    browser.set_window_size(1280, 900)
    browser.get(daemon + "/")
    _wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#timeline[data-state="ready"]'), "the timeline"
    )
    return browser


def _lane(driver, job_id: str):
    return driver.find_element(By.CSS_SELECTOR, f'#timeline-scroll g.tl-lane[data-job-id="{job_id}"]')


def _section_screenshot(driver, name: str) -> Path:
    """Save the Timeline card as it is now under test-artifacts/; print its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    section = driver.find_element(By.ID, "timeline-section")
    driver.execute_script("arguments[0].scrollIntoView()", section)
    assert section.screenshot(str(path)), path
    print(f"screenshot: {path}")
    return path


def test_the_timeline_draws_lanes_runs_marks_ticks_and_now(page, daemon):
    labels = {
        node.get_attribute("data-job-id"): node
        for node in page.find_elements(By.CSS_SELECTOR, "#timeline-labels .tl-label")
    }
    assert {"tl_probe", "tl_after", "tl_paused", "weekly_pipeline", "fund_nav_freshness"} <= set(labels)
    lanes = {node.get_attribute("data-job-id") for node in page.find_elements(By.CSS_SELECTOR, "g.tl-lane")}
    assert lanes == set(labels)
    assert labels["tl_paused"].get_attribute("data-state") == "paused" and labels["tl_paused"].text.endswith(
        "paused"
    )
    assert labels["weekly_pipeline"].get_attribute("data-state") == "disabled"
    assert "disabled" in labels["weekly_pipeline"].text
    assert labels["tl_probe"].get_attribute("data-state") == "active"

    # The run that happened: a bar coloured by its tone, its title saying what it was.
    bar = _lane(page, "tl_probe").find_element(
        By.CSS_SELECTOR, f'rect.tl-run[data-execution-id="{RUNS["probe"]}"]'
    )
    assert "tone-ok" in bar.get_attribute("class").split() and bar.get_attribute("data-status") == "success"
    title = bar.find_element(By.TAG_NAME, "title").get_attribute("textContent")
    assert title.startswith("tl_probe: success\nstarted ") and "\nduration " in title, title
    assert float(bar.get_attribute("width")) >= 3

    # Rows that never ran are marks; blocked drawn apart, the missed one at its fire time.
    blocked = _lane(page, "tl_after").find_element(
        By.CSS_SELECTOR, f'g.tl-mark[data-execution-id="{RUNS["blocked"]}"]'
    )
    assert "tl-mark-blocked" in blocked.get_attribute("class").split()
    assert blocked.find_elements(By.CSS_SELECTOR, "circle.tl-blocked-ring")
    assert "waiting for tl_probe" in blocked.find_element(By.TAG_NAME, "title").get_attribute("textContent")
    missed = _lane(page, "tl_paused").find_element(
        By.CSS_SELECTOR, f'g.tl-mark[data-execution-id="{RUNS["missed"]}"]'
    )
    assert missed.find_elements(By.CSS_SELECTOR, "path.tl-diamond")
    now_x = float(page.find_element(By.CSS_SELECTOR, "line.tl-now").get_attribute("x1"))
    width = float(page.find_element(By.CSS_SELECTOR, "svg.tl-svg").get_attribute("width"))
    assert abs(now_x - width / 2) < 2  # now in the middle of the 48 h
    missed_x = float(missed.get_attribute("transform").removeprefix("translate(").split(",")[0])
    assert abs(missed_x - width * (24 - 5) / 48) < 3  # at its fire time, 5 h ago, not when recorded
    assert page.find_element(By.CSS_SELECTOR, "text.tl-now-label").text == "now"

    # Ticks of the next fire times: every 10 minutes for the freshness check, none for the paused
    # job; the dependent's hourly cron times are deadlines.
    ticks = _lane(page, "fund_nav_freshness").find_elements(By.CSS_SELECTOR, "line.tl-tick")
    assert len(ticks) == 144
    assert all(float(t.get_attribute("x1")) > now_x for t in ticks[:5])
    assert ticks[0].find_element(By.TAG_NAME, "title").get_attribute("textContent").startswith("next run ")
    assert not _lane(page, "tl_paused").find_elements(By.CSS_SELECTOR, "line.tl-tick")
    deadlines = _lane(page, "tl_after").find_elements(By.CSS_SELECTOR, "g.tl-deadline")
    assert len(deadlines) == 24 and not _lane(page, "tl_after").find_elements(By.CSS_SELECTOR, "line.tl-tick")
    hours = [t.text for t in page.find_elements(By.CSS_SELECTOR, "text.tl-hour")]
    assert hours and all(len(h) == 5 for h in hours), hours  # HH:00, or MM-DD at midnight
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        _wait(page, lambda d: d.execute_script("return window.innerWidth") == 1280, "1280 px viewport")
        _wait(page, lambda d: d.execute_script(DRAWN_FOR_ITS_BOX), "the chart drawn for its box")
        _section_screenshot(page, "timeline-desktop.png")
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_clicking_a_run_opens_its_log(page):
    bar_css = f'#timeline-scroll rect.tl-run[data-execution-id="{RUNS["probe"]}"]'
    page.find_element(By.CSS_SELECTOR, bar_css).click()
    runlog = page.find_element(By.ID, "runlog")
    _wait(page, lambda d: runlog.is_displayed(), "the log panel")
    assert runlog.get_attribute("data-execution-id") == str(RUNS["probe"])
    _wait(page, lambda d: "timeline probe ran" in d.find_element(By.ID, "runlog-text").text, "the log text")
    page.find_element(By.ID, "runlog-close").click()
    _wait(page, lambda d: not runlog.is_displayed(), "the log closed")
    # By keyboard too: the bar sends fs:open-log, which runlog.js (and any listener) takes.
    page.execute_script(
        "window.__opened = [];"
        "document.addEventListener('fs:open-log', (e) => window.__opened.push(e.detail.executionId));"
    )
    bar = page.find_element(By.CSS_SELECTOR, bar_css)
    page.execute_script("arguments[0].focus()", bar)
    bar.send_keys("\n")
    assert page.execute_script("return window.__opened") == [str(RUNS["probe"])]
    _wait(page, lambda d: runlog.is_displayed(), "the log panel, opened by keyboard")
    page.find_element(By.ID, "runlog-close").click()


def test_at_phone_width_the_timeline_scrolls_inside_its_card(page):
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        _wait(page, lambda d: d.execute_script("return window.innerWidth") == 390, "390 px viewport")
        _wait(
            page,
            lambda d: d.execute_script(
                "const s = document.getElementById('timeline-scroll');"
                " return s.scrollWidth > s.clientWidth && s.scrollLeft > 0"
            ),
            "the chart wider than its box, scrolled to now",
        )
        body, document, viewport, inner, outer, left = page.execute_script(
            "const s = document.getElementById('timeline-scroll');"
            "return [document.body.scrollWidth, document.documentElement.scrollWidth, window.innerWidth,"
            " s.scrollWidth, s.clientWidth, s.scrollLeft]"
        )
        assert body <= viewport and document <= viewport, (body, document, viewport)
        assert inner > outer and left > 0  # the chart scrolls inside, now in view
        section = page.find_element(By.ID, "timeline-section").rect
        assert section["x"] >= 0 and section["x"] + section["width"] <= viewport
        _wait(page, lambda d: d.execute_script(DRAWN_FOR_ITS_BOX), "the chart drawn for its box")
        _section_screenshot(page, "timeline-phone.png")
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
