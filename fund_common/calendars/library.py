"""Sessions from the ``exchange_calendars`` library, as a :class:`SessionCalendar`.

The one module that imports ``exchange_calendars`` (and so pandas), lazily inside the functions
that need it: importing this module loads neither, so the daemon may import it and must only
avoid calling :func:`compute` and :func:`known_names`. Child processes and CLI commands call them.

Holiday names come where the library knows them: the rule-based calendars (XNYS, XLON, ...)
name their regular holidays; their ad hoc closures stay unnamed (``""``). XSHG's precomputed
list has no names, so a Chinese closure is named from its date (:func:`chinese_holiday_name`).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fund_common.calendars.model import WEEKDAYS, SessionCalendar
from fund_common.texttable import one_line

if TYPE_CHECKING:
    from exchange_calendars import ExchangeCalendar  # type: ignore[import-untyped]

__all__ = ["LIBRARY", "chinese_holiday_name", "compute", "known_names", "library_version"]

#: The distribution the sessions come from.
LIBRARY = "exchange_calendars"
#: Calendars that use the Chinese public holidays (named by :func:`chinese_holiday_name`).
CHINESE_CALENDARS = frozenset({"XSHG"})
#: Named in the error for an unknown calendar, when the library has them.
_EXAMPLES = ("XSHG", "XHKG", "XTKS", "XNYS", "XLON", "XETR")
_ONE_DAY = dt.timedelta(days=1)


def library_version() -> str | None:
    """The installed ``exchange_calendars`` version, None when it is not installed (the library
    is not imported)."""
    try:
        return importlib.metadata.version(LIBRARY)
    except importlib.metadata.PackageNotFoundError:
        return None


def known_names() -> list[str]:
    """Every calendar name the library knows, aliases included, sorted (imports the library)."""
    import exchange_calendars

    return sorted(exchange_calendars.get_calendar_names(include_aliases=True))


def compute(name: str) -> SessionCalendar:
    """The sessions of calendar ``name`` over the library's default range (its first to its last
    session), as a :class:`SessionCalendar` named ``name`` (an alias stays the name asked for).

    Raises ValueError naming ``name`` and some calendars the library knows when it knows none
    of that name, or naming the library's error when it cannot build it (some rule-based
    calendars fail with pandas 3). Imports the library (and pandas).
    """
    import exchange_calendars
    from exchange_calendars.errors import InvalidCalendarName  # type: ignore[import-untyped]

    try:
        with warnings.catch_warnings():  # the library's own use of pandas 3.1, not ours to fix
            warnings.filterwarnings(
                "ignore", message="Series.values returning an ndarray that drops timezone"
            )
            library_calendar = exchange_calendars.get_calendar(name)
    except InvalidCalendarName:
        known = set(known_names())
        examples = ", ".join(example for example in _EXAMPLES if example in known)
        raise ValueError(
            f"unknown exchange calendar {name!r} ({LIBRARY} {library_version()} knows "
            f"{len(known)} names, e.g. {examples})"
        ) from None
    except Exception as exc:  # a calendar the library cannot build with this pandas
        raise ValueError(
            f"exchange calendar {name!r}: {LIBRARY} {library_version()} cannot compute it "
            f"({type(exc).__name__}: {one_line(str(exc) or 'no message', 200)})"
        ) from exc
    first = library_calendar.first_session.date()
    last = library_calendar.last_session.date()
    sessions = {stamp.date() for stamp in library_calendar.sessions}
    closed_days = [day for day in _days(first, last) if day.weekday() in WEEKDAYS and day not in sessions]
    names = _holiday_names(library_calendar, first, last)
    if exchange_calendars.resolve_alias(name) in CHINESE_CALENDARS:
        names = {day: chinese_holiday_name(day) for day in closed_days}
    return SessionCalendar(
        name=name,
        first=first,
        last=last,
        closed={day: names.get(day, "") for day in closed_days},
        extra={day: "" for day in sorted(sessions) if day.weekday() not in WEEKDAYS},
        source=f"{LIBRARY} {library_version()}",
    )


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += _ONE_DAY


def _holiday_names(library_calendar: ExchangeCalendar, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """The named regular holidays of a rule-based calendar (observed dates); empty otherwise."""
    rules = library_calendar.regular_holidays
    if rules is None:
        return {}
    named: Any = rules.holidays(first, last, return_name=True)
    return {stamp.date(): str(holiday) for stamp, holiday in named.items()}


# -- Chinese public holidays ------------------------------------------------------------------------
#: (name, the library's table of its dates, days before, days after) a closure may lie from it.
_LUNISOLAR = (
    ("Spring Festival", "chinese_lunar_new_year_dates", 7, 10),
    ("Qingming Festival", "qingming_festival_dates", 3, 3),
    ("Dragon Boat Festival", "dragon_boat_festival_dates", 3, 3),
    ("Mid-Autumn Festival", "mid_autumn_festival_dates", 3, 3),
)


def chinese_holiday_name(day: dt.date) -> str:
    """The Chinese public holiday an exchange closure on ``day`` belongs to, "" when none fits.

    Fixed dates: New Year's Day 30 Dec to 3 Jan, Labour Day 29 Apr to 7 May, National Day 1 to
    8 Oct (it wins over a Mid-Autumn Festival falling in it; 29 and 30 Sep too, when no
    Mid-Autumn Festival is near). Lunisolar ones, from the library's date tables (1960 to 2049):
    Spring Festival 7 days before to 10 after the lunar new year; Qingming, Dragon Boat and
    Mid-Autumn Festival 3 days either side of the festival.
    """
    month_day = (day.month, day.day)
    if month_day >= (12, 30) or month_day <= (1, 3):
        return "New Year's Day"
    if (4, 29) <= month_day <= (5, 7):
        return "Labour Day"
    if (10, 1) <= month_day <= (10, 8):
        return "National Day"
    for name, festival in _festivals():
        if day in festival:
            return name
    return "National Day" if month_day >= (9, 29) and day.month == 9 else ""


@functools.cache
def _festivals() -> list[tuple[str, frozenset[dt.date]]]:
    """Each lunisolar holiday with every day a closure for it may fall on (built once)."""
    from exchange_calendars import lunisolar_holidays

    return [
        (
            name,
            frozenset(
                stamp.date() + dt.timedelta(days=offset)
                for stamp in getattr(lunisolar_holidays, table)
                for offset in range(-before, after + 1)
            ),
        )
        for name, table, before, after in _LUNISOLAR
    ]
