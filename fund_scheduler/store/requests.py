"""The ``run_requests`` and ``backfills`` tables: runs asked for but not started yet.

A request waits in the database, not in a thread, so it survives a restart and a fail-over: a
retry due at a later time, the runs of a backfill in date order. The active daemon starts each
due request when its job has room (``max_instances``), never recording it ``skipped``.
Times are stored naive UTC and read back aware UTC; ``params`` is JSON text.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.engine import Engine

from fund_scheduler.store.engine import has_tables

__all__ = ["REQUEST_STATES", "backfills", "exists", "metadata", "run_requests"]

_ID = BigInteger().with_variant(Integer, "sqlite")
#: ``pending``: waiting for its time or for room; ``started``: its execution runs (or ran);
#: ``cancelled``: an operator cancelled it before it started.
REQUEST_STATES = ("pending", "started", "cancelled")

metadata = MetaData()
run_requests = Table(
    "run_requests",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("job_id", String(191), nullable=False),
    Column("run_date", Date),
    Column("params", Text),  # JSON object
    Column("trigger", String(16), nullable=False),  # retry | backfill | manual
    Column("due_at", DateTime, nullable=False),  # naive UTC: not started before
    Column("state", String(16), nullable=False),
    Column("attempt", Integer, nullable=False, server_default="1"),
    Column("first_execution_id", _ID),
    Column("backfill_id", String(32)),
    Column("position", Integer, nullable=False, server_default="0"),  # a backfill's date order
    Column("with_dependents", Boolean, nullable=False, server_default=false()),
    Column("requested_by", String(191)),
    Column("execution_id", _ID),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("note", Text),
    Index("ix_run_requests_state_due", "state", "due_at"),
)
backfills = Table(
    "backfills",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("job_id", String(191), nullable=False),
    Column("from_date", Date, nullable=False),
    Column("to_date", Date, nullable=False),
    Column("params", Text),
    Column("with_dependents", Boolean, nullable=False, server_default=false()),
    Column("continue_on_failure", Boolean, nullable=False, server_default=false()),
    Column("state", String(16), nullable=False),  # running | done | failed | cancelled
    Column("total", Integer, nullable=False, server_default="0"),
    Column("requested_by", String(191)),
    Column("cancelled_by", String(191)),
    Column("created_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("error", Text),
)


def exists(engine: Engine) -> bool:
    """True when the tables exist (a database the migrations brought to 0008 or later)."""
    return has_tables(engine, run_requests.name, backfills.name)
