"""The dashboard's cancel button and its audit view in a real headless Chromium: a running run is
cancelled from its output row (its row turns ``cancelled``) and the audit table names the token.

Needs what tests/e2e/test_web_dashboard.py needs (``chromium``, ``chromium-driver``, selenium).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_web_dashboard import _enter_token, _wait, browser, serving  # noqa: F401
from tests.support.harness import FAR_AWAY, PY

pytestmark = pytest.mark.e2e

TOKEN = "cancel-page-token-9c3e"

try:
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - the browser fixture skips first
    By = None


@pytest.fixture(scope="module")
def daemon(browser):  # noqa: F811 - the imported fixture
    with serving(
        f"""
            [jobs.sleeper]
            cron = "{FAR_AWAY}"
            command = {json.dumps([PY, "-c", "import time; print('up', flush=True); time.sleep(120)"])}
        """,
        TOKEN,
    ) as base:
        yield base


def test_a_running_run_is_cancelled_from_the_page_and_audited(browser, daemon):  # noqa: F811
    browser.get(daemon + "/")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    run = 'tr[data-job-id="sleeper"] button[data-action="run"]'
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, run), "the job's row").pop().click()
    _enter_token(browser, TOKEN)
    row_css = '#executions tr[data-execution-id][data-status="running"]'
    row = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, row_css), "the running row")[0]
    execution_id = row.get_attribute("data-execution-id")
    row.click()
    button_css = f'button[data-cancel-execution="{execution_id}"]'
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, button_css), "the cancel button")[0].click()
    browser.switch_to.alert.accept()
    done_css = f'#executions tr[data-execution-id="{execution_id}"][data-status="cancelled"]'
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, done_css), "the row cancelled")
    audit_css = '#audit tr[data-action="cancel"]'
    entry = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, audit_css), "the audit row")[0]
    assert "token:default" in entry.text and "sleeper" in entry.text
    runs = browser.find_elements(By.CSS_SELECTOR, '#audit tr[data-action="run"]')
    assert runs and "token:default" in runs[0].text
