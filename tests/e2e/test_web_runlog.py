"""The dashboard's "full log" panel in a real headless Chromium: it opens a running run's log
and shows its later lines as the run prints them (runlog.js following the API by offset).

Needs what tests/e2e/test_web_dashboard.py needs (``chromium``, ``chromium-driver``, selenium).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_web_dashboard import _enter_token, _wait, browser, serving  # noqa: F401
from tests.support.harness import FAR_AWAY, PY

pytestmark = pytest.mark.e2e

TOKEN = "runlog-test-token-7d1e"
#: Prints a line every 0.5 s for about 6 s: still running while the panel is opened.
SLOW = "import time\nfor i in range(12):\n    print(f'tick {i}', flush=True)\n    time.sleep(0.5)\n"

try:
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - the browser fixture skips first
    By = None


@pytest.fixture(scope="module")
def daemon(browser):  # noqa: F811 - the imported fixture
    with serving(
        f"""
            [jobs.slow_talker]
            cron = "{FAR_AWAY}"
            command = {json.dumps([PY, "-c", SLOW])}
        """,
        TOKEN,
    ) as base:
        yield base


def test_the_full_log_of_a_running_run_shows_its_later_lines(browser, daemon):  # noqa: F811
    browser.get(daemon + "/")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    run = 'tr[data-job-id="slow_talker"] button[data-action="run"]'
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, run), "the job's row").pop().click()
    _enter_token(browser, TOKEN)
    row_css = "#executions tr[data-execution-id]"
    row = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, row_css), "the execution row")[0]
    execution_id = row.get_attribute("data-execution-id")
    assert row.get_attribute("data-status") == "running"
    row.click()
    button_css = f'button[data-runlog="{execution_id}"]'
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, button_css), "the full log button")[0].click()

    panel = browser.find_element(By.ID, "runlog")
    text = browser.find_element(By.ID, "runlog-text")
    _wait(browser, lambda d: panel.is_displayed() and "tick 0" in text.text, "the first line")
    assert "tick 11" not in text.text and panel.get_attribute("data-complete") is None  # still running
    _wait(browser, lambda d: "tick 11" in text.text, "the later lines, as they are printed")
    _wait(browser, lambda d: panel.get_attribute("data-complete") == "true", "the end of the run")
    lines = text.text.splitlines()
    assert f"execution={execution_id}" in lines[0]
    assert lines[1:] == [f"tick {i}" for i in range(12)]  # each line once, in order
    assert "success" in browser.find_element(By.ID, "runlog-state").text
    browser.find_element(By.ID, "runlog-close").click()
    assert not panel.is_displayed()
