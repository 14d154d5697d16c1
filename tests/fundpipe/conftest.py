"""Calendars for the fund tests: XSHG as the exchange_calendars library computes it (once per
session, ~1 s), and the weekday calendar the older tests' dates were chosen for."""

from __future__ import annotations

import pytest

from fund_common.calendars import SessionCalendar, weekdays_only


@pytest.fixture(scope="session")
def xshg() -> SessionCalendar:
    """The Shanghai Stock Exchange's sessions (2026-10-01..07 closed for National Day)."""
    from fund_common.calendars import library

    return library.compute("XSHG")


@pytest.fixture(scope="session")
def weekdays() -> SessionCalendar:
    """Every weekday a session: the calendar of tests that are not about holidays."""
    return weekdays_only("WEEKDAYS")
