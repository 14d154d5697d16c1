"""The ``check_states`` table: the current state of each check job (``ok`` or ``breach``).

A check job's run returns a result; the daemon keeps the latest state here, so a breach is
alerted once (``stale_data``) and its end once (``fresh_again``), across restarts and fail-overs.
Times are stored naive UTC and read back aware UTC; ``details`` is JSON text, read back decoded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text, select, update
from sqlalchemy.engine import Engine

from fund_common.clock import as_naive_utc
from fund_scheduler.store.engine import has_tables

__all__ = ["STATES", "all_states", "check_states", "exists", "get_state", "metadata", "save_state"]

STATES = ("ok", "breach")

metadata = MetaData()
check_states = Table(
    "check_states",
    metadata,
    Column("job_id", String(191), primary_key=True),
    Column("state", String(16), nullable=False),  # ok | breach
    Column("since", DateTime, nullable=False),  # when this state began (naive UTC)
    Column("checked_at", DateTime, nullable=False),  # the last check's time (naive UTC)
    Column("summary", Text),  # one line
    Column("details", Text),  # JSON
    Column("execution_id", BigInteger().with_variant(Integer, "sqlite")),
)


def exists(engine: Engine) -> bool:
    """True when the table exists (a database the migrations brought to 0007 or later)."""
    return has_tables(engine, check_states.name)


def _row(mapping: Any) -> dict[str, Any]:
    row = dict(mapping)
    for key in ("since", "checked_at"):
        row[key] = row[key].replace(tzinfo=UTC)
    try:
        row["details"] = json.loads(row["details"]) if row["details"] else {}
    except ValueError:
        row["details"] = {"unreadable": row["details"]}
    return row


def get_state(engine: Engine, job_id: str) -> dict[str, Any] | None:
    """``job_id``'s row (``job_id``, ``state``, ``since``, ``checked_at``, ``summary``,
    ``details``, ``execution_id``), or None when it was never checked."""
    with engine.connect() as conn:
        found = conn.execute(select(check_states).where(check_states.c.job_id == job_id)).mappings().first()
    return None if found is None else _row(found)


def all_states(engine: Engine) -> list[dict[str, Any]]:
    """Every check's row, by job id."""
    with engine.connect() as conn:
        rows = conn.execute(select(check_states).order_by(check_states.c.job_id)).mappings().all()
    return [_row(r) for r in rows]


def save_state(
    engine: Engine,
    job_id: str,
    *,
    state: str,
    since: datetime,
    checked_at: datetime,
    summary: str,
    details: Mapping[str, Any],
    execution_id: int | None,
) -> None:
    """Write ``job_id``'s current state (an update, else an insert, in one transaction)."""
    if state not in STATES:
        raise ValueError(f"check state {state!r} is not one of {', '.join(STATES)}")
    values = {
        "state": state,
        "since": as_naive_utc(since),
        "checked_at": as_naive_utc(checked_at),
        "summary": summary,
        "details": json.dumps(dict(details), sort_keys=True),
        "execution_id": execution_id,
    }
    with engine.begin() as conn:
        changed = conn.execute(update(check_states).where(check_states.c.job_id == job_id).values(**values))
        if not changed.rowcount:
            conn.execute(check_states.insert().values(job_id=job_id, **values))
