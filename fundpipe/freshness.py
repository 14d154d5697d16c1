"""How fresh a dated fund table is: its newest date on or before a day, and how far behind.

One function, :func:`dated_freshness`, read by the monitoring panel (:mod:`fundpipe.monitor`)
and the weekly report (:mod:`fundpipe.report`), each showing it in its own keys::

    with engine.connect() as conn:
        nav = dated_freshness(conn, fund_nav.c.nav_date, dt.date(2026, 10, 8), xshg)
    # Freshness(latest=date(2026, 9, 30), funds=300, days_behind=8, sessions_behind=1, ...)

Sessions are those of the calendar passed in (:mod:`fundpipe.calendar`): after the National
Day week NAVs dated 2026-09-30 are one session behind on 2026-10-08, not six weekdays.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from fund_common.calendars import SessionCalendar

__all__ = ["STALE_AFTER_SESSIONS", "Freshness", "dated_freshness"]

#: A table more sessions behind than this is ``stale``: on a session's morning the newest NAV
#: is the previous session's (1 behind) until the evening run.
STALE_AFTER_SESSIONS = 1


@dataclasses.dataclass(frozen=True)
class Freshness:
    """The newest date of a table on or before ``day`` (None: no row) and how far behind it is.

    ``funds`` counts the table's rows on that date (one per fund); ``days_behind`` (calendar
    days) and ``sessions_behind`` (sessions of ``calendar`` after ``latest`` up to ``day``) are
    None when there is no row; ``status`` is ``never`` (no row), ``stale`` (more than
    :data:`STALE_AFTER_SESSIONS` sessions behind) or ``ok``.
    """

    day: dt.date
    latest: dt.date | None
    funds: int
    calendar: SessionCalendar = dataclasses.field(repr=False)

    @property
    def days_behind(self) -> int | None:
        return None if self.latest is None else (self.day - self.latest).days

    @property
    def sessions_behind(self) -> int | None:
        return None if self.latest is None else self.calendar.sessions_after(self.latest, self.day)

    @property
    def status(self) -> str:
        behind = self.sessions_behind
        if behind is None:
            return "never"
        return "stale" if behind > STALE_AFTER_SESSIONS else "ok"

    @property
    def latest_iso(self) -> str | None:
        return None if self.latest is None else self.latest.isoformat()


def dated_freshness(
    conn: sa.Connection,
    column: sa.Column[Any],
    day: dt.date,
    calendar: SessionCalendar,
    *,
    tables: Collection[str] | None = None,
) -> Freshness:
    """Freshness of ``column``'s table (a date column, one row per fund and date) at ``day``,
    sessions counted by ``calendar``.

    Two queries: the newest date on or before ``day``, then the rows on that date. ``tables``,
    when given, names the tables that exist: a missing table has no row (and is not queried).
    """
    if tables is not None and column.table.name not in tables:
        return Freshness(day, None, 0, calendar)
    latest = conn.execute(sa.select(sa.func.max(column)).where(column <= day)).scalar()
    funds = 0
    if latest is not None:
        funds = conn.execute(
            sa.select(sa.func.count()).select_from(column.table).where(column == latest)
        ).scalar_one()
    return Freshness(day, latest, int(funds or 0), calendar)
