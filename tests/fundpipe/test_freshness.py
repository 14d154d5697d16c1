"""Data freshness, computed once (fundpipe.freshness) and shown by the monitor and the weekly report.

Sessions behind are the calendar's: the 2024 tests count weekdays, the XSHG ones cross the
National Day week of 2026."""

import datetime as dt

import pytest
import sqlalchemy as sa

from fundpipe import monitor, report
from fundpipe.freshness import STALE_AFTER_SESSIONS, Freshness, dated_freshness
from fundpipe.schema import fund_metrics, fund_nav

THURSDAY, FRIDAY = dt.date(2024, 6, 6), dt.date(2024, 6, 7)
STAMP = dt.datetime(2024, 6, 7, 12)


@pytest.fixture
def navs(engine):
    """Three funds on Thursday, two on Friday, one on the Monday after (later than the days asked)."""
    rows = [("A", THURSDAY), ("B", THURSDAY), ("C", THURSDAY), ("A", FRIDAY), ("B", FRIDAY)]
    rows.append(("A", dt.date(2024, 6, 10)))
    with engine.begin() as conn:
        conn.execute(
            sa.insert(fund_nav),
            [{"fund_code": c, "nav_date": d, "unit_nav": 1.0, "updated_at": STAMP} for c, d in rows],
        )
    return engine


@pytest.mark.parametrize(
    ("day", "latest", "funds", "days", "trading", "status"),
    [
        (FRIDAY, FRIDAY, 2, 0, 0, "ok"),
        (dt.date(2024, 6, 9), FRIDAY, 2, 2, 0, "ok"),  # Sunday
        (dt.date(2024, 6, 8), FRIDAY, 2, 1, 0, "ok"),
        (THURSDAY, THURSDAY, 3, 0, 0, "ok"),
        (dt.date(2024, 6, 5), None, 0, None, None, "never"),  # before the first NAV
    ],
)
def test_dated_freshness(navs, weekdays, day, latest, funds, days, trading, status):
    with navs.connect() as conn:
        fresh = dated_freshness(conn, fund_nav.c.nav_date, day, weekdays)
    assert (fresh.latest, fresh.funds, fresh.days_behind, fresh.sessions_behind, fresh.status) == (
        latest,
        funds,
        days,
        trading,
        status,
    )
    assert fresh.latest_iso == (None if latest is None else latest.isoformat())


def test_stale_after_more_than_one_session(weekdays):
    assert STALE_AFTER_SESSIONS == 1
    monday, tuesday = dt.date(2024, 6, 10), dt.date(2024, 6, 11)
    assert Freshness(monday, FRIDAY, 1, weekdays).status == "ok"  # a Monday morning: Friday's NAV
    tuesday_fresh = Freshness(tuesday, FRIDAY, 1, weekdays)
    assert (tuesday_fresh.sessions_behind, tuesday_fresh.status) == (2, "stale")


@pytest.mark.parametrize(
    ("latest", "day", "behind", "status"),
    [
        ("2026-10-08", "2026-10-08", 0, "ok"),
        ("2026-09-30", "2026-10-08", 1, "ok"),  # 6 weekdays, 1 session: the week was closed
        ("2026-09-30", "2026-10-07", 0, "ok"),  # still National Day: nothing is due
        ("2026-09-29", "2026-10-08", 2, "stale"),
        ("2026-09-24", "2026-09-28", 1, "ok"),  # Friday 2026-09-25 closed (Mid-Autumn Festival)
    ],
)
def test_sessions_behind_follow_the_exchange_calendar(xshg, latest, day, behind, status):
    fresh = Freshness(dt.date.fromisoformat(day), dt.date.fromisoformat(latest), 10, xshg)
    assert (fresh.sessions_behind, fresh.status) == (behind, status)


def test_dated_freshness_after_the_national_day_week(engine, xshg):
    with engine.begin() as conn:
        conn.execute(
            sa.insert(fund_nav),
            [
                {"fund_code": c, "nav_date": dt.date(2026, 9, 30), "unit_nav": 1.0, "updated_at": STAMP}
                for c in "AB"
            ],
        )
        fresh = dated_freshness(conn, fund_nav.c.nav_date, dt.date(2026, 10, 8), xshg)
    assert (fresh.latest, fresh.funds, fresh.days_behind, fresh.sessions_behind) == (
        dt.date(2026, 9, 30),
        2,
        8,
        1,
    )


def test_a_missing_table_has_no_row_and_is_not_queried(tmp_path, weekdays):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with engine.connect() as conn:
        fresh = dated_freshness(conn, fund_metrics.c.calc_date, FRIDAY, weekdays, tables=set())
    assert (fresh.latest, fresh.funds, fresh.status) == (None, 0, "never")


def test_the_monitor_and_the_report_show_the_same_freshness(navs, weekdays):
    """One computation, each caller's keys: the panel adds ``status``, the report has none."""
    for day in (THURSDAY, FRIDAY, dt.date(2024, 6, 9), dt.date(2024, 6, 12)):
        panel = monitor.freshness(navs, today=day, now=STAMP, calendar=weekdays)
        data = report.weekly_report_data(navs, day, weekdays)["freshness"]
        for panel_key, report_key in (("fund_nav", "nav"), ("fund_metrics", "metrics")):
            shown = panel[panel_key]
            assert set(shown) == {"latest", "funds", "days_behind", "business_days_behind", "status"}
            assert set(data[report_key]) == {"latest", "funds", "days_behind", "business_days_behind"}
            assert {k: v for k, v in shown.items() if k != "status"} == data[report_key]
        assert panel["fund_nav"]["latest"] is not None and panel["fund_metrics"]["status"] == "never"
    wednesday = monitor.freshness(navs, today=dt.date(2024, 6, 12), now=STAMP, calendar=weekdays)["fund_nav"]
    assert (wednesday["latest"], wednesday["business_days_behind"], wednesday["status"]) == (
        "2024-06-10",
        2,
        "stale",
    )
