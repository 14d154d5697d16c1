"""The trading calendar: FUND_CALENDAR's sessions loaded once (stored, computed, the operator
file over them), read one day at a time by the calendar and over arrays by fundpipe.calendar."""

import datetime as dt
import logging
import subprocess
import sys

import numpy as np
import pytest

from fund_common.calendars import SessionCalendar, store, table
from fundpipe.calendar import fund_calendar, load_fund_calendar, previous_trading_days, trading_day_mask
from fundpipe.settings import PROJECT_DIR, FundSettings

NATIONAL_DAY = [dt.date(2026, 10, d) for d in (1, 2, 5, 6, 7)]


def span(first, days):
    return [first + dt.timedelta(days=i) for i in range(days)]


@pytest.fixture
def db(engine):
    """The fund database (SQLite, and MariaDB where it runs) with the calendars' table too."""
    table.metadata.create_all(engine)
    return engine


def test_the_array_forms_agree_with_the_calendar_day_by_day(xshg):
    days = span(dt.date(2025, 12, 1), 400)  # crosses the end of the known range (2026-12-31)
    array = np.array(days, dtype="datetime64[D]")
    assert trading_day_mask(xshg, array).tolist() == [xshg.is_session(d) for d in days]
    assert [d.item() for d in previous_trading_days(xshg, array)] == [xshg.previous_session(d) for d in days]
    assert not trading_day_mask(xshg, NATIONAL_DAY).any()
    assert previous_trading_days(xshg, ["2026-10-08"])[0] == np.datetime64("2026-09-30")
    beyond = np.array(["2027-01-01", "2027-01-02", "2027-01-04"], dtype="datetime64[D]")
    assert trading_day_mask(xshg, beyond).tolist() == [True, False, True]  # weekdays past the range


def test_weekend_sessions_count_in_the_array_forms_too():
    cal = SessionCalendar(
        "TEST",
        dt.date(2026, 1, 1),
        dt.date(2026, 12, 31),
        closed={dt.date(2026, 10, 1): "National Day", dt.date(2026, 10, 2): "National Day"},
        extra={dt.date(2026, 10, 10): "make-up session"},
    )
    days = span(dt.date(2026, 9, 26), 20)
    array = np.array(days, dtype="datetime64[D]")
    assert trading_day_mask(cal, array).tolist() == [cal.is_session(d) for d in days]
    assert [d.item() for d in previous_trading_days(cal, array)] == [cal.previous_session(d) for d in days]
    assert previous_trading_days(cal, ["2026-10-12"])[0] == np.datetime64("2026-10-10")
    assert np.isnat(previous_trading_days(cal, np.array(["NaT"], dtype="datetime64[D]"))[0])


def test_fund_calendar_computes_xshg_and_lays_the_operator_file_over_it(db, tmp_path, caplog):
    calendars = tmp_path / "calendars.toml"
    calendars.write_text(
        '[XSHG]\nknown_until = "2027-12-31"\n[XSHG.closed]\n"2027-02-08" = "Spring Festival"\n'
    )
    settings = FundSettings(calendars_file=str(calendars))
    with caplog.at_level(logging.WARNING, logger="fundpipe"):
        cal = fund_calendar(db, settings)
    assert caplog.records == []
    assert cal.name == "XSHG" and "calendars.toml" in cal.source
    assert cal.closure(dt.date(2027, 2, 8)) == "XSHG closed: Spring Festival"
    assert cal.closure(dt.date(2026, 10, 1)) == "XSHG closed: National Day"
    assert cal.is_session(dt.date(2027, 2, 9))
    assert cal.previous_session(dt.date(2027, 2, 9)) == dt.date(2027, 2, 5)
    assert not trading_day_mask(cal, ["2027-02-08"])[0]


def test_the_stored_calendar_is_used_without_computing_and_a_missing_one_is_weekdays_and_a_problem(
    db, tmp_path, caplog
):
    settings = FundSettings(calendar="XSHE", calendars_file=str(tmp_path / "none.toml"))
    with caplog.at_level(logging.WARNING, logger="fundpipe"):
        cal, problems = load_fund_calendar(db, settings, compute_missing=False)
        assert cal.is_session(dt.date(2026, 10, 1))  # weekdays: nothing stored, nothing computed
        fund_calendar(db, settings, compute_missing=False)
    assert len(problems) == 1 and "XSHE" in problems[0] and "weekdays" in problems[0]
    assert [r.getMessage() for r in caplog.records] == [f"calendar XSHE: {problems[0]}"]

    table.metadata.create_all(db)
    mine = SessionCalendar(
        "XSHE", dt.date(2026, 1, 1), dt.date(2026, 12, 31), closed={NATIONAL_DAY[0]: "Test"}
    )
    store.save(db, mine, "test")
    cal, problems = load_fund_calendar(db, settings, compute_missing=False)
    assert problems == [] and cal.closure(NATIONAL_DAY[0]) == "XSHE closed: Test"


def test_an_unknown_calendar_name_is_weekdays_and_a_problem_naming_it(db, tmp_path):
    settings = FundSettings(calendar="NOPE", calendars_file=str(tmp_path / "none.toml"))
    cal, problems = load_fund_calendar(db, settings)
    assert cal.is_session(dt.date(2026, 10, 1))
    assert len(problems) == 1 and "'NOPE'" in problems[0]


def test_importing_and_loading_without_computing_loads_no_numpy_nor_pandas(db, tmp_path):
    code = (
        "import sys, sqlalchemy as sa; from fundpipe.calendar import load_fund_calendar; "
        "from fundpipe.settings import FundSettings; "
        f"e = sa.create_engine({db.url.render_as_string(hide_password=False)!r}); "
        f"s = FundSettings(calendars_file={str(tmp_path / 'x.toml')!r}); "
        "load_fund_calendar(e, s, compute_missing=False); "
        "print(sorted(m for m in ('numpy', 'pandas', 'exchange_calendars') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_DIR
    ).stdout
    assert out.strip() == "[]"
