"""The page's failure banner, the filtered and paged executions and the weekly reports, in a real
headless Chromium against a real daemon whose history has runs (some failed) and whose reports
folder has a report. Fixtures as in test_web_dashboard.py (skipped without Chromium unless
``BROWSER_REQUIRED=1``)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from fund_common.clock import utcnow
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from tests.e2e.test_web_dashboard import WAIT, _get, _wait, browser, served  # noqa: F401
from tests.support.harness import FAR_AWAY, PY

pytestmark = pytest.mark.e2e

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - the browser fixture skips
    pass

OLD_RUNS = 55  # successes of job_a: more than a page (50) with the failures
REPORT = "weekly-2026-W48.html"
REPORT_TEXT = "Fund pipeline weekly report, week 48"


@pytest.fixture(scope="module")
def daemon(browser):  # noqa: F811
    """A started daemon (SQLite) whose history has 55 successes, 2 failures of job_a and a timeout
    of job_b in the last 24 h, and one report in its reports folder; yields its base URL."""
    jobs = f"""
            [jobs.job_a]
            cron = "{FAR_AWAY}"
            command = ["{PY}", "-c", "print('a')"]
            [jobs.job_b]
            cron = "{FAR_AWAY}"
            command = ["{PY}", "-c", "print('b')"]
        """
    env = {"SCHEDULER_TIMEZONE": "Asia/Shanghai"}
    with served(jobs, env) as (base, home):
        engine = make_engine(home.database_url)
        now = utcnow()
        try:
            for i in range(OLD_RUNS):
                history.record(
                    engine,
                    "job_a",
                    "success",
                    scheduled_run_time=None,
                    now=now - timedelta(hours=30, minutes=OLD_RUNS - i),
                    run_date=date(2026, 11, 1) + timedelta(days=i % 20),
                )
            for status, job, trigger, ago in (
                ("failed", "job_a", "manual", 120),
                ("timeout", "job_b", "schedule", 60),
                ("failed", "job_a", "schedule", 30),
            ):
                history.record(
                    engine,
                    job,
                    status,
                    trigger=trigger,
                    scheduled_run_time=None,
                    now=now - timedelta(minutes=ago),
                    run_date=date(2026, 12, 3),
                )
        finally:
            engine.dispose()
        reports = home.root / "reports"
        reports.mkdir(exist_ok=True)
        (reports / REPORT).write_text(f"<!doctype html><title>w48</title><h1>{REPORT_TEXT}</h1>")
        yield base


@pytest.fixture
def page(browser, daemon):  # noqa: F811
    browser.set_window_size(1366, 900)
    browser.get(daemon + "/")
    _wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#executions tr[data-execution-id]"), "executions"
    )
    return browser


def _rows(driver) -> list[tuple[str, str, str]]:
    """(job, status, trigger) of each row the executions table shows."""
    return [
        tuple(
            tr.find_element(By.CSS_SELECTOR, f'td[data-field="{f}"]').text
            for f in ("job", "status", "trigger")
        )
        for tr in driver.find_elements(By.CSS_SELECTOR, "#executions tr[data-execution-id]")
    ]


def _ids(driver) -> list[str]:
    return [
        tr.get_attribute("data-execution-id")
        for tr in driver.find_elements(By.CSS_SELECTOR, "#executions tr[data-execution-id]")
    ]


def test_the_banner_names_the_failures_and_its_link_filters_the_list(page) -> None:
    banner = _wait(
        page,
        lambda d: (
            d.find_element(By.ID, "failure-banner").is_displayed() and d.find_element(By.ID, "failure-banner")
        ),
        "the failure banner",
    )
    assert banner.get_attribute("role") == "alert"
    text = banner.text
    assert text.startswith("3 failures in the last 24 h: job_a (failed "), text
    assert ", 2×), job_b (timeout " in text, text
    health = _wait(
        page,
        lambda d: (
            "failures" in d.find_element(By.ID, "health-status").text
            and d.find_element(By.ID, "health-status")
        ),
        "the health badge",
    )
    assert health.text in {"healthy — 3 failures in 24 h", "degraded", "unhealthy"}, health.text
    assert health.get_attribute("data-state") in {"warn", "down"}
    assert health.text != "healthy"
    banner.find_element(By.CSS_SELECTOR, 'a[data-job-id="job_a"]').click()
    assert page.current_url.endswith("#executions?job=job_a&status=failed")
    _wait(page, lambda d: len(_rows(d)) == 2, "the list filtered to job_a's failures")
    assert _rows(page) == [("job_a", "failed", "schedule"), ("job_a", "failed", "manual")]
    assert Select(page.find_element(By.ID, "filter-job")).first_selected_option.text == "job_a"
    assert Select(page.find_element(By.ID, "filter-status")).first_selected_option.text == "failed"


def test_the_filter_selects_narrow_the_rows(page) -> None:
    page.get(page.current_url.split("#")[0] + "#executions")
    _wait(page, lambda d: len(_rows(d)) == 50, "a full first page")
    Select(page.find_element(By.ID, "filter-trigger")).select_by_visible_text("manual")
    _wait(page, lambda d: _rows(d) == [("job_a", "failed", "manual")], "the manual run only")
    assert "trigger=manual" in page.current_url
    Select(page.find_element(By.ID, "filter-trigger")).select_by_visible_text("all")
    _wait(page, lambda d: "job_b" in {r[0] for r in _rows(d)}, "every trigger again")
    _wait(
        page, lambda d: d.find_elements(By.CSS_SELECTOR, '#filter-job option[value="job_b"]'), "job options"
    )
    Select(page.find_element(By.ID, "filter-job")).select_by_value("job_b")
    _wait(page, lambda d: _rows(d) == [("job_b", "timeout", "schedule")], "job_b only")
    Select(page.find_element(By.ID, "filter-job")).select_by_value("")
    page.execute_script(
        "const f = document.getElementById('filter-date-from'); f.value = '2026-12-03';"
        "f.dispatchEvent(new Event('change', {bubbles: true}));"
    )
    _wait(page, lambda d: len(_rows(d)) == 3, "the business date 2026-12-03 only")
    assert {r[1] for r in _rows(page)} == {"failed", "timeout"}
    assert "business date" in page.find_element(By.ID, "executions-section").text


def test_next_and_prev_page_through_the_executions(page, daemon) -> None:
    total = len(json.loads(_get(f"{daemon}/api/executions?limit=500")[1])["executions"])
    assert total >= OLD_RUNS + 3
    page.get(page.current_url.split("#")[0] + "#executions")
    _wait(page, lambda d: len(_rows(d)) == 50, "a full first page")
    first = _ids(page)
    prev, nxt = page.find_element(By.ID, "executions-prev"), page.find_element(By.ID, "executions-next")
    assert not prev.is_enabled()
    _wait(page, lambda d: nxt.is_enabled(), "Next enabled")
    nxt.click()
    _wait(page, lambda d: len(_rows(d)) == total - 50, f"the second page ({total - 50} rows)")
    second = _ids(page)
    assert not set(first) & set(second)
    assert int(second[0]) < int(first[-1])
    assert page.find_element(By.ID, "executions-page").text == "page 2"
    assert not nxt.is_enabled() and prev.is_enabled()
    prev.click()
    _wait(page, lambda d: _ids(d) == first, "the first page again")
    assert page.find_element(By.ID, "executions-page").text == "page 1"


def test_the_reports_section_lists_and_opens_the_weekly_report(page, daemon) -> None:
    link = _wait(
        page,
        lambda d: d.find_elements(By.CSS_SELECTOR, f'#reports tr[data-report="{REPORT}"] a'),
        "the report",
    )[0]
    row = page.find_element(By.CSS_SELECTOR, f'#reports tr[data-report="{REPORT}"]')
    assert "2026-W48" in row.text
    assert link.get_attribute("href") == f"{daemon}/reports/{REPORT}"
    link.click()
    _wait(page, lambda d: REPORT_TEXT in d.find_element(By.TAG_NAME, "body").text, "the report opened", WAIT)
    assert page.current_url == f"{daemon}/reports/{REPORT}"
