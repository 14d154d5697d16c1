"""The page in 中文 and in English, at laptop and phone width, in a real headless Chromium against
a real daemon whose history has a failed and a successful run. The browser asks for Chinese
(Accept-Language); the switch changes the language and is remembered. Content is asserted
(headings, schedules in words, status words, the failure banner, the phone layout's order and
cards) and no page text outside the data is left in English. Screenshots of each language and
width are written to test-artifacts/ (page-zh-laptop.png, page-zh-phone.png, page-en-*.png).
Fixtures as in test_web_dashboard.py (skipped without Chromium unless ``BROWSER_REQUIRED=1``)."""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta

import pytest

from fund_common.clock import utcnow
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from tests.e2e.test_web_dashboard import _screenshot, _wait, chromium, served
from tests.support.harness import FAR_AWAY, PY

pytestmark = pytest.mark.e2e

with contextlib.suppress(ImportError):  # without selenium the browser fixture skips
    from selenium.webdriver.common.by import By

#: English words the page may show in Chinese: names of things, not sentences.
KEPT_WORDS = {"API", "HTTP", "JavaScript", "XSHG", "XSHE"}
#: Elements whose own text is the page's wording (data cells, links and logs are not).
WORDING = (
    "h2, h3, th, label, button, dt, .hint, .pill, #token-state, legend, caption, summary, .chain-today .sub"
)


@pytest.fixture(scope="module")
def zh_browser():
    """Chromium whose Accept-Language asks for Chinese first."""
    with chromium("zh-CN,zh") as driver:
        yield driver


@pytest.fixture(scope="module")
def daemon(zh_browser):
    """A daemon (SQLite) with one failed and one successful run in the last hours."""
    jobs = f"""
            [jobs.lang_probe]
            cron = "{FAR_AWAY}"
            command = ["{PY}", "-c", "print('probe')"]
        """
    env = {
        "SCHEDULER_TIMEZONE": "Asia/Shanghai",
        "SCHEDULER_RUN_ON_FIRST_START": "false",
    }
    with served(jobs, env) as (base, home):
        engine = make_engine(home.database_url)
        now = utcnow()
        try:
            for status, ago in (("success", 90), ("failed", 30)):
                history.record(
                    engine,
                    "lang_probe",
                    status,
                    trigger="manual",
                    scheduled_run_time=None,
                    now=now - timedelta(minutes=ago),
                    run_date=date(2026, 12, 3),
                )
        finally:
            engine.dispose()
        yield base


SCHEDULE_CELL = '#jobs tr[data-job-id="daily_collection"] td[data-field="trigger"]'


def _lang(driver) -> str | None:
    return driver.find_element(By.TAG_NAME, "html").get_attribute("lang")


def _load(driver, url: str) -> None:
    driver.get(url)
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#jobs tr[data-job-id="lang_probe"]'), "jobs")
    _wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#executions tr[data-status="failed"]'),
        "the failed run listed",
    )


def _english_left(driver) -> list[str]:
    """The page's own words (not data) still in English: one entry per element."""
    texts = driver.execute_script(
        """
        const out = [];
        for (const node of document.querySelectorAll(arguments[0])) {
          if (!node.offsetParent && node.tagName !== "TH") continue;  // hidden
          const own = [...node.childNodes]
            .filter((c) => c.nodeType === 3)
            .map((c) => c.textContent)
            .join(" ");
          if (own.trim()) out.push(own.trim());
        }
        return out;
        """,
        WORDING,
    )
    left = []
    for text in texts:
        # Identifiers (fund_nav_staging, SCHEDULER_API_TOKEN) are data, not wording.
        found = re.findall(r"[A-Za-z][A-Za-z_]{2,}", text)
        words = [w for w in found if w not in KEPT_WORDS and "_" not in w]
        if words:
            left.append(text)
    return left


def test_the_page_speaks_chinese_when_the_browser_asks(zh_browser, daemon):
    driver = zh_browser
    driver.delete_all_cookies()
    driver.set_window_size(1366, 900)
    _load(driver, daemon + "/")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    headings = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "main h2")]
    for heading in ("任务", "依赖链", "健康状况", "执行记录", "周报", "补跑"):
        assert heading in headings, headings
    # Schedules in words; the technical trigger on hover.
    schedule = driver.find_element(By.CSS_SELECTOR, SCHEDULE_CELL)
    assert schedule.text == "工作日 19:00（北京时间），上交所交易日", schedule.text
    assert schedule.get_attribute("title").startswith("cron 0 19 * * mon-fri")
    # A bundled job's name is in the catalogue; a job named in jobs.toml keeps its own.
    names = {
        job: driver.find_element(By.CSS_SELECTOR, f'#jobs tr[data-job-id="{job}"] td[data-field="name"]').text
        for job in ("daily_collection", "lang_probe")
    }
    assert names == {"daily_collection": "采集每日基金净值", "lang_probe": "lang_probe"}
    # Status words and the failure banner in Chinese, the data (job ids) as they are.
    badge = driver.find_element(By.CSS_SELECTOR, '#executions tr[data-status="failed"] .status')
    assert badge.text == "失败" and badge.get_attribute("data-status") == "failed"
    _wait(driver, lambda d: d.find_element(By.ID, "failure-banner").is_displayed(), "failure banner")
    banner = driver.find_element(By.ID, "failure-message").text
    assert banner.startswith("最近 24 小时失败 1 次：lang_probe"), banner
    buttons = driver.find_elements(By.CSS_SELECTOR, '#jobs tr[data-job-id="lang_probe"] button')
    assert [b.text for b in buttons] == ["立即运行", "按日期运行…", "暂停", "恢复"]
    _wait(driver, lambda d: d.find_element(By.ID, "daemon-status").text == "运行中", "daemon status")
    assert _english_left(driver) == []
    _screenshot(driver, "page-zh-laptop.png", 1366)


def test_on_a_phone_health_comes_first_and_runs_are_cards(zh_browser, daemon):
    driver = zh_browser
    driver.delete_all_cookies()
    _load(driver, daemon + "/")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        _wait(driver, lambda d: d.execute_script("return window.innerWidth") == 390, "390 px viewport")
        layout = driver.execute_script(
            """
            const top = (id) => document.getElementById(id).getBoundingClientRect().top;
            const run = document.querySelector('#executions tr[data-status="failed"]');
            const cell = run.querySelector('td[data-field="status"]');
            return {
              health: top("health-section"), jobs: top("jobs-section"), executions: top("executions-section"),
              page: document.documentElement.scrollWidth, viewport: window.innerWidth,
              display: getComputedStyle(run).display,
              label: getComputedStyle(cell, "::before").content,
              head: getComputedStyle(document.querySelector("#executions thead")).display,
            };
            """
        )
        assert layout["health"] < layout["jobs"] < layout["executions"], layout
        assert layout["page"] <= layout["viewport"], layout
        assert layout["display"] == "block" and layout["head"] == "none", layout
        assert layout["label"] == '"状态"', layout  # each cell labelled, in the page's language
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    _screenshot(driver, "page-zh-phone.png", 390, mobile=True)


def test_the_switch_changes_the_language_and_is_remembered(zh_browser, daemon):
    driver = zh_browser
    driver.delete_all_cookies()
    _load(driver, daemon + "/")
    driver.find_element(By.CSS_SELECTOR, '.language-switch a[hreflang="en"]').click()
    _wait(driver, lambda d: _lang(d) == "en", "English")
    _load(driver, daemon + "/")  # the browser still asks for Chinese: the cookie wins
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert "Jobs" in [h.text for h in driver.find_elements(By.CSS_SELECTOR, "main h2")]
    badge = driver.find_element(By.CSS_SELECTOR, '#executions tr[data-status="failed"] .status')
    assert badge.text == "failed"
    schedule = driver.find_element(By.CSS_SELECTOR, SCHEDULE_CELL)
    assert schedule.text == "weekdays at 19:00 (Asia/Shanghai), XSHG sessions", schedule.text
    _wait(driver, lambda d: d.find_element(By.ID, "failure-banner").is_displayed(), "failure banner")
    banner = driver.find_element(By.ID, "failure-message").text
    assert banner.startswith("1 failure in the last 24 h: lang_probe"), banner
    _screenshot(driver, "page-en-laptop.png", 1366)
    _screenshot(driver, "page-en-phone.png", 390, mobile=True)
    driver.find_element(By.CSS_SELECTOR, '.language-switch a[hreflang="zh-CN"]').click()
    _wait(driver, lambda d: _lang(d) == "zh-CN", "中文 again")
