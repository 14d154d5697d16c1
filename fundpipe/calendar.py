"""The trading calendar: which days have NAVs, and counting them.

Every trading-day question of fundpipe is answered by one
:class:`~fund_common.calendars.SessionCalendar`, the sessions of the exchange ``FUND_CALENDAR``
(default ``XSHG``, Shanghai) with the operator's ``SCHEDULER_CALENDARS_FILE`` laid over them:
validation's ``trading_day`` rule and the previous session its return rules compare with, how
many sessions the monitor and the weekly report find the data behind, where the collector's
backfill starts, which days the demo source publishes and the closed days the weekly report
lists. :func:`fund_calendar` loads it; every entry point of :mod:`fundpipe.tasks` takes it as a
parameter and hands it on (no module keeps a calendar of its own).

One day at a time, ask the calendar itself (``is_session``, ``previous_session``,
``sessions_after``, ``first_of_sessions``, ``closure``): plain Python, what the monitoring panel
uses inside the daemon without loading numpy. Over whole ``datetime64[D]`` arrays, which
validation uses on a batch, :func:`trading_day_mask` and :func:`previous_trading_days` answer
the same from a ``numpy.busdaycalendar`` built from the calendar's closed weekdays, plus its
weekend sessions. Beyond the calendar's known range every weekday is a session::

    >>> import datetime as dt
    >>> from fund_common.calendars import SessionCalendar
    >>> xshg = SessionCalendar("XSHG", dt.date(2026, 1, 1), dt.date(2026, 12, 31),
    ...                        closed={dt.date(2026, 10, 1): "National Day"})
    >>> trading_day_mask(xshg, ["2026-09-30", "2026-10-01"]).tolist()
    [True, False]
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fund_common.calendars import SessionCalendar

if TYPE_CHECKING:
    import numpy as np
    import sqlalchemy as sa

    from fundpipe.settings import FundSettings

__all__ = ["fund_calendar", "load_fund_calendar", "previous_trading_days", "trading_day_mask"]

logger = logging.getLogger("fundpipe")


def load_fund_calendar(
    engine: sa.Engine, settings: FundSettings, *, compute_missing: bool = True
) -> tuple[SessionCalendar, list[str]]:
    """``settings.calendar``'s sessions and the problems met loading them (``[]`` when none).

    Read through :func:`fund_common.calendars.load_calendars`: the calendar stored in the
    ``exchange_calendars`` table, else (``compute_missing``) computed from the
    ``exchange_calendars`` library, which loads pandas, then ``settings.calendars_file`` laid
    over it. A calendar that cannot be had is the weekday fallback (every weekday a session),
    with a problem saying why. In the daemon (the monitoring panel) pass
    ``compute_missing=False``: nothing then imports pandas.
    """
    from fund_common.calendars import load_calendars

    name = settings.calendar
    loaded = load_calendars(engine, [name], settings.calendars_file, compute_missing=compute_missing)
    return loaded.by_name[name], list(loaded.problems)


def fund_calendar(
    engine: sa.Engine, settings: FundSettings, *, compute_missing: bool = True
) -> SessionCalendar:
    """:func:`load_fund_calendar`'s calendar; each problem is logged as a warning."""
    calendar, problems = load_fund_calendar(engine, settings, compute_missing=compute_missing)
    for problem in problems:
        logger.warning("calendar %s: %s", settings.calendar, problem)
    return calendar


def trading_day_mask(calendar: SessionCalendar, days: Any) -> np.ndarray:
    """True where a ``datetime64[D]`` day (an array, or anything ``np.asarray`` reads as one)
    is a session of ``calendar``."""
    import numpy as np

    days = np.asarray(days, dtype="datetime64[D]")
    mask = np.is_busday(days, busdaycal=_busdaycalendar(calendar))
    weekend = _weekend_sessions(calendar)
    return mask | np.isin(days, weekend) if len(weekend) else mask


def previous_trading_days(calendar: SessionCalendar, days: Any) -> np.ndarray:
    """The last session of ``calendar`` strictly before each ``datetime64[D]`` day (NaT stays NaT)."""
    import numpy as np

    days = np.asarray(days, dtype="datetime64[D]")
    previous = np.busday_offset(days, -1, roll="forward", busdaycal=_busdaycalendar(calendar))
    weekend = _weekend_sessions(calendar)
    if len(weekend):  # a weekend session after the previous weekday session and before the day
        at = np.searchsorted(weekend, days, side="left") - 1
        before = weekend[np.maximum(at, 0)]
        later = (at >= 0) & ~np.isnat(days) & (before > previous)
        previous = np.where(later, before, previous)
    return previous


def _weekend_sessions(calendar: SessionCalendar) -> np.ndarray:
    import numpy as np

    return np.array(calendar.weekend_sessions(), dtype="datetime64[D]")


def _busdaycalendar(calendar: SessionCalendar) -> np.busdaycalendar:
    """Monday to Friday without ``calendar``'s closed weekdays, as a ``numpy.busdaycalendar``
    (built per call: ~0.2 ms for twenty years of holidays)."""
    import numpy as np

    holidays = np.array([d.isoformat() for d in calendar.holidays()], dtype="datetime64[D]")
    return np.busdaycalendar(weekmask="1111100", holidays=holidays)
