"""The dashboard's backfills in a real headless Chromium: a dry run lists the dates, a backfill
started from the page shows as one group (progress, each date) and ends ``done``; a slow one is
cancelled as a whole from its button.

Needs what tests/e2e/test_web_dashboard.py needs (``chromium``, ``chromium-driver``, selenium).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_web_dashboard import _enter_token, _wait, browser, serving  # noqa: F401
from tests.support.harness import PY

pytestmark = pytest.mark.e2e

TOKEN = "backfill-page-token-4f2a"

try:
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - the browser fixture skips first
    By = None


@pytest.fixture(scope="module")
def daemon(browser):  # noqa: F811 - the imported fixture
    with serving(
        f"""
            [jobs.collect]
            cron = "0 19 * * mon-fri"
            command = {json.dumps([PY, "-c", "print('ok')"])}

            [jobs.crawl]
            cron = "0 20 * * mon-fri"
            command = {json.dumps([PY, "-c", "import time; time.sleep(60)"])}
        """,
        TOKEN,
    ) as base:
        yield base


def _fill(driver, job: str, start: str, end: str) -> None:
    option = f'#backfill-job option[value="{job}"]'
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, option), "the job in the form")
    driver.find_element(By.CSS_SELECTOR, option).click()
    for field, value in (("backfill-from", start), ("backfill-to", end)):
        driver.execute_script("document.getElementById(arguments[0]).value = arguments[1]", field, value)


def test_a_backfill_from_the_page_shows_as_one_group_and_can_be_cancelled(browser, daemon):  # noqa: F811
    browser.get(daemon + "/")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    _fill(browser, "collect", "2026-11-20", "2026-11-24")
    browser.find_element(By.ID, "backfill-dry-run").click()
    _enter_token(browser, TOKEN)
    browser.find_element(By.ID, "backfill-dry-run").click()
    message = browser.find_element(By.ID, "backfill-message")
    _wait(browser, lambda d: "would be made" in message.text, "the dry run's dates")
    assert "2026-11-20, 2026-11-23, 2026-11-24" in message.text

    browser.find_element(By.ID, "backfill-start").click()
    group_css = '#backfills article[data-state="done"]'
    group = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, group_css), "the backfill done")[0]
    dates = [li.get_attribute("data-run-date") for li in group.find_elements(By.CSS_SELECTOR, "li")]
    assert dates == ["2026-11-20", "2026-11-23", "2026-11-24"]
    assert "3/3" in group.text and "collect 2026-11-20 → 2026-11-24" in group.text

    _fill(browser, "crawl", "2026-11-23", "2026-11-24")
    browser.find_element(By.ID, "backfill-start").click()
    cancel_css = "#backfills button[data-cancel-backfill]"
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, cancel_css), "the running backfill")[0].click()
    browser.switch_to.alert.accept()
    cancelled_css = '#backfills article[data-state="cancelled"]'
    group = _wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, cancelled_css), "the backfill cancelled"
    )[0]
    assert "crawl" in group.text
