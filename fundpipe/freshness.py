"""How fresh a dated fund table is: its newest date on or before a day, and how far behind.

One function, :func:`dated_freshness`, read by the monitoring panel (:mod:`fundpipe.monitor`)
and the weekly report (:mod:`fundpipe.report`), each showing it in its own keys::

    with engine.connect() as conn:
        nav = dated_freshness(conn, fund_nav.c.nav_date, dt.date(2024, 6, 10))
    # Freshness(latest=date(2024, 6, 7), funds=300, days_behind=3, trading_days_behind=1, ...)

Trading days are counted by :mod:`fundpipe.calendar`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from fundpipe.calendar import trading_days_between

__all__ = ["STALE_AFTER_TRADING_DAYS", "Freshness", "dated_freshness"]

#: A table more trading days behind than this is ``stale``: on a weekday morning the newest NAV
#: is the previous trading day's (1 behind) until the evening run.
STALE_AFTER_TRADING_DAYS = 1


@dataclasses.dataclass(frozen=True)
class Freshness:
    """The newest date of a table on or before ``day`` (None: no row) and how far behind it is.

    ``funds`` counts the table's rows on that date (one per fund); ``days_behind`` and
    ``trading_days_behind`` are None when there is no row; ``status`` is ``never`` (no row),
    ``stale`` (more than :data:`STALE_AFTER_TRADING_DAYS` trading days behind) or ``ok``.
    """

    day: dt.date
    latest: dt.date | None
    funds: int

    @property
    def days_behind(self) -> int | None:
        return None if self.latest is None else (self.day - self.latest).days

    @property
    def trading_days_behind(self) -> int | None:
        return None if self.latest is None else trading_days_between(self.latest, self.day)

    @property
    def status(self) -> str:
        behind = self.trading_days_behind
        if behind is None:
            return "never"
        return "stale" if behind > STALE_AFTER_TRADING_DAYS else "ok"

    @property
    def latest_iso(self) -> str | None:
        return None if self.latest is None else self.latest.isoformat()


def dated_freshness(
    conn: sa.Connection, column: sa.Column[Any], day: dt.date, *, tables: Collection[str] | None = None
) -> Freshness:
    """Freshness of ``column``'s table (a date column, one row per fund and date) at ``day``.

    Two queries: the newest date on or before ``day``, then the rows on that date. ``tables``,
    when given, names the tables that exist: a missing table has no row (and is not queried).
    """
    if tables is not None and column.table.name not in tables:
        return Freshness(day, None, 0)
    latest = conn.execute(sa.select(sa.func.max(column)).where(column <= day)).scalar()
    funds = 0
    if latest is not None:
        funds = conn.execute(
            sa.select(sa.func.count()).select_from(column.table).where(column == latest)
        ).scalar_one()
    return Freshness(day, latest, int(funds or 0))
