"""How far a calendar reaches: the warning when its known range is about to end.

Exchanges announce next year's closures in December, often after the library's release: the
operator adds them to the operator file (or upgrades the library) before the range runs out;
after it, every weekday is taken for a session.
"""

from __future__ import annotations

import datetime as dt

from fund_common.calendars.model import SessionCalendar
from fund_common.calendars.operator_file import DEFAULT_OPERATOR_FILE

__all__ = ["ENDING_SOON_DAYS", "ending_soon"]

#: A calendar whose known range ends within this many days is reported.
ENDING_SOON_DAYS = 60


def ending_soon(
    calendar: SessionCalendar,
    today: dt.date,
    within_days: int = ENDING_SOON_DAYS,
    operator_file: str = DEFAULT_OPERATOR_FILE,
) -> str | None:
    """A line when ``calendar``'s known range ends ``within_days`` after ``today`` or sooner (or
    has ended), else None; None too for a calendar that knows no day at all (loading it already
    reported that)."""
    if calendar.first > calendar.last:
        return None
    left = calendar.days_left(today)
    if left > within_days:
        return None
    remedy = f"add next year's closures to {operator_file} (known_until) or upgrade exchange_calendars"
    if left < 0:
        return (
            f"calendar {calendar.name} was known until {calendar.last} ({-left} days ago): {remedy}; "
            "meanwhile its jobs run on weekdays"
        )
    return (
        f"calendar {calendar.name} is known until {calendar.last} ({left} days left): {remedy}; "
        "after that date its jobs run on weekdays"
    )
