"""The data-freshness promises (fundpipe.sla): expected session, found date, coverage, breach.

Real SQL (SQLite, and MariaDB where the fixture runs it) and an injected ``now``; the calendar
is built here: XSHG's 2026 National Day closure (2026-10-01..07)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from fund_common.calendars import SessionCalendar
from fundpipe.schema import fund_info, fund_metrics, fund_nav
from fundpipe.sla import SlaSettings, expected_session, sla_check

SHANGHAI = ZoneInfo("Asia/Shanghai")
XSHG = SessionCalendar(
    "XSHG",
    dt.date(2026, 1, 1),
    dt.date(2026, 12, 31),
    closed={dt.date(2026, 10, d): "National Day" for d in (1, 2, 5, 6, 7)},
)
EIGHT_PM = dt.time(20, 0)
STAMP = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI)


def funds(engine, count: int, inactive: int = 0) -> list[str]:
    codes = [f"{i:06d}" for i in range(count + inactive)]
    with engine.begin() as conn:
        conn.execute(
            fund_info.insert(),
            [{"fund_code": c, "is_active": i < count, "updated_at": STAMP} for i, c in enumerate(codes)],
        )
    return codes


def navs(engine, codes: list[str], day: dt.date) -> None:
    with engine.begin() as conn:
        conn.execute(
            fund_nav.insert(),
            [{"fund_code": c, "nav_date": day, "unit_nav": 1.0, "updated_at": STAMP} for c in codes],
        )


def check(engine, now: dt.datetime, table: str = "fund_nav", **kw) -> dict:
    kw.setdefault("deadline", EIGHT_PM)
    kw.setdefault("min_coverage", 0.95)
    return sla_check(engine, table, now=now, calendar=XSHG, zone=SHANGHAI, **kw)


THURSDAY = dt.date(2026, 12, 3)
WEDNESDAY = dt.date(2026, 12, 2)


def test_the_last_sessions_navs_for_enough_funds_by_the_deadline_are_ok(engine) -> None:
    codes = funds(engine, 20)
    navs(engine, codes[:19], THURSDAY)  # 95 %
    result = check(engine, at(THURSDAY, 20, 5))
    assert result["ok"] is True
    assert result["summary"] == (
        "fund_nav has 2026-12-03 for 19/20 active funds (95 %), expected at least 95 % by 20:00"
    )
    details = result["details"]
    assert (details["expected"], details["found"], details["sessions_behind"]) == (
        "2026-12-03",
        "2026-12-03",
        0,
    )
    assert (details["funds"], details["active_funds"], details["coverage"]) == (19, 20, 0.95)


def test_before_the_deadline_the_previous_session_is_expected(engine) -> None:
    codes = funds(engine, 10)
    navs(engine, codes, WEDNESDAY)
    assert check(engine, at(THURSDAY, 19, 59))["ok"] is True
    late = check(engine, at(THURSDAY, 20, 0))
    assert late["ok"] is False
    assert (
        late["summary"]
        == "fund_nav has 2026-12-02 for 10/10 active funds (100 %), expected 2026-12-03 by 20:00"
    )
    assert (late["details"]["found"], late["details"]["sessions_behind"], late["details"]["funds"]) == (
        "2026-12-02",
        1,
        0,
    )


def test_a_breach_by_coverage_names_the_share(engine) -> None:
    codes = funds(engine, 300, inactive=50)
    navs(engine, codes[:180] + codes[300:], THURSDAY)  # 180 active ones; inactive funds do not count
    result = check(engine, at(THURSDAY, 21))
    assert result["ok"] is False
    assert result["summary"] == (
        "fund_nav has 2026-12-03 for 180/300 active funds (60 %), expected at least 95 % by 20:00"
    )
    assert (result["details"]["coverage"], result["details"]["sessions_behind"]) == (0.6, 0)


def test_an_empty_table_is_a_breach_and_no_active_fund_promises_nothing(engine) -> None:
    empty = check(engine, at(THURSDAY, 21), "fund_metrics", deadline=dt.time(21), min_coverage=0.9)
    assert (
        empty["ok"] is True and empty["summary"] == "no active fund in fund_info: nothing due in fund_metrics"
    )
    funds(engine, 3)
    result = check(engine, at(THURSDAY, 21), "fund_metrics", deadline=dt.time(21), min_coverage=0.9)
    assert result["ok"] is False
    assert (
        result["summary"] == "fund_metrics has no rows on or before 2026-12-03, expected 2026-12-03 by 21:00"
    )
    assert result["details"]["found"] is None and result["details"]["sessions_behind"] is None


def test_after_golden_week_data_of_the_last_session_is_zero_sessions_behind(engine) -> None:
    codes = funds(engine, 10)
    navs(engine, codes, dt.date(2026, 9, 30))
    morning = check(engine, at(dt.date(2026, 10, 8), 9))  # the first session after the holiday
    assert morning["ok"] is True
    assert (morning["details"]["expected"], morning["details"]["sessions_behind"]) == ("2026-09-30", 0)
    for day in range(1, 8):  # every day of the closure expects 2026-09-30 too
        assert check(engine, at(dt.date(2026, 10, day), 22))["details"]["expected"] == "2026-09-30"
    evening = check(engine, at(dt.date(2026, 10, 8), 20))
    assert (evening["ok"], evening["details"]["sessions_behind"]) == (False, 1)


def test_on_a_saturday_fridays_data_is_expected() -> None:
    saturday = dt.date(2026, 12, 5)
    for hour in (0, 12, 23):
        assert expected_session(at(saturday, hour), EIGHT_PM, XSHG, SHANGHAI) == dt.date(2026, 12, 4)
    utc_evening = dt.datetime(2026, 12, 4, 12, 30, tzinfo=dt.UTC)  # Friday 20:30 in Shanghai
    assert expected_session(utc_evening, EIGHT_PM, XSHG, SHANGHAI) == dt.date(2026, 12, 4)
    with pytest.raises(ValueError, match="aware"):
        expected_session(dt.datetime(2026, 12, 5, 12), EIGHT_PM, XSHG, SHANGHAI)


def test_newer_data_than_expected_counts_the_expected_sessions_funds(engine) -> None:
    codes = funds(engine, 10)
    navs(engine, codes, WEDNESDAY)
    navs(engine, codes[:3], THURSDAY)  # the evening's load under way
    result = check(engine, at(THURSDAY, 19))
    assert result["ok"] is True and result["details"]["found"] == "2026-12-03"
    assert result["details"]["expected"] == "2026-12-02" and result["details"]["coverage"] == 1.0


def test_metrics_use_their_calc_date(engine) -> None:
    codes = funds(engine, 2)
    with engine.begin() as conn:
        conn.execute(
            fund_metrics.insert(),
            [
                {"fund_code": c, "calc_date": THURSDAY, "window_days": 756, "n_obs": 100, "updated_at": STAMP}
                for c in codes
            ],
        )
    result = check(engine, at(THURSDAY, 21, 30), "fund_metrics", deadline=dt.time(21))
    assert result["ok"] is True and result["details"]["table"] == "fund_metrics"


def test_bad_arguments_are_named(engine) -> None:
    with pytest.raises(ValueError, match="table 'fund_info' is not one of fund_nav, fund_metrics"):
        check(engine, at(THURSDAY, 21), "fund_info")
    with pytest.raises(ValueError, match="min_coverage=1.5 must be from 0 to 1"):
        check(engine, at(THURSDAY, 21), min_coverage=1.5)


def test_settings_read_each_promise_and_name_each_bad_value() -> None:
    default = SlaSettings.from_env({})
    assert default.problems == ()
    assert (default.by_table["fund_nav"].deadline, default.by_table["fund_nav"].min_coverage) == (
        EIGHT_PM,
        0.95,
    )
    assert default.by_table["fund_metrics"].deadline == dt.time(21)
    changed = SlaSettings.from_env({"FUND_NAV_DEADLINE": "19:45", "FUND_METRICS_MIN_COVERAGE": "0.5"})
    assert changed.by_table["fund_nav"].deadline == dt.time(19, 45)
    assert changed.by_table["fund_metrics"].min_coverage == 0.5
    bad = SlaSettings.from_env(
        {"FUND_NAV_DEADLINE": "8pm", "FUND_METRICS_DEADLINE": "24:00", "FUND_NAV_MIN_COVERAGE": "95"}
    )
    assert list(bad.problems) == [
        "FUND_NAV_DEADLINE='8pm' is not a time of day HH:MM (00:00 to 23:59)",
        "FUND_NAV_MIN_COVERAGE='95' must be from 0 to 1",
        "FUND_METRICS_DEADLINE='24:00' is not a time of day HH:MM (00:00 to 23:59)",
    ]


def test_the_queries_need_no_pandas() -> None:
    import subprocess
    import sys

    code = "import sys, fundpipe.sla; print('pandas' in sys.modules or 'numpy' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        == "False\n"
    )


# -- the bundled check jobs (jobs/fund_freshness.py) ----------------------------------------------
JOB_RUN = """
import datetime as dt, json, logging, sys
from zoneinfo import ZoneInfo
import sqlalchemy as sa
from fund_common.calendars import SessionCalendar, store
from fund_scheduler.run.context import JobContext
from fund_scheduler.settings import Settings
from fundpipe.schema import fund_info, fund_nav
from jobs.fund_freshness import freshness
from tests.support.schema import create_all_tables

home, url = sys.argv[1], sys.argv[2]
engine = sa.create_engine(url)
create_all_tables(engine)
closed = {dt.date(2026, 10, d): "National Day" for d in (1, 2, 5, 6, 7)}
store.save(engine, SessionCalendar("XSHG", dt.date(2026, 1, 1), dt.date(2026, 12, 31), closed), "test")
stamp = dt.datetime(2026, 1, 1)
with engine.begin() as conn:
    conn.execute(fund_info.insert(), [{"fund_code": "000001", "is_active": True, "updated_at": stamp}])
    conn.execute(fund_nav.insert(), [{"fund_code": "000001", "nav_date": dt.date(2026, 9, 30),
                                     "unit_nav": 1.0, "updated_at": stamp}])
settings = Settings.from_env({"SCHEDULER_HOME": home, "DATABASE_URL": url, "FUND_NAV_DEADLINE": "19:30"})
shanghai = ZoneInfo("Asia/Shanghai")
ctx = JobContext("fund_nav_freshness", None, None, "manual", settings, shanghai, logging.getLogger("t"),
                 _engine=engine)
results = [freshness(ctx, "fund_nav", now=dt.datetime(2026, 10, 8, h, 0, tzinfo=shanghai)) for h in (9, 20)]
heavy = sorted(m for m in ("pandas", "numpy", "exchange_calendars") if m in sys.modules)
print(json.dumps({"results": results, "heavy": heavy}))
"""


def test_the_nav_job_reads_the_stored_calendar_and_its_deadline_without_pandas(tmp_path) -> None:
    import json
    import subprocess
    import sys

    from tests.support.harness import PROJECT

    url = f"sqlite:///{tmp_path / 's.db'}"
    done = subprocess.run(
        [sys.executable, "-c", JOB_RUN, str(tmp_path), url],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    morning, evening = answer["results"]
    assert answer["heavy"] == []
    assert (morning["ok"], morning["details"]["calendar"], morning["details"]["sessions_behind"]) == (
        True,
        "XSHG",
        0,
    )
    assert morning["details"]["expected"] == "2026-09-30"  # the stored calendar's National Day
    assert (evening["ok"], evening["details"]["deadline"], evening["details"]["expected"]) == (
        False,
        "19:30",
        "2026-10-08",
    )


def test_the_config_check_names_each_bad_threshold() -> None:
    from jobs.fund_freshness import freshness_settings

    assert freshness_settings({}) == []
    assert freshness_settings({"FUND_METRICS_DEADLINE": "21", "FUND_METRICS_MIN_COVERAGE": "-1"}) == [
        "FUND_METRICS_DEADLINE='21' is not a time of day HH:MM (00:00 to 23:59)",
        "FUND_METRICS_MIN_COVERAGE='-1' must be from 0 to 1",
    ]
