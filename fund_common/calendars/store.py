"""The ``exchange_calendars`` table's reads and writes (SQLite and MySQL alike).

A child process (``calendars refresh``) :func:`save` s what the library computed; the daemon and
the fund pipeline :func:`read_all` it, and :func:`stamp` tells them cheaply whether it changed.
A database without the table (not migrated yet) reads as holding nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from fund_common.calendars.model import SessionCalendar
from fund_common.calendars.table import exchange_calendars
from fund_common.clock import as_naive_utc, utcnow

__all__ = ["StoredCalendar", "read_all", "save", "stamp", "stored_names"]

logger = logging.getLogger("fund_common.calendars")


@dataclass(frozen=True)
class StoredCalendar:
    """One row: the calendar as the library computed it (no operator file), by which version, when."""

    calendar: SessionCalendar
    library_version: str
    #: Aware UTC.
    computed_at: dt.datetime


def save(
    engine: Engine, calendar: SessionCalendar, library_version: str, now: dt.datetime | None = None
) -> None:
    """Store ``calendar`` under its name, replacing the row it had (one transaction);
    ``computed_at`` is ``now`` in whole seconds (what a MySQL ``DATETIME`` keeps)."""
    row = {
        "name": calendar.name,
        "body": json.dumps(calendar.to_json(), separators=(",", ":")),
        "library_version": library_version,
        "computed_at": as_naive_utc(now or utcnow()).replace(microsecond=0),
    }
    with engine.begin() as conn:
        conn.execute(sa.delete(exchange_calendars).where(exchange_calendars.c.name == calendar.name))
        conn.execute(sa.insert(exchange_calendars).values(**row))


def read_all(engine: Engine) -> dict[str, StoredCalendar]:
    """Every stored calendar by name; a row whose body is no calendar is left out with a warning."""
    table = exchange_calendars
    query = sa.select(table.c.name, table.c.body, table.c.library_version, table.c.computed_at)
    rows = _rows_if_table(engine, query)
    stored: dict[str, StoredCalendar] = {}
    for name, body, version, computed_at in rows:
        try:
            calendar = SessionCalendar.from_json(json.loads(body))
        except ValueError as exc:  # json.JSONDecodeError is one
            logger.warning("exchange_calendars row %r left out: %s (run `calendars refresh`)", name, exc)
            continue
        stored[name] = StoredCalendar(calendar, version, computed_at.replace(tzinfo=dt.UTC))
    return stored


def stored_names(engine: Engine) -> list[str]:
    """The names of the stored calendars, sorted (a row that would not read is named too)."""
    query = sa.select(exchange_calendars.c.name).order_by(exchange_calendars.c.name)
    return [name for (name,) in _rows_if_table(engine, query)]


def stamp(engine: Engine) -> dt.datetime | None:
    """The latest ``computed_at`` (aware UTC), None when nothing is stored: it changes with
    every :func:`save`, so a reader re-reads only then."""
    rows = _rows_if_table(engine, sa.select(sa.func.max(exchange_calendars.c.computed_at)))
    latest = rows[0][0] if rows else None
    return latest.replace(tzinfo=dt.UTC) if latest is not None else None


def _rows_if_table(engine: Engine, query: sa.Select) -> list[sa.Row]:
    """The rows of ``query``; none when the table does not exist (asked only after an error)."""
    try:
        with engine.connect() as conn:
            return list(conn.execute(query))
    except sa.exc.DBAPIError:
        if sa.inspect(engine).has_table(exchange_calendars.name):
            raise
        return []
