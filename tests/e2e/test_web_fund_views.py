"""The page's views (the bundled fund and data-quality views) in a real headless Chromium against
a real daemon whose fund tables hold the demo source's data, faults included (40 funds, 300
sessions, collected, validated and computed by fundpipe's tasks): a fund searched shows its NAV
chart with points, its metrics and a quarantined row with its reason, and the URL keeps the query;
the data-quality table drills down to one rule and day's rows, whose fund codes open the fund
view; at phone width nothing scrolls the page sideways. Screenshots of the Fund card:
test-artifacts/fund-view-desktop.png (1280 px) and fund-view-phone.png (390 px). Fixtures as in
test_web_dashboard.py (skipped without Chromium unless ``BROWSER_REQUIRED=1``)."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from fund_common.calendars import weekdays_only
from fund_scheduler.store.engine import make_engine
from fundpipe import tasks
from fundpipe.schema import fund_nav, fund_nav_quarantine
from fundpipe.settings import FundSettings
from tests.e2e.test_web_dashboard import ARTIFACTS, _wait, browser, served  # noqa: F401

pytestmark = pytest.mark.e2e

with contextlib.suppress(ImportError):  # without selenium the browser fixture skips
    from selenium.webdriver.common.by import By

SETTINGS = FundSettings(demo_funds=40, demo_history_days=300, calendars_file="/nonexistent/calendars.toml")
FOUND: dict[str, str] = {}  # what the daemon fixture loaded: code, reason, rule


def _last_weekday() -> dt.date:
    day = dt.date.today() - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


@pytest.fixture(scope="module")
def daemon(browser):  # noqa: F811
    """A started daemon (SQLite) whose fund tables hold the demo data; yields its base URL."""
    jobs = ""
    env = {
        "SCHEDULER_RUN_ON_FIRST_START": "false",
        "SCHEDULER_TIMEZONE": "Asia/Shanghai",
    }
    with served(jobs, env) as (base, home):
        engine = make_engine(home.database_url)
        try:
            calendar = weekdays_only("WEEKDAYS")
            day = _last_weekday()
            tasks.collect(engine, SETTINGS, day, calendar=calendar)
            tasks.validate(engine, SETTINGS, day, calendar=calendar)
            tasks.compute_metrics(engine, SETTINGS, day, calendar=calendar)
            q = fund_nav_quarantine
            with engine.connect() as conn:
                row = conn.execute(
                    sa.select(q.c.fund_code, q.c.reason, q.c.rule)
                    .where(q.c.fund_code.in_(sa.select(fund_nav.c.fund_code)), q.c.rule != "not_null")
                    .order_by(q.c.fund_code, q.c.id)
                    .limit(1)
                ).one()
        finally:
            engine.dispose()
        FOUND.update(code=row.fund_code, reason=row.reason, rule=row.rule)
        yield base


@pytest.fixture
def page(browser, daemon):  # noqa: F811
    browser.set_window_size(1366, 900)
    browser.get(daemon + "/")
    _wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#view-fund form input#view-fund-code"),
        "the Fund card",
    )
    return browser


def _card_screenshot(driver, card_id: str, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    card = driver.find_element(By.ID, card_id)
    width = driver.execute_script("return window.innerWidth")
    height = driver.execute_script(f"return document.getElementById('{card_id}').offsetHeight")
    _at_width(driver, width, min(max(900, height + 40), 4000))  # the whole card in the viewport
    driver.execute_script("arguments[0].scrollIntoView()", card)
    assert card.screenshot(str(path)), path
    print(f"screenshot: {path}")
    return path


def _search(driver, code: str) -> None:
    field = driver.find_element(By.ID, "view-fund-code")
    field.clear()
    field.send_keys(code)
    driver.find_element(By.CSS_SELECTOR, "#view-fund button.view-submit").click()
    _wait(
        driver,
        lambda d: (
            d.find_element(By.ID, "view-fund").get_attribute("data-state") == "ready"
            and code in d.find_element(By.CSS_SELECTOR, "#view-fund .view-answer-title").text
        ),
        f"the fund view of {code}",
    )


def _at_width(driver, width: int, height: int = 900) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    _wait(driver, lambda d: d.execute_script("return window.innerWidth") == width, f"{width} px viewport")


def test_a_fund_shows_its_nav_chart_metrics_and_quarantined_rows(page):
    code = FOUND["code"]
    _search(page, code)
    assert page.current_url.endswith(f"#fund?code={code}")
    card = page.find_element(By.ID, "view-fund")
    chart = card.find_element(By.CSS_SELECTOR, "svg.view-chart-svg")
    assert int(chart.get_attribute("data-points")) > 200  # unit and accumulated NAV
    lines = card.find_elements(By.CSS_SELECTOR, "polyline.view-line")
    assert len(lines) == 2 and int(lines[0].get_attribute("data-count")) > 100
    assert len(card.find_elements(By.CSS_SELECTOR, "text.view-axis-label")) >= 4
    legend = card.find_element(By.CSS_SELECTOR, ".view-legend").text
    assert "unit NAV: last " in legend
    # the metrics, with values
    metrics = {
        row.find_elements(By.TAG_NAME, "td")[0].text: row.find_elements(By.TAG_NAME, "td")[1].text
        for row in card.find_elements(By.CSS_SELECTOR, "table.view-table")[0].find_elements(
            By.CSS_SELECTOR, "tbody tr"
        )
    }
    assert metrics["Sharpe"] not in ("", "–") and metrics["annualised return"].endswith(" %")
    # the quarantined row, with its rule and reason
    quarantine = card.find_elements(By.CSS_SELECTOR, "table.view-table")[1].text
    assert FOUND["rule"] in quarantine and FOUND["reason"] in quarantine

    # A bad code is refused by the form before any request: the field says so.
    field = page.find_element(By.ID, "view-fund-code")
    field.clear()
    field.send_keys("no such code!")
    page.find_element(By.CSS_SELECTOR, "#view-fund button.view-submit").click()
    assert page.execute_script("return document.getElementById('view-fund-code').matches(':invalid')")
    assert page.current_url.endswith(f"#fund?code={code}")

    # A link opens the view with its query; an unknown fund says so.
    page.get(page.current_url.split("#")[0] + "#fund?code=999999")
    _wait(page, lambda d: "No fund 999999" in d.find_element(By.ID, "view-fund").text, "the unknown fund")
    assert page.find_element(By.ID, "view-fund-code").get_attribute("value") == "999999"


def test_the_data_quality_table_drills_down_to_the_rows_and_on_to_a_fund(page):
    card = page.find_element(By.ID, "view-data_quality")
    _wait(
        page,
        lambda d: card.find_elements(By.CSS_SELECTOR, "table.view-table a.view-link"),
        "the quality counts",
    )
    heads = [th.text for th in card.find_elements(By.CSS_SELECTOR, "table.view-table thead th")]
    assert heads[0] == "day" and heads[-1] == "total" and FOUND["rule"] in heads
    column = heads.index(FOUND["rule"])
    link = next(
        row.find_elements(By.TAG_NAME, "td")[column].find_element(By.TAG_NAME, "a")
        for row in card.find_elements(By.CSS_SELECTOR, "table.view-table tbody tr")
        if row.find_elements(By.TAG_NAME, "td")[column].find_elements(By.TAG_NAME, "a")
    )
    count = int(link.text)
    link.click()
    _wait(
        page, lambda d: len(card.find_elements(By.CSS_SELECTOR, "table.view-table")) == 2, "the drilled rows"
    )
    assert f"#data_quality?rule={FOUND['rule']}&day=" in page.current_url
    assert page.find_element(By.ID, "view-data_quality-rule").get_attribute("value") == FOUND["rule"]
    titles = [h.text for h in card.find_elements(By.CSS_SELECTOR, "h4.view-table-title")]
    assert titles[1].startswith(f"{FOUND['rule']} on ") and titles[1].endswith(
        f": {count} rows" if count > 1 else ": 1 row"
    )
    drilled = card.find_elements(By.CSS_SELECTOR, "table.view-table")[1]
    assert FOUND["reason"] in drilled.text or count > 50
    # a fund code of the rows opens the fund view
    code_link = drilled.find_element(By.CSS_SELECTOR, "tbody tr td a.view-link")
    code = code_link.text
    code_link.click()
    _wait(
        page,
        lambda d: code in d.find_element(By.CSS_SELECTOR, "#view-fund .view-answer-title").text,
        "the fund view from the drill-down",
    )
    assert page.current_url.endswith(f"#fund?code={code}")


def test_the_views_fit_a_phone_and_are_pictured(page):
    _search(page, FOUND["code"])
    try:
        _at_width(page, 1280)
        _wait(
            page,
            lambda d: d.execute_script(
                "const s = document.querySelector('#view-fund svg.view-chart-svg');"
                " return s && Number(s.getAttribute('width')) > 900"
            ),
            "the chart redrawn for 1280 px",
        )
        _card_screenshot(page, "view-fund", "fund-view-desktop.png")
        _at_width(page, 390)
        _wait(
            page,
            lambda d: d.execute_script(
                "const s = document.querySelector('#view-fund svg.view-chart-svg');"
                " return s && Number(s.getAttribute('width')) <= 390"
            ),
            "the chart redrawn for 390 px",
        )
        for card_id in ("view-fund", "view-data_quality"):
            right = page.execute_script(
                f"return document.getElementById('{card_id}').getBoundingClientRect().right"
            )
            assert right <= 390, (card_id, right)
        wide = page.execute_script("return document.documentElement.scrollWidth")
        assert wide <= 390, f"the page scrolls sideways at 390 px: {wide} px wide"
        _card_screenshot(page, "view-fund", "fund-view-phone.png")
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
