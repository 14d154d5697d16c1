"""The dashboard's run dialog in a real headless Chromium: a job's declared parameters (from
jobs.toml) become fields; a missing required one is refused in the dialog, naming it; a run for
a past business date with parameters is started and recorded so.

Needs what tests/e2e/test_web_dashboard.py needs (``chromium``, ``chromium-driver``, selenium).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_web_dashboard import _get, _wait, browser, serving  # noqa: F401
from tests.support.harness import FAR_AWAY, PY, wait_for

pytestmark = pytest.mark.e2e

TOKEN = "run-dialog-token-5b7d"
ECHO = "import os; print('seen', os.environ['SCHEDULER_RUN_DATE'], os.environ['SCHEDULER_PARAMS'])"

try:
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - the browser fixture skips first
    By = None


@pytest.fixture(scope="module")
def daemon(browser):  # noqa: F811 - the imported fixture
    with serving(
        f"""
            [jobs.echo]
            cron = "{FAR_AWAY}"
            command = {json.dumps([PY, "-c", ECHO])}

            [jobs.echo.params.fund_codes]
            type = "str"
            help = "comma-separated fund codes"

            [jobs.echo.params.limit]
            type = "int"
            default = 5

            [jobs.echo.params.source]
            type = "str"
            required = true
        """,
        TOKEN,
    ) as base:
        yield base


def test_the_run_dialog_posts_a_past_date_and_the_declared_parameters(browser, daemon):  # noqa: F811
    browser.get(daemon + "/")
    browser.execute_script("sessionStorage.setItem('fund-scheduler.api-token', arguments[0])", TOKEN)
    browser.refresh()
    button = 'tr[data-job-id="echo"] button[data-action="run-for"]'
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, button), "the job's row").pop().click()
    dialog = browser.find_element(By.ID, "run-dialog")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#run-params input[data-param]"), "the fields")
    names = [i.get_attribute("name") for i in dialog.find_elements(By.CSS_SELECTOR, "#run-params input")]
    assert names == ["fund_codes", "limit", "source"]
    assert "comma-separated fund codes" in dialog.text
    browser.execute_script("document.getElementById('run-date').value = '2026-11-26'")
    dialog.find_element(By.CSS_SELECTOR, 'input[name="fund_codes"]').send_keys("000001,110022")
    dialog.find_element(By.CSS_SELECTOR, 'input[name="limit"]').send_keys("7")
    browser.find_element(By.ID, "run-submit").click()
    error = browser.find_element(By.ID, "run-error")
    _wait(browser, lambda d: "source" in error.text, "the refusal naming the parameter")
    assert "400" in error.text and dialog.is_displayed()

    dialog.find_element(By.CSS_SELECTOR, 'input[name="source"]').send_keys("feed-a")
    browser.find_element(By.ID, "run-submit").click()
    _wait(browser, lambda d: not dialog.is_displayed(), "the dialog to close")
    row = wait_for(
        lambda: (
            (rows := json.loads(_get(f"{daemon}/api/executions?job=echo")[1])["executions"])
            and rows[0]["status"] == "success"
            and rows[0]
        ),
        30,
        "the run to succeed",
    )
    assert row["run_date"] == "2026-11-26"
    assert row["params"] == {"fund_codes": "000001,110022", "limit": 7, "source": "feed-a"}
    assert row["requested_by"] == "token:default"
