"""The trading calendar: which days have NAVs, and counting them.

Every business-day question of fundpipe is answered here: validation's ``trading_day`` rule
and the previous trading day its return rules compare with, how many trading days the monitor
and the weekly report find the data behind, and where the collector's backfill starts. For now
a trading day is Monday to Friday, with no holidays. The next issue plugs the SSE/SZSE exchange
calendar in *here*: its closed days go into :data:`HOLIDAYS` (and :data:`TRADING_WEEKDAYS`
stays Monday to Friday); nothing else in fundpipe counts business days. (The demo source's
synthetic walk indexes its own weekdays: that is the generator's index, not a calendar
question.)

The calendar is declared once, by those two constants, and read two ways: one day at a time in
plain Python (:func:`is_trading_day`, :func:`previous_trading_day`,
:func:`trading_days_between`, :func:`first_of_trading_days`), which the monitoring panel uses
inside the daemon without loading numpy; and over whole ``datetime64[D]`` arrays
(:func:`trading_day_mask`, :func:`previous_trading_days`), which validation uses on a batch,
through a ``numpy.busdaycalendar`` built from the same constants::

    >>> import datetime as dt
    >>> trading_days_between(dt.date(2024, 6, 7), dt.date(2024, 6, 10))  # Friday -> Monday
    1
    >>> first_of_trading_days(dt.date(2024, 6, 9), 5)  # the 5 trading days up to a Sunday
    datetime.date(2024, 6, 3)
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "HOLIDAYS",
    "TRADING_WEEKDAYS",
    "first_of_trading_days",
    "is_trading_day",
    "previous_trading_day",
    "previous_trading_days",
    "trading_day_mask",
    "trading_days_between",
]

#: Weekdays with trading, as ``date.weekday()`` numbers (Monday 0).
TRADING_WEEKDAYS: frozenset[int] = frozenset(range(5))
#: Days without trading that fall on a trading weekday (the exchange calendar's closed days).
HOLIDAYS: frozenset[dt.date] = frozenset()

_ONE_DAY = dt.timedelta(days=1)


def is_trading_day(day: dt.date) -> bool:
    """True when ``day`` is a trading day."""
    return day.weekday() in TRADING_WEEKDAYS and day not in HOLIDAYS


def previous_trading_day(day: dt.date) -> dt.date:
    """The last trading day strictly before ``day`` (before a Monday or a Saturday: the Friday)."""
    day -= _ONE_DAY
    while not is_trading_day(day):
        day -= _ONE_DAY
    return day


def trading_days_between(latest: dt.date, today: dt.date) -> int:
    """Trading days after ``latest`` up to and including ``today`` (0 when ``today`` is not after).

    How far data dated ``latest`` is behind ``today``: a Friday NAV on the Monday after is 1 behind.
    """
    if today <= latest:
        return 0
    weeks, rest = divmod((today - latest).days, 7)
    days = weeks * len(TRADING_WEEKDAYS)
    days += sum((latest + dt.timedelta(days=i)).weekday() in TRADING_WEEKDAYS for i in range(1, rest + 1))
    closed = _closed_weekdays(TRADING_WEEKDAYS, HOLIDAYS)
    return days - (bisect.bisect_right(closed, today) - bisect.bisect_right(closed, latest))


def first_of_trading_days(as_of: dt.date, n: int) -> dt.date:
    """The first of the ``n`` trading days that end on ``as_of`` (on the last trading day before
    it when ``as_of`` is not one); ``n`` is at least 1."""
    if n < 1:
        raise ValueError(f"n={n!r} must be at least 1")
    day = as_of if is_trading_day(as_of) else previous_trading_day(as_of)
    for _ in range(n - 1):
        day = previous_trading_day(day)
    return day


def trading_day_mask(days: Any) -> np.ndarray:
    """True where a ``datetime64[D]`` day (an array, or anything ``np.asarray`` reads as one)
    is a trading day."""
    import numpy as np

    return np.is_busday(np.asarray(days, dtype="datetime64[D]"), busdaycal=_busdaycalendar())


def previous_trading_days(days: Any) -> np.ndarray:
    """:func:`previous_trading_day` of each ``datetime64[D]`` day."""
    import numpy as np

    days = np.asarray(days, dtype="datetime64[D]")
    return np.busday_offset(days, -1, roll="forward", busdaycal=_busdaycalendar())


@functools.cache
def _closed_weekdays(weekdays: frozenset[int], holidays: frozenset[dt.date]) -> list[dt.date]:
    """The holidays on trading weekdays, sorted (only those reduce a count of weekdays)."""
    return sorted(d for d in holidays if d.weekday() in weekdays)


def _busdaycalendar() -> np.busdaycalendar:
    """:data:`TRADING_WEEKDAYS` and :data:`HOLIDAYS` as a ``numpy.busdaycalendar``."""
    return _numpy_calendar(TRADING_WEEKDAYS, HOLIDAYS)


@functools.cache
def _numpy_calendar(weekdays: frozenset[int], holidays: frozenset[dt.date]) -> np.busdaycalendar:
    import numpy as np

    weekmask = [d in weekdays for d in range(7)]
    return np.busdaycalendar(weekmask=weekmask, holidays=sorted(holidays))
