"""The dashboard page in a real headless Chromium, against a real daemon on a free port.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package; without them
the tests are skipped, unless ``BROWSER_REQUIRED=1`` (set by ``.ci/run``), which makes them fail.
Screenshots (laptop and phone width) are written to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fund_scheduler.store import checks
from fund_scheduler.store.engine import make_engine
from fund_scheduler.store.jobstore import scheduler_jobs_rejected
from tests.support.bundled import BUNDLED
from tests.support.harness import FAR_AWAY, PROJECT, PY, SchedulerHome, wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = PROJECT / "test-artifacts"
TOKEN = "web-test-token-1f6c"
PROBE = "web_probe"
PROBE_NAME = "<b>probe</b> & co"  # must show as text, never as markup
WAIT = 20  # seconds: the upper bound of any single wait on the page

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - depends on the environment
    webdriver = None


def _missing_browser() -> str | None:
    if webdriver is None:
        return "selenium is not installed (pip install -r requirements-dev.txt)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} not found (apt-get install {package})"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@contextlib.contextmanager
def serving(jobs: str, token: str) -> Iterator[str]:
    """A real daemon (a home of its own) with ``jobs`` (jobs.toml text), the API token ``token``
    and HTTP on a free port; its base URL while the block runs, stopped after."""
    with served(jobs, {"SCHEDULER_API_TOKEN": token}) as (base, _home):
        yield base


@contextlib.contextmanager
def served(jobs: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, SchedulerHome]]:
    """A started daemon in a home of its own with ``jobs`` (jobs.toml text), ``env`` and HTTP on
    a free port: (its base URL, its home) while the block runs, stopped after."""
    port = _free_port()
    with SchedulerHome.create(extra_env={"SCHEDULER_HTTP_PORT": str(port), **(env or {})}) as home:
        home.write_jobs(jobs)
        started = home.cli("start")
        assert started.returncode == 0, started.stdout + started.stderr
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _get(f"{base}/api/jobs")[0] == 200, 15, "HTTP API up")
        try:
            yield base, home
        finally:
            home.cli("stop", "--timeout", "5")


@contextlib.contextmanager
def chromium(languages: str = "en-US,en") -> Iterator[Any]:
    """A headless Chromium asking for ``languages`` (its Accept-Language), in a zone other than the
    jobs' (America/New_York: next runs must still show in each job's zone); skipped (failed with
    ``BROWSER_REQUIRED=1``) without the browser."""
    missing = _missing_browser()
    if missing:
        if os.environ.get("BROWSER_REQUIRED") == "1":
            pytest.fail(f"BROWSER_REQUIRED=1 but {missing}")
        pytest.skip(missing)
    profile = tempfile.mkdtemp(prefix="fsh-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1366,900",
        f"--lang={languages.split(',')[0]}",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": languages})
    service = Service(str(CHROMEDRIVER), env={**os.environ, "TZ": "America/New_York"})
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    """The page follows the browser's Accept-Language: these tests read English whatever the
    machine's locale (tests/e2e/test_web_languages.py asks for 中文 on purpose)."""
    with chromium("en-US,en") as driver:
        yield driver


HOMES: dict[str, SchedulerHome] = {}  # the daemon fixture's home, by its base URL


@pytest.fixture(scope="module")
def daemon(browser, module_database_url):
    """A started daemon with the HTTP server on a free port; yields its base URL."""
    port = _free_port()
    with SchedulerHome.create(
        database_url=module_database_url,
        extra_env={
            "SCHEDULER_HTTP_HOST": "127.0.0.1",
            "SCHEDULER_HTTP_PORT": str(port),
            "SCHEDULER_API_TOKEN": TOKEN,
            "SCHEDULER_RUN_ON_FIRST_START": "false",
            "SCHEDULER_TIMEZONE": "Asia/Shanghai",
        },
    ) as home:
        home.write_jobs(f"""
            [jobs.{PROBE}]
            name = "{PROBE_NAME}"
            cron = "{FAR_AWAY}"
            command = ["{PY}", "-c", "print('<i>hello</i> from {PROBE}')"]
        """)
        started = home.cli("start")
        assert started.returncode == 0, started.stdout + started.stderr
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _get(f"{base}/api/jobs")[0] == 200, 15, "HTTP API up")
        HOMES[base] = home
        yield base
        home.cli("stop", "--timeout", "5")


@pytest.fixture
def page(browser, daemon):
    """The dashboard at laptop size with a fresh session (no token), jobs rendered."""
    browser.set_window_size(1366, 900)
    browser.get(daemon + "/")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'#jobs tr[data-job-id="{PROBE}"]'), "jobs")
    return browser


def _wait(driver, predicate, what: str, timeout: float = WAIT):
    return WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    ).until(predicate, f"timed out after {timeout}s waiting for: {what}")


def _attr(driver, css: str, name: str) -> str | None:
    return driver.find_element(By.CSS_SELECTOR, css).get_attribute(name)


def _job_button(driver, job_id: str, action: str):
    return driver.find_element(
        By.CSS_SELECTOR, f'#jobs tr[data-job-id="{job_id}"] button[data-action="{action}"]'
    )


def _execution_ids(driver) -> set[str]:
    return {
        tr.get_attribute("data-execution-id")
        for tr in driver.find_elements(By.CSS_SELECTOR, "#executions tr[data-execution-id]")
    }


def _enter_token(driver, token: str) -> None:
    form = _wait(driver, lambda d: d.find_element(By.ID, "token-form").is_displayed(), "token form")
    assert form
    field = driver.find_element(By.ID, "token-input")
    field.clear()
    field.send_keys(token)
    driver.find_element(By.ID, "token-submit").click()


def _screenshot(driver, name: str, width: int, mobile: bool = False) -> Path:
    """Save a screenshot of the whole page at ``width`` CSS px under test-artifacts/; print its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    metrics = {"width": width, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": 800})
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": min(height, 5000)})
    try:
        assert driver.save_screenshot(str(path)), path
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    print(f"screenshot: {path}")
    return path


def test_page_lists_every_job_with_status_and_health(page, daemon):
    rows = page.find_elements(By.CSS_SELECTOR, "#jobs tr[data-job-id]")
    assert {r.get_attribute("data-job-id") for r in rows} == BUNDLED | {PROBE}
    probe = page.find_element(By.CSS_SELECTOR, f'#jobs tr[data-job-id="{PROBE}"]')
    name = probe.find_element(By.CSS_SELECTOR, 'td[data-field="name"]')
    assert name.text == PROBE_NAME and not name.find_elements(By.TAG_NAME, "b")
    # In the job's timezone (Asia/Shanghai by default), whatever the browser's zone.
    next_run = probe.find_element(By.CSS_SELECTOR, 'td[data-field="next"]').text
    assert next_run == f"{_next_year(daemon)}-01-01 03:00:00 GMT+8", next_run
    disabled = page.find_element(By.CSS_SELECTOR, '#jobs tr[data-job-id="weekly_pipeline"]')
    assert disabled.get_attribute("data-enabled") == "false"
    assert not disabled.find_element(By.CSS_SELECTOR, 'button[data-action="run"]').is_enabled()
    _wait(page, lambda d: d.find_element(By.ID, "daemon-status").text == "running", "daemon status")
    _wait(page, lambda d: d.find_element(By.ID, "daemon-uptime").text != "–", "uptime")
    _wait(page, lambda d: d.find_element(By.ID, "health-status").text != "–", "health")
    assert page.find_element(By.ID, "health-status").text in {"healthy", "degraded", "unhealthy"}
    # The job package's panel, drawn from what it declares: the fund data's freshness table.
    row_css = '#panels section.panel[data-panel="jobs.fund_monitor.fund_data_panel"] tr[data-key="fund_nav"]'
    _wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, row_css), "the fund panel's freshness rows")
    badge = page.find_element(By.CSS_SELECTOR, f"{row_css} .status")
    assert badge.text == "never" and "tone-bad" in badge.get_attribute("class").split()
    assert "waiting for validation" in page.find_element(By.ID, "panels").text
    # Offline: nothing but the daemon's own URLs was requested.
    urls = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(u.startswith(daemon) for u in urls), urls


def test_the_health_card_lists_what_the_operator_must_act_on(page, daemon):
    home = HOMES[daemon]
    engine = make_engine(home.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                scheduler_jobs_rejected.insert().values(
                    id="ghost",
                    job_state="{}",
                    reason="job state has missing keys",
                    rejected_at=datetime.now(),
                )
            )
        problems = page.find_element(By.ID, "health-problems")
        _wait(page, lambda d: problems.is_displayed() and "ghost" in problems.text, "the problem listed")
        (item,) = problems.find_elements(By.TAG_NAME, "li")
        assert item.text.startswith("stored job ghost rejected as unreadable: job state has missing keys")
        assert page.find_element(By.ID, "health-status").text == "degraded"
        assert home.cli("forget-job", "ghost").returncode == 0
        _wait(page, lambda d: not problems.is_displayed(), "the list hidden once nothing is left")
    finally:
        engine.dispose()


def test_the_freshness_table_shows_each_check_and_a_breach_degrades_health(page, daemon):
    home = HOMES[daemon]
    summary = "fund_nav has 2026-12-02 for 180/300 active funds (60 %), expected 2026-12-03 by 20:00"
    assert home.cli("pause", "fund_nav_freshness").returncode == 0  # no real check overwrites the state
    engine = make_engine(home.database_url)

    def save(state: str, text: str) -> None:
        now = datetime.now(UTC)
        checks.save_state(
            engine,
            "fund_nav_freshness",
            state=state,
            since=now,
            checked_at=now,
            summary=text,
            details={},
            execution_id=None,
        )

    row_css = '#checks tr[data-check="fund_nav_freshness"]'
    try:
        _wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, row_css), "the check's row")
        save("breach", summary)
        _wait(page, lambda d: _attr(d, row_css, "data-state") == "breach", "the breach shown")
        cells = page.find_elements(By.CSS_SELECTOR, f"{row_css} td")
        assert [cells[0].text, cells[1].text, cells[3].text] == ["fund_nav_freshness", "breach", summary]
        assert "tone-bad" in cells[1].find_element(By.CSS_SELECTOR, ".status").get_attribute("class").split()
        assert "ago" in cells[2].text
        problems = page.find_element(By.ID, "health-problems")
        assert f"fund_nav_freshness: {summary}" in problems.text
        assert page.find_element(By.ID, "health-status").text == "degraded"
        save(
            "ok", "fund_nav has 2026-12-03 for 300/300 active funds (100 %), expected at least 95 % by 20:00"
        )
        _wait(page, lambda d: _attr(d, row_css, "data-state") == "ok", "fresh again")
        assert "fund_nav_freshness" not in problems.text
    finally:
        engine.dispose()
        home.cli("resume", "fund_nav_freshness")


def _api_list(url: str, key: str) -> list[dict]:
    """A JSON list answer, bare or under ``key``."""
    status, body = _get(url)
    assert status == 200, (url, status, body)
    data = json.loads(body)
    return data if isinstance(data, list) else data[key]


def _next_year(base: str) -> int:
    jobs = _api_list(f"{base}/api/jobs", "jobs")
    probe = next(j for j in jobs if j["id"] == PROBE)
    return int(probe["next_run_time"][:4])


def test_wrong_token_shows_the_api_error_and_starts_nothing(page, daemon):
    before = {r["id"] for r in _api_list(f"{daemon}/api/executions?limit=100", "executions")}
    banner = page.find_element(By.ID, "error-banner")
    assert not banner.is_displayed()
    _job_button(page, "daily_collection", "run").click()
    _enter_token(page, "not-the-token")
    _wait(page, lambda d: d.find_element(By.ID, "error-banner").is_displayed(), "error banner")
    text = page.find_element(By.ID, "error-message").text
    assert "401" in text and "daily_collection" in text, text
    assert page.execute_script("return sessionStorage.length") == 0  # the wrong token is forgotten
    after = {r["id"] for r in _api_list(f"{daemon}/api/executions?limit=100", "executions")}
    assert after == before


def test_run_now_adds_an_execution_that_turns_to_success_and_shows_its_output(page):
    before = _execution_ids(page)
    _job_button(page, PROBE, "run").click()
    _enter_token(page, TOKEN)

    def new_probe_row(d):
        for tr in d.find_elements(By.CSS_SELECTOR, "#executions tr[data-execution-id]"):
            if tr.get_attribute("data-execution-id") not in before:
                job = tr.find_element(By.CSS_SELECTOR, 'td[data-field="job"]').text
                return tr.get_attribute("data-execution-id") if job == PROBE else None
        return None

    execution_id = _wait(page, new_probe_row, "a new execution row")
    row_css = f'#executions tr[data-execution-id="{execution_id}"]'
    _wait(page, lambda d: _attr(d, row_css, "data-status") == "success", "the run to succeed")
    badge = page.find_element(By.CSS_SELECTOR, f"{row_css} .status")
    assert badge.text == "success" and "tone-ok" in badge.get_attribute("class").split()  # the API's tone
    assert not page.find_element(By.ID, "error-banner").is_displayed()
    last_css = f'#jobs tr[data-job-id="{PROBE}"] td[data-field="last"] .status'
    _wait(
        page, lambda d: d.find_element(By.CSS_SELECTOR, last_css).text == "success", "jobs table's last run"
    )

    page.find_element(By.CSS_SELECTOR, row_css).click()
    output_css = f'#executions tr[data-output-for="{execution_id}"] pre'
    _wait(page, lambda d: "from web_probe" in d.find_element(By.CSS_SELECTOR, output_css).text, "output tail")
    assert "<i>hello</i> from web_probe" in page.find_element(By.CSS_SELECTOR, output_css).text
    assert not page.find_elements(By.CSS_SELECTOR, f"{output_css} i")

    # The token is asked once per session: pause and resume go straight through.
    _job_button(page, PROBE, "pause").click()
    probe_css = f'#jobs tr[data-job-id="{PROBE}"]'
    _wait(page, lambda d: _attr(d, probe_css, "data-paused") == "true", "paused")
    assert not page.find_element(By.ID, "token-form").is_displayed()
    _job_button(page, PROBE, "resume").click()
    _wait(page, lambda d: _attr(d, probe_css, "data-paused") == "false", "resumed")

    # A periodic refresh (no reload) keeps the expanded output open.
    stamp = page.find_element(By.ID, "last-refresh").text
    _wait(page, lambda d: d.find_element(By.ID, "last-refresh").text != stamp, "a refresh", timeout=12)
    assert page.find_element(By.CSS_SELECTOR, output_css).is_displayed()
    assert page.execute_script("return performance.getEntriesByType('navigation').length") == 1
    _screenshot(page, "dashboard-laptop.png", 1366)


def test_phone_width_has_no_horizontal_page_overflow(page):
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        _wait(page, lambda d: d.execute_script("return window.innerWidth") == 390, "390 px viewport")
        widths = page.execute_script(
            "return [document.body.scrollWidth, document.documentElement.scrollWidth, window.innerWidth,"
            " document.querySelector('#executions').closest('.table-wrap').scrollWidth,"
            " document.querySelector('#executions').closest('.table-wrap').clientWidth]"
        )
        body, document, viewport, table, wrap = widths
        assert body <= viewport and document <= viewport, widths
        assert table <= wrap, widths  # the executions are cards: nothing scrolls sideways
        tops = page.execute_script(
            "return ['health-section', 'jobs-section', 'executions-section']"
            ".map((id) => document.getElementById(id).getBoundingClientRect().top)"
        )
        assert tops[0] < tops[1] < tops[2], tops  # the health first on a phone
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    _screenshot(page, "dashboard-phone.png", 390, mobile=True)
