"""The report's week: the ISO week (Monday to Sunday) that contains a day, its file name, and a
day's weekday in the reader's language."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fund_common.i18n import N_
from fund_common.i18n import gettext as _

__all__ = ["report_name", "weekday", "week_bounds", "week_window", "zone"]

_WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def zone(tz: dt.tzinfo | str | None) -> dt.tzinfo:
    """``tz`` as a tzinfo: an IANA name is looked up, None is UTC."""
    if tz is None:
        return dt.UTC
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def week_bounds(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the ISO week containing ``as_of``."""
    monday = as_of - dt.timedelta(days=as_of.weekday())
    return monday, monday + dt.timedelta(days=6)


def week_window(as_of: dt.date, tz: dt.tzinfo | str | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The instants, aware UTC, that bound ``as_of``'s ISO week in zone ``tz`` (default UTC).

    ``[start, end)``: Monday 00:00 to the next Monday 00:00 there. A run started in it falls
    on a day of the report (the day it started on in ``tz``).
    """
    where = zone(tz)
    monday, sunday = week_bounds(as_of)
    start = dt.datetime.combine(monday, dt.time(), tzinfo=where)
    end = dt.datetime.combine(sunday + dt.timedelta(days=1), dt.time(), tzinfo=where)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def report_name(as_of: dt.date) -> str:
    """``weekly-<ISO year>-W<ISO week>.html``, e.g. ``weekly-2024-W23.html`` for 2024-06-09."""
    year, week, _ = as_of.isocalendar()
    return f"weekly-{year}-W{week:02d}.html"


def weekday(day: dt.date) -> str:
    """``day``'s abbreviated weekday in the language in effect (``Mon``, ``周一``)."""
    return _(_WEEKDAYS[day.weekday()])
