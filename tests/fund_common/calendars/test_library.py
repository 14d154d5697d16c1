"""Sessions computed by exchange_calendars: XSHG's closures with their Chinese holiday names, the
rule-based calendars' own names, weekend sessions, aliases and an unknown name."""

from __future__ import annotations

import datetime as dt
import importlib.metadata

import pytest

from fund_common.calendars import SessionCalendar
from fund_common.calendars.library import chinese_holiday_name, compute, known_names, library_version

D = dt.date


@pytest.fixture(scope="module")
def xshg() -> SessionCalendar:
    return compute("XSHG")


def _weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    return [
        first + dt.timedelta(days=i)
        for i in range((last - first).days + 1)
        if (first + dt.timedelta(i)).weekday() < 5
    ]


def test_xshg_covers_the_librarys_default_range_with_its_sessions(xshg: SessionCalendar) -> None:
    import exchange_calendars

    library_calendar = exchange_calendars.get_calendar("XSHG")
    assert (xshg.name, xshg.source) == ("XSHG", f"exchange_calendars {library_version()}")
    assert (xshg.first, xshg.last) == (
        library_calendar.first_session.date(),
        library_calendar.last_session.date(),
    )
    assert xshg.last == D(2026, 12, 31)  # the precomputed list's end (bound_max) in 4.13
    year = [s.date() for s in library_calendar.sessions_in_range("2026-01-01", "2026-12-31")]
    assert list(xshg.sessions(D(2026, 1, 1), D(2026, 12, 31))) == year
    assert xshg.extra == {}


def test_xshg_names_its_closures(xshg: SessionCalendar) -> None:
    closed_2026 = {day: name for day, name in xshg.closed.items() if day.year == 2026}
    assert len(closed_2026) == 19
    assert {day: closed_2026[day] for day in _weekdays(D(2026, 10, 1), D(2026, 10, 7))} == dict.fromkeys(
        [D(2026, 10, 1), D(2026, 10, 2), D(2026, 10, 5), D(2026, 10, 6), D(2026, 10, 7)], "National Day"
    )
    assert {closed_2026[day] for day in _weekdays(D(2026, 2, 16), D(2026, 2, 23))} == {"Spring Festival"}
    assert len(_weekdays(D(2026, 2, 16), D(2026, 2, 23))) == 6
    assert closed_2026[D(2026, 1, 1)] == closed_2026[D(2026, 1, 2)] == "New Year's Day"
    assert closed_2026[D(2026, 9, 25)] == "Mid-Autumn Festival"
    assert closed_2026[D(2026, 4, 6)] == "Qingming Festival"
    assert closed_2026[D(2026, 6, 19)] == "Dragon Boat Festival"
    assert closed_2026[D(2026, 5, 5)] == "Labour Day"
    assert xshg.closure(D(2026, 10, 1)) == "XSHG closed: National Day"
    assert xshg.is_session(D(2026, 9, 30)) and xshg.is_session(D(2026, 10, 8))


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (D(2023, 9, 29), "Mid-Autumn Festival"),  # the festival itself, the eve of Golden Week
        (D(2023, 10, 2), "National Day"),
        (D(2025, 10, 6), "National Day"),  # Mid-Autumn falls inside Golden Week: National Day wins
        (D(2008, 9, 29), "National Day"),  # Golden Week starting in September
        (D(2018, 12, 31), "New Year's Day"),
        (D(2007, 5, 7), "Labour Day"),
        (D(2020, 1, 31), "Spring Festival"),  # extended: 6 days after the lunar new year
        (D(2015, 9, 3), ""),  # a one-off (the Victory Day parade): no rule
    ],
)
def test_chinese_holiday_names_come_from_the_date(day: dt.date, name: str) -> None:
    assert chinese_holiday_name(day) == name


def test_rule_based_calendars_name_regular_holidays_not_ad_hoc_ones() -> None:
    nyse = compute("NYSE")  # an alias: the calendar keeps the name asked for
    assert nyse.name == "NYSE"
    assert nyse.closed[D(2025, 12, 25)] == "Christmas"
    assert nyse.closed[D(2026, 7, 3)] != ""  # 4 July 2026 is a Saturday: observed on the Friday
    assert nyse.closed[D(2025, 1, 9)] == ""  # a national day of mourning: ad hoc, unnamed


def test_weekend_sessions_are_extra_days() -> None:
    always = compute("24/7")
    assert always.closed == {}
    assert D(2026, 10, 3) in always.extra and always.is_session(D(2026, 10, 3))


def test_an_unknown_calendar_is_named_with_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown exchange calendar 'XXXX' \(exchange_calendars .* e\.g\. XSHG, "
    ):
        compute("XXXX")


def test_known_names_and_the_version() -> None:
    assert {"XSHG", "XNYS", "NYSE"} <= set(known_names())
    assert library_version() == importlib.metadata.version("exchange_calendars")


def test_a_calendar_the_library_cannot_build_is_a_one_line_error() -> None:
    # XTAE's Sunday sessions break exchange_calendars 4.13 under pandas 3 (a long message).
    try:
        compute("XTAE")
    except ValueError as exc:
        message = str(exc)
        assert message.startswith("exchange calendar 'XTAE': exchange_calendars ")
        assert " cannot compute it (" in message and len(message) < 300 and "\n" not in message
    else:  # a later library builds it: then it is a calendar like any other
        assert compute("XTAE").name == "XTAE"
