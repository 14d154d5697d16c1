"""The trading calendar: one declaration (weekdays, holidays), read one day at a time and over arrays."""

import datetime as dt
import subprocess
import sys

import numpy as np
import pytest

from fundpipe import calendar
from fundpipe.calendar import (
    first_of_trading_days,
    is_trading_day,
    previous_trading_day,
    previous_trading_days,
    trading_day_mask,
    trading_days_between,
)
from fundpipe.settings import PROJECT_DIR

FRIDAY, SATURDAY, SUNDAY, MONDAY = (dt.date(2024, 6, d) for d in (7, 8, 9, 10))
# Dragon Boat Festival 2024 (Monday 2024-06-10): what the exchange calendar will add
HOLIDAY = MONDAY


def span(first, days):
    return [first + dt.timedelta(days=i) for i in range(days)]


def weekday_count(latest, today):
    """Reference: Monday-Friday days after ``latest`` up to and including ``today``, one by one."""
    return sum(d.weekday() < 5 for d in span(latest + dt.timedelta(days=1), (today - latest).days))


@pytest.mark.parametrize(
    ("latest", "today", "behind"),
    [
        ("2024-06-07", "2024-06-07", 0),  # Friday, same day
        ("2024-06-07", "2024-06-08", 0),  # Saturday
        ("2024-06-07", "2024-06-10", 1),  # Monday
        ("2024-06-07", "2024-06-12", 3),
        ("2024-06-07", "2024-06-14", 5),  # a week
        ("2024-06-05", "2024-06-26", 15),  # three weeks
        ("2024-06-08", "2024-06-10", 1),  # from a Saturday
        ("2024-06-10", "2024-06-07", 0),  # latest after today
    ],
)
def test_trading_days_between(latest, today, behind):
    assert trading_days_between(dt.date.fromisoformat(latest), dt.date.fromisoformat(today)) == behind


def test_trading_days_between_counts_every_weekday_once():
    days = span(dt.date(2023, 12, 18), 60)
    for latest in days:
        for today in days:
            expected = weekday_count(latest, today) if today > latest else 0
            assert trading_days_between(latest, today) == expected, (latest, today)


def test_one_day_at_a_time():
    assert [is_trading_day(d) for d in (FRIDAY, SATURDAY, SUNDAY, MONDAY)] == [True, False, False, True]
    assert [previous_trading_day(d) for d in (SATURDAY, SUNDAY, MONDAY)] == [FRIDAY] * 3
    assert previous_trading_day(FRIDAY) == dt.date(2024, 6, 6)


@pytest.mark.parametrize(
    ("as_of", "n", "first"),
    [
        (MONDAY, 1, MONDAY),
        (SUNDAY, 1, FRIDAY),  # not a trading day: the days end on the Friday before
        (SUNDAY, 5, dt.date(2024, 6, 3)),
        (MONDAY, 2, FRIDAY),
        (dt.date(2024, 6, 3), 260, dt.date(2023, 6, 6)),  # 52 weeks back, then the Tuesday
    ],
)
def test_first_of_trading_days(as_of, n, first):
    assert first_of_trading_days(as_of, n) == first
    last = as_of if is_trading_day(as_of) else previous_trading_day(as_of)
    assert trading_days_between(first, last) == n - 1


def test_first_of_trading_days_needs_one_day():
    with pytest.raises(ValueError, match="n=0 must be at least 1"):
        first_of_trading_days(MONDAY, 0)


def test_the_array_forms_agree_with_the_one_day_forms():
    days = span(dt.date(2024, 5, 1), 70)
    array = np.array(days, dtype="datetime64[D]")
    assert trading_day_mask(array).tolist() == [is_trading_day(d) for d in days]
    assert [d.item() for d in previous_trading_days(array)] == [previous_trading_day(d) for d in days]


def test_a_holiday_is_plugged_in_once_and_every_reading_follows(monkeypatch):
    monkeypatch.setattr(calendar, "HOLIDAYS", frozenset({HOLIDAY}))
    tuesday = HOLIDAY + dt.timedelta(days=1)
    assert not is_trading_day(HOLIDAY) and is_trading_day(tuesday)
    assert previous_trading_day(tuesday) == FRIDAY
    assert trading_days_between(FRIDAY, tuesday) == 1  # the Monday does not count
    assert trading_days_between(dt.date(2024, 6, 3), dt.date(2024, 6, 17)) == 9
    assert first_of_trading_days(tuesday, 2) == FRIDAY
    assert first_of_trading_days(HOLIDAY, 1) == FRIDAY
    days = np.array(span(FRIDAY, 5), dtype="datetime64[D]")
    assert trading_day_mask(days).tolist() == [True, False, False, False, True]
    assert previous_trading_days(days)[-1] == np.datetime64(FRIDAY)


def test_importing_and_counting_day_by_day_loads_no_numpy():
    code = (
        "import sys, datetime as d; from fundpipe.calendar import trading_days_between as t; "
        "assert t(d.date(2024, 6, 7), d.date(2024, 6, 10)) == 1; print('numpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_DIR
    ).stdout
    assert out.strip() == "False"
