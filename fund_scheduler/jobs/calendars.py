"""The book of exchange calendars the cron triggers consult: :data:`BOOK`, by name.

A :class:`~fund_scheduler.jobs.triggers.CalendarCronTrigger` stores only its calendar's name (a
trigger restored from the job store is rebuilt from JSON), so it looks the sessions up here at
each fire time. The daemon fills the book (:meth:`CalendarBook.install`) at start, on reload and
when the stored calendars change, from the ``exchange_calendars`` table and the operator file
(``fund_common.calendars.load_calendars``); a CLI command that lists fire times (``next``) fills
its own process's book the same way. Nothing here imports exchange_calendars or pandas.

Never an exception for the scheduler loop: a calendar not in the book is weekdays (every weekday
a session), and a day beyond a calendar's known range is a session when it is a weekday; each
with one warning line per calendar per day (the book's :attr:`~CalendarBook.clock`'s day)::

    calendar XSHG known until 2026-12-31: 2027-01-04 taken as a session (weekday fallback)
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping

from fund_common.calendars.model import SessionCalendar, weekdays_only
from fund_common.clock import utcnow

__all__ = ["BOOK", "CalendarBook"]

logger = logging.getLogger("scheduler.calendars")


class CalendarBook:
    """Session calendars by name, replaced whole by :meth:`install`; read by the triggers."""

    def __init__(self, clock: Callable[[], dt.datetime] = utcnow) -> None:
        #: The wall clock whose (UTC) day bounds the warnings to one per calendar per day.
        self.clock = clock
        self._by_name: dict[str, SessionCalendar] = {}
        self._warned: set[tuple[str, str, dt.date]] = set()
        self._lock = threading.Lock()

    def install(self, by_name: Mapping[str, SessionCalendar]) -> dict[str, SessionCalendar]:
        """Replace the book's calendars by ``by_name``; return the ones it held. A calendar that
        changed is warned about afresh."""
        previous, self._by_name = self._by_name, dict(by_name)
        changed = {name for name in {*previous, *by_name} if previous.get(name) != by_name.get(name)}
        with self._lock:
            self._warned = {key for key in self._warned if key[0] not in changed}
        return previous

    def names(self) -> list[str]:
        """The names of the calendars in the book, sorted."""
        return sorted(self._by_name)

    def calendars(self) -> dict[str, SessionCalendar]:
        """The calendars in the book by name (a copy)."""
        return dict(self._by_name)

    def get(self, name: str) -> SessionCalendar:
        """Calendar ``name``; weekdays (with a warning) when the book lacks it."""
        calendar = self._by_name.get(name)
        if calendar is None:
            self._warn_once(
                name, "missing", "calendar %s is not loaded: weekdays are taken for sessions", name
            )
            return weekdays_only(name)
        return calendar

    def closure(self, name: str, day: dt.date) -> str | None:
        """Why ``day`` is no session of calendar ``name`` (``XSHG closed: National Day``), None
        for a session; beyond the known range a weekday is a session, with a warning."""
        calendar = self.get(name)
        if not calendar.knows(day) and calendar.first <= calendar.last and calendar.is_session(day):
            self._warn_once(
                name,
                "beyond",
                "calendar %s known until %s: %s taken as a session (weekday fallback)",
                name,
                calendar.last,
                day,
            )
        return calendar.closure(day)

    def _warn_once(self, name: str, what: str, message: str, *args: object) -> None:
        key = (name, what, self.clock().date())
        with self._lock:
            if key in self._warned:
                return
            self._warned = {k for k in self._warned if k[2] == key[2]} | {key}
        logger.warning(message, *args)


#: The book of this process (the daemon installs its calendars here; see the module docstring).
BOOK = CalendarBook()
