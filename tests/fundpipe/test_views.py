"""The dashboard's fund views (fundpipe.views) on a real database (SQLite, and MariaDB where
available) with fixed rows: one fund's NAV window, thinning, latest metrics and quarantined rows
("N more"); quarantined rows by rule and local day (Asia/Shanghai days of UTC times), the
drill-down to one rule and day, the links between the views, and the texts in Chinese."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from fund_common import i18n
from fundpipe import views
from fundpipe.schema import fund_info, fund_metrics, fund_nav, fund_nav_quarantine

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)  # 11:00 on 2026-12-04 in Shanghai
CODE = "000001"
LAST = dt.date(2026, 12, 3)
UPDATED = dt.datetime(2026, 12, 3, 12, 0)


def weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def quarantined(code, rule, at, *, nav_date=None, reason="bad", unit_nav=None):
    return {
        "batch_id": "b1",
        "fund_code": code,
        "nav_date": nav_date,
        "unit_nav": unit_nav,
        "accum_nav": None,
        "daily_return": None,
        "source": "demo",
        "rule": rule,
        "reason": reason,
        "quarantined_at": at,
    }


@pytest.fixture
def filled(engine):
    """Fund 000001: weekday NAVs 2022-01-03..2026-12-03 (accum NAV missing on the first days of
    the window), two metrics rows; quarantined rows of 000001 and others at chosen UTC times."""
    days = weekdays(dt.date(2022, 1, 3), LAST)
    navs = [
        {
            "fund_code": CODE,
            "nav_date": d,
            "unit_nav": 1.0 + i / 1000,
            "accum_nav": None if d < dt.date(2024, 6, 3) else 2.0 + i / 1000,
            "daily_return": 0.1,
            "source": "demo",
            "batch_id": "b0",
            "updated_at": UPDATED,
        }
        for i, d in enumerate(days)
    ]
    metric = {
        "fund_code": CODE,
        "window_days": 756,
        "n_obs": 750,
        "annual_return": 0.1234,
        "annual_volatility": 0.2,
        "sharpe_ratio": 1.5,
        "sortino_ratio": None,
        "max_drawdown": -0.25,
        "calmar_ratio": None,  # NaN is stored as NULL (MySQL has no NaN)
        "return_1m": 0.01,
        "return_3m": 0.02,
        "return_6m": 0.03,
        "return_1y": 0.04,
        "updated_at": UPDATED,
    }
    at = dt.datetime
    rows = [
        # 2026-12-03 in Shanghai: 16:00 UTC on 12-02 is 00:00 on 12-03 there
        quarantined(
            CODE, "positive_nav", at(2026, 12, 2, 16, 0), nav_date=LAST, reason="unit_nav 0.0", unit_nav=0.0
        ),
        quarantined("000002", "positive_nav", at(2026, 12, 3, 10, 0), nav_date=LAST, reason="unit_nav -1"),
        quarantined(None, "not_null", at(2026, 12, 3, 10, 0), reason="missing fund_code"),
        # 2026-12-02 in Shanghai (15:59 UTC is 23:59 there)
        quarantined(CODE, "positive_nav", at(2026, 12, 2, 15, 59), nav_date=dt.date(2026, 12, 2)),
        # today, and before the window of 3 days
        quarantined("000003", "nav_jump", at(2026, 12, 4, 1, 0), reason="jump"),
        quarantined(CODE, "nav_jump", at(2026, 11, 20, 1, 0), reason="old jump"),
        # a code the fund view would not accept: shown, not linked
        quarantined("bad code!", "positive_nav", at(2026, 12, 3, 10, 0), reason="odd"),
    ]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(fund_info),
            [
                {
                    "fund_code": CODE,
                    "fund_name": "演示股票型基金0001",
                    "fund_type": "stock",
                    "updated_at": UPDATED,
                }
            ],
        )
        conn.execute(sa.insert(fund_nav), navs)
        conn.execute(
            sa.insert(fund_metrics),
            [
                {**metric, "calc_date": dt.date(2026, 12, 2), "annual_return": 0.5},
                {**metric, "calc_date": LAST},
            ],
        )
        conn.execute(sa.insert(fund_nav_quarantine), rows)
    engine.nav_days = days
    return engine


def test_a_funds_detail_is_its_last_three_years_thinned_its_latest_metrics_and_quarantine(filled) -> None:
    found = views.fund_detail(filled, CODE)
    window = [d for d in filled.nav_days if d >= LAST - dt.timedelta(days=1096)]
    assert found["nav_rows"] == len(window) > views.NAV_POINTS_MAX
    nav = found["nav"]
    assert len(nav) <= views.NAV_POINTS_MAX + 1
    assert nav[0][0] == window[0] and nav[-1][0] == LAST  # the first and the latest kept
    assert [p[0] for p in nav] == sorted(p[0] for p in nav)
    assert found["latest"]["nav_date"] == LAST
    assert found["metrics"]["calc_date"] == LAST and found["metrics"]["annual_return"] == 0.1234
    assert found["info"]["fund_name"] == "演示股票型基金0001"
    assert found["quarantine"]["total"] == 3
    assert [r["reason"] for r in found["quarantine"]["rows"]] == [
        "unit_nav 0.0",
        "bad",
        "old jump",
    ]  # newest first


def test_thinning_keeps_the_last_point_and_bounds_the_count() -> None:
    points = list(range(1001))
    thinned = views.thin(points, 100)
    assert thinned[0] == 0 and thinned[-1] == 1000 and len(thinned) <= 101
    assert views.thin(points[:50], 100) == points[:50]
    uneven = views.thin(list(range(1002)), 100)
    assert uneven[-1] == 1001 and len(uneven) <= 101


def test_the_fund_panel_has_the_chart_the_metrics_and_the_quarantined_rows(filled, monkeypatch) -> None:
    monkeypatch.setattr(views, "QUARANTINE_ROWS", 2)
    panel = views.fund_panel(filled, CODE, SH)
    assert panel["title"] == "Fund 000001 · 演示股票型基金0001"
    (chart,) = panel["charts"]
    unit, accum = chart["series"]
    assert unit["name"] == "unit NAV" and unit["points"][-1][0] == "2026-12-03"
    assert len(accum["points"]) < len(unit["points"])  # days without accum NAV are left out
    metrics, rows = panel["tables"]
    values = dict(metrics["rows"])
    assert values["calculated on"] == "2026-12-03" and values["annualised return"] == "12.34 %"
    assert values["Sharpe"] == "1.50" and values["max drawdown"] == "-25.00 %"
    assert values["Sortino ratio"] == "–" and values["Calmar ratio"] == "–"
    assert rows["title"] == "Quarantined rows (3)" and "fund code" not in rows["columns"]
    first = dict(zip(rows["columns"], rows["rows"][0], strict=True))
    assert first["rule"] == "positive_nav" and first["reason"] == "unit_nav 0.0"
    assert first["unit NAV"] == "0.0000" and first["quarantined at"] == "2026-12-03 00:00"  # Shanghai
    assert "1 more row not shown" in panel["notes"]
    assert any(note.startswith("latest NAV 2.") and note.endswith("on 2026-12-03") for note in panel["notes"])
    assert any("days shown" in note for note in panel["notes"])  # thinned
    assert "type: stock" in panel["notes"]


def test_an_unknown_fund_says_so(filled) -> None:
    panel = views.fund_panel(filled, "999999", SH)
    assert panel["tables"] == [] and panel["charts"] == [] and panel["data"]["found"] is False
    assert panel["notes"] == ["No fund 999999: no NAV, no fund_info row and no quarantined row."]
    only_quarantined = views.fund_panel(filled, "000002", SH)
    assert only_quarantined["charts"] == [] and only_quarantined["tables"][0]["rows"]
    assert "No NAV stored for 000002." in only_quarantined["notes"]


def test_quarantined_rows_are_counted_by_rule_and_local_day(filled) -> None:
    counts = views.quality_counts(filled, 3, NOW, SH)
    assert counts["days"] == ["2026-12-04", "2026-12-03", "2026-12-02"]
    assert counts["counts"] == {
        "nav_jump": {"2026-12-04": 1},
        "not_null": {"2026-12-03": 1},
        "positive_nav": {"2026-12-03": 3, "2026-12-02": 1},
    }
    assert counts["total"] == 6
    in_utc = views.quality_counts(filled, 3, NOW, ZoneInfo("UTC"))
    assert in_utc["counts"]["positive_nav"] == {"2026-12-02": 2, "2026-12-03": 2}


def test_the_quality_panel_links_each_count_to_its_rows(filled) -> None:
    panel = views.quality_panel(
        filled, days=3, rule=None, day=None, now=NOW, tz=SH, view="dq", fund_view="fund"
    )
    (table,) = panel["tables"]
    assert table["columns"] == ["day", "nav_jump", "not_null", "positive_nav", "total"]
    by_day = {row[0]: row for row in table["rows"]}
    cell = by_day["2026-12-03"][3]
    assert cell == {
        "text": "3",
        "query": {"panel": "dq", "rule": "positive_nav", "day": "2026-12-03", "days": "3"},
    }
    assert by_day["2026-12-03"][1] == "0" and by_day["2026-12-03"][4] == "4"
    assert panel["data"]["total"] == 6


def test_the_drill_down_lists_one_rule_and_days_rows_linking_fund_codes(filled) -> None:
    panel = views.quality_panel(
        filled, days=3, rule="positive_nav", day="2026-12-03", now=NOW, tz=SH, view="dq", fund_view="fund"
    )
    rows = panel["tables"][1]
    assert rows["title"] == "positive_nav on 2026-12-03: 3 rows"
    codes = [r[0] for r in rows["rows"]]
    assert {"text": CODE, "query": {"panel": "fund", "code": CODE}} in codes
    assert "bad code!" in codes  # not a code the fund view accepts: no link
    assert views.quarantine_rows(filled, "positive_nav", dt.date(2026, 12, 3), SH, limit=1)["total"] == 3
    odd = views.quality_panel(filled, days=3, rule="x", day="2026-02-31", now=NOW, tz=SH, view="dq")
    assert "2026-02-31 is not a date." in odd["notes"]
    half = views.quality_panel(filled, days=3, rule="x", day=None, now=NOW, tz=SH, view="dq")
    assert "Give both a rule and a day for their rows." in half["notes"]


def test_an_empty_database_has_nothing_to_count(engine) -> None:
    panel = views.quality_panel(engine, days=14, rule=None, day=None, now=NOW, tz=SH, view="dq")
    assert panel["tables"] == [] and panel["notes"][0] == "No row was quarantined in these days."


def test_the_views_speak_chinese(filled) -> None:
    with i18n.use("zh_CN"):
        fund = views.fund_panel(filled, CODE, SH)
        quality = views.quality_panel(filled, days=3, rule=None, day=None, now=NOW, tz=SH, view="dq")
    assert fund["title"] == "基金 000001 · 演示股票型基金0001"
    assert dict(fund["tables"][0]["rows"])["年化收益率"] == "12.34 %"
    assert fund["tables"][0]["columns"] == ["指标", "数值"]
    assert fund["charts"][0]["series"][0]["name"] == "单位净值"
    assert quality["title"] == "数据质量：近 3 天的隔离数据"
