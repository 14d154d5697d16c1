"""An exchange's sessions as plain Python: :class:`SessionCalendar` (no pandas, no numpy).

A calendar knows the days from :attr:`~SessionCalendar.first` to :attr:`~SessionCalendar.last`
(its *known range*). Within it a day is a session when it is a weekday (Monday to Friday) not in
:attr:`~SessionCalendar.closed`, or a weekend day in :attr:`~SessionCalendar.extra`. Beyond the
range nothing is known, and a weekday is taken for a session (the weekday fallback): callers
that care ask :meth:`~SessionCalendar.knows` and warn. Each closed day carries the name of its
holiday where it is known (``"National Day"``), else ``""``::

    >>> import datetime as dt
    >>> cal = SessionCalendar("XSHG", dt.date(2026, 1, 1), dt.date(2026, 12, 31),
    ...                       closed={dt.date(2026, 10, 1): "National Day"})
    >>> cal.is_session(dt.date(2026, 10, 1)), cal.closure(dt.date(2026, 10, 1))
    (False, 'XSHG closed: National Day')
    >>> cal.sessions_after(dt.date(2026, 9, 30), dt.date(2026, 10, 2))
    1

The JSON form (:meth:`~SessionCalendar.to_json`, :meth:`~SessionCalendar.from_json`) is what the
``exchange_calendars`` table stores and what a child process hands the daemon.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fund_common.i18n import N_
from fund_common.i18n import gettext as _

__all__ = ["HOLIDAY_NAMES", "WEEKDAYS", "SessionCalendar", "holiday_words", "weekdays_only"]

#: The Chinese public holidays' names the calendars store (fund_common.calendars.library): shown
#: in the reader's language by :func:`holiday_words`; stored and logged in English.
HOLIDAY_NAMES = frozenset(
    (
        N_("New Year's Day"),
        N_("Spring Festival"),
        N_("Qingming Festival"),
        N_("Labour Day"),
        N_("Dragon Boat Festival"),
        N_("Mid-Autumn Festival"),
        N_("National Day"),
    )
)


def holiday_words(name: str | None) -> str:
    """A closed day's holiday name in the language in effect (``国庆节``); a name the calendars
    do not know is shown as stored; none: ``holiday`` in words."""
    if not name:
        return _("holiday")
    return _(name) if name in HOLIDAY_NAMES else name

#: ``date.weekday()`` numbers of the days that are sessions unless closed (Monday to Friday).
WEEKDAYS = frozenset(range(5))
_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class SessionCalendar:
    """The sessions of one exchange (see the module docstring). Immutable."""

    name: str
    first: dt.date
    last: dt.date
    #: Weekdays within the range without a session -> the holiday's name ("" when not known).
    closed: Mapping[dt.date, str] = field(default_factory=dict)
    #: Weekend days within the range with a session -> why ("" when not known).
    extra: Mapping[dt.date, str] = field(default_factory=dict)
    #: Where the days come from, e.g. ``exchange_calendars 4.13.2 + config/calendars.toml``.
    source: str = ""
    _closed_sorted: list[dt.date] = field(init=False, repr=False, compare=False)
    _extra_sorted: list[dt.date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_closed_sorted", sorted(self.closed))
        object.__setattr__(self, "_extra_sorted", sorted(self.extra))

    # -- one day -------------------------------------------------------------------------------
    def knows(self, day: dt.date) -> bool:
        """True when ``day`` is within the known range."""
        return self.first <= day <= self.last

    def is_session(self, day: dt.date) -> bool:
        """True when ``day`` is a session (beyond the known range: when it is a weekday)."""
        if day.weekday() in WEEKDAYS:
            return day not in self.closed
        return day in self.extra

    def closure(self, day: dt.date) -> str | None:
        """Why ``day`` is no session, e.g. ``XSHG closed: National Day``; None for a session."""
        if self.is_session(day):
            return None
        if day.weekday() not in WEEKDAYS:
            return f"{self.name} closed: weekend"
        name = self.closed.get(day) or "holiday"
        return f"{self.name} closed: {name}"

    def closure_words(self, day: dt.date) -> str | None:
        """:meth:`closure` for a reader, in the language in effect (``XSHG 休市：国庆节``; the
        English ``closure`` is what validation stores and logs)."""
        if self.is_session(day):
            return None
        why = _("weekend") if day.weekday() not in WEEKDAYS else holiday_words(self.closed.get(day))
        return _("{calendar} closed: {why}").format(calendar=self.name, why=why)

    def next_session(self, day: dt.date) -> dt.date:
        """The first session on or after ``day``."""
        while not self.is_session(day):
            day += _ONE_DAY
        return day

    def previous_session(self, day: dt.date) -> dt.date:
        """The last session strictly before ``day``."""
        day -= _ONE_DAY
        while not self.is_session(day):
            day -= _ONE_DAY
        return day

    def session_on_or_before(self, day: dt.date) -> dt.date:
        """``day`` when it is a session, else the last session before it."""
        return day if self.is_session(day) else self.previous_session(day)

    # -- ranges --------------------------------------------------------------------------------
    def sessions_after(self, latest: dt.date, day: dt.date) -> int:
        """Sessions after ``latest`` up to and including ``day`` (0 when ``day`` is not after):
        how many sessions data dated ``latest`` is behind ``day``."""
        if day <= latest:
            return 0
        weeks, rest = divmod((day - latest).days, 7)
        count = weeks * len(WEEKDAYS)
        count += sum((latest + dt.timedelta(days=i)).weekday() in WEEKDAYS for i in range(1, rest + 1))
        closed, extra = self._closed_sorted, self._extra_sorted
        count -= bisect.bisect_right(closed, day) - bisect.bisect_right(closed, latest)
        count += bisect.bisect_right(extra, day) - bisect.bisect_right(extra, latest)
        return count

    def sessions(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        """The sessions from ``start`` to ``end``, both included, in order."""
        day = start
        while day <= end:
            if self.is_session(day):
                yield day
            day += _ONE_DAY

    def first_of_sessions(self, day: dt.date, count: int) -> dt.date:
        """The first of the ``count`` sessions that end on ``day`` (on the session before it
        when ``day`` is none); ``count`` is at least 1."""
        if count < 1:
            raise ValueError(f"count={count!r} must be at least 1")
        day = self.session_on_or_before(day)
        for _step in range(count - 1):
            day = self.previous_session(day)
        return day

    def days_left(self, today: dt.date) -> int:
        """Days from ``today`` to the end of the known range (negative once past it)."""
        return (self.last - today).days

    def holidays(self) -> list[dt.date]:
        """The closed weekdays, sorted (what ``numpy.busdaycalendar`` calls holidays)."""
        return list(self._closed_sorted)

    def weekend_sessions(self) -> list[dt.date]:
        """The weekend days with a session, sorted."""
        return list(self._extra_sorted)

    # -- JSON ----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "closed": {d.isoformat(): why for d, why in sorted(self.closed.items())},
            "extra": {d.isoformat(): why for d, why in sorted(self.extra.items())},
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionCalendar:
        """Rebuild from :meth:`to_json`; ValueError naming what is wrong."""
        try:
            return cls(
                name=str(data["name"]),
                first=dt.date.fromisoformat(data["first"]),
                last=dt.date.fromisoformat(data["last"]),
                closed={dt.date.fromisoformat(k): str(v) for k, v in dict(data.get("closed", {})).items()},
                extra={dt.date.fromisoformat(k): str(v) for k, v in dict(data.get("extra", {})).items()},
                source=str(data.get("source", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a session calendar: {exc}") from None


def weekdays_only(name: str, source: str = "weekdays (no exchange data)") -> SessionCalendar:
    """A calendar that knows no day: every weekday is a session (the fallback)."""
    empty = dt.date.min + _ONE_DAY
    return SessionCalendar(name, empty, empty - _ONE_DAY, source=source)
