"""Session calendars for tests: XSHG's 2026 as the library knows it (National Day included), and
a context manager putting calendars in the scheduler's book for the length of a test."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping

from fund_common.calendars.model import SessionCalendar
from fund_scheduler.jobs.calendars import BOOK

__all__ = ["NATIONAL_DAY_2026", "in_book", "xshg_2026"]

#: XSHG's National Day closure of 2026 (the weekdays of 1-7 October).
NATIONAL_DAY_2026 = [dt.date(2026, 10, day) for day in (1, 2, 5, 6, 7)]


def xshg_2026(**closed: str) -> SessionCalendar:
    """XSHG known 2026-01-01..2026-12-31, closed on National Day (and on ``closed``: ISO date ->
    holiday name)."""
    days = {day: "National Day" for day in NATIONAL_DAY_2026}
    days.update({dt.date.fromisoformat(day): why for day, why in closed.items()})
    return SessionCalendar(
        "XSHG", dt.date(2026, 1, 1), dt.date(2026, 12, 31), closed=days, source="tests 2026"
    )


@contextlib.contextmanager
def in_book(calendars: Mapping[str, SessionCalendar] | SessionCalendar, clock=None) -> Iterator[None]:
    """The scheduler's calendar book holds ``calendars`` (and uses ``clock``) inside the block."""
    by_name = {calendars.name: calendars} if isinstance(calendars, SessionCalendar) else dict(calendars)
    previous, previous_clock = BOOK.install(by_name), BOOK.clock
    if clock is not None:
        BOOK.clock = clock
    try:
        yield
    finally:
        BOOK.install(previous)
        BOOK.clock = previous_clock
