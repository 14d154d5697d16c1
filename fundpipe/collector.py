"""Collection: a source's rows for a day into ``fund_nav_staging`` under a new batch id.

Order of work: the source is read first (for the HTTP source that is the request, with its
retries); then one transaction stages the rows, lets the delivery record what it needs
(the CSV source's ``fund_source_files``) and upserts the fund list; only after it commits
does the delivery act outside the database (the CSV source archives its files). A failure
before the commit writes nothing; see :mod:`fundpipe.sources.csv` for a crash after it.

A day that is no session of the calendar has no NAVs: nothing is asked of the source and
nothing staged (the summary's ``closed`` says why), except the backfill of a fresh database,
which ends at the last session before that day.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pandas as pd
import sqlalchemy as sa

from fund_common.calendars import SessionCalendar
from fund_common.clock import utcnow_naive
from fundpipe.db import chunks, records, upsert
from fundpipe.schema import fund_info, fund_nav, fund_nav_staging
from fundpipe.sources import FUND_COLUMNS, Delivering, Delivery, HistorySource, Source, staging_frame

__all__ = ["collect_into_staging", "is_fresh", "new_batch_id"]

_STAGING_COLUMNS = ["fund_code", "nav_date", "unit_nav", "accum_nav", "daily_return", "source", "parse_error"]


def new_batch_id(as_of: dt.date) -> str:
    """A unique batch id that sorts by day: ``YYYYMMDD-`` plus 16 random hex digits."""
    return f"{as_of:%Y%m%d}-{uuid.uuid4().hex[:16]}"


def is_fresh(conn: sa.Connection) -> bool:
    """True when neither ``fund_nav`` nor ``fund_nav_staging`` holds a single row."""
    for table in (fund_nav, fund_nav_staging):
        if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
            return False
    return True


def _fresh(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return is_fresh(conn)


def collect_into_staging(
    engine: sa.Engine,
    source: Source,
    as_of: dt.date,
    batch_id: str,
    history_days: int,
    calendar: SessionCalendar,
) -> dict[str, Any]:
    """Stage ``source``'s rows for ``as_of`` as batch ``batch_id`` and upsert its fund list.

    On a fresh database (see :func:`is_fresh`) a :class:`HistorySource` first delivers the
    ``history_days`` sessions of ``calendar`` ending at ``as_of`` (at the session before it
    when ``as_of`` is none), in the same batch. A :class:`~fundpipe.sources.Delivering` source is
    asked for its delivery instead. The source is asked before the write transaction opens;
    staging and ``fund_info`` are written in one. On a day that is no session (and no backfill
    is due) nothing is asked or written. Returns ``batch_id``, ``source``, ``staged`` (rows),
    ``dates``, ``backfilled``, ``funds``, ``details`` (the source's own, e.g. files archived or
    the URL and attempts), ``note`` (a short phrase of those details for the log line, possibly
    empty) and ``closed`` (why ``as_of`` is no session, e.g. ``XSHG closed: National Day``;
    None on a session).
    """
    closed = calendar.closure(as_of)
    history = _backfill_source(engine, source)
    if closed and history is None:
        return {
            "batch_id": batch_id,
            "source": source.name,
            "staged": 0,
            "dates": 0,
            "backfilled": False,
            "funds": 0,
            "details": {},
            "note": f"nothing collected: {as_of} is no session ({closed})",
            "closed": closed,
        }
    backfill = False
    if isinstance(source, Delivering):
        delivery = source.deliver(as_of)
    elif history is not None:
        backfill = True
        frame = history.fetch_range(calendar.first_of_sessions(as_of, history_days), as_of)
        delivery = Delivery(staging_frame(frame, source.name))
    else:
        delivery = Delivery(staging_frame(source.fetch(as_of), source.name))
    funds = source.funds()

    now = utcnow_naive()
    with engine.begin() as conn:
        staged = delivery.claim(conn, batch_id, now)
        rows = records(staged, _STAGING_COLUMNS)
        for row in rows:
            row["batch_id"] = batch_id
            row["collected_at"] = now
        for part in chunks(rows):
            conn.execute(sa.insert(fund_nav_staging), list(part))
        n_funds = _upsert_funds(conn, funds, now)
    details = delivery.done()
    return {
        "batch_id": batch_id,
        "source": source.name,
        "staged": len(rows),
        "dates": int(staged["nav_date"].nunique()),
        "backfilled": backfill,
        "funds": n_funds,
        "details": details,
        "note": delivery.note(),
        "closed": closed,
    }


def _backfill_source(engine: sa.Engine, source: Source) -> HistorySource | None:
    """``source`` when it is to backfill: a history source (not a delivering one) on a fresh database."""
    if isinstance(source, HistorySource) and not isinstance(source, Delivering) and _fresh(engine):
        return source
    return None


def _upsert_funds(conn: sa.Connection, funds: pd.DataFrame, now: dt.datetime) -> int:
    if funds is None or funds.empty:
        return 0
    frame = funds.reindex(columns=list(FUND_COLUMNS))
    frame["is_active"] = frame["is_active"].fillna(True).astype(bool)
    rows = records(frame, list(FUND_COLUMNS))
    for row in rows:
        row["updated_at"] = now
    return upsert(conn, fund_info, rows, update=["fund_name", "fund_type", "is_active", "updated_at"])
