"""The ``run_requests`` and ``backfills`` tables: runs asked for but not started yet.

A request waits in the database, not in a thread, so it survives a restart and a fail-over: a
retry due at a later time, the runs of a backfill in date order. The active daemon starts each
due request when its job has room (``max_instances``), never recording it ``skipped``.
Times are stored naive UTC and read back aware UTC; ``params`` is JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

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
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine

from fund_common.clock import as_naive_utc
from fund_scheduler.store.engine import has_tables

__all__ = [
    "BACKFILL_STATES",
    "REQUEST_STATES",
    "add",
    "add_backfill",
    "backfill_rows",
    "backfills",
    "cancel_backfill",
    "cancel_request",
    "claim",
    "due",
    "exists",
    "finish_backfill",
    "get_backfill",
    "metadata",
    "next_due_at",
    "pending_retries",
    "release",
    "request_of_execution",
    "requests_of",
    "run_requests",
    "running_backfills",
    "set_state",
    "started",
]

_ID = BigInteger().with_variant(Integer, "sqlite")
#: ``pending``: waiting for its time or for room; ``started``: its execution runs (or ran);
#: ``done`` / ``failed``: a backfill's run (with its chain) settled; ``cancelled``: it will not
#: start (an operator cancelled it, its backfill stopped, its job is gone).
REQUEST_STATES = ("pending", "started", "done", "failed", "cancelled")
#: A backfill is ``running`` until ``done`` (every run succeeded), ``failed`` (stopped at a
#: failure, or ended with failures under continue-on-failure) or ``cancelled``.
BACKFILL_STATES = ("running", "done", "failed", "cancelled")

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


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _request(mapping: Any) -> dict[str, Any]:
    row = dict(mapping)
    for key in ("due_at", "created_at", "updated_at"):
        row[key] = _aware(row[key])
    row["params"] = json.loads(row["params"]) if row["params"] else {}
    return row


def _backfill(mapping: Any) -> dict[str, Any]:
    row = dict(mapping)
    for key in ("created_at", "finished_at"):
        row[key] = _aware(row[key])
    row["params"] = json.loads(row["params"]) if row["params"] else {}
    return row


def _params(params: Mapping[str, Any] | None) -> str | None:
    return json.dumps(dict(params), sort_keys=True) if params else None


def add(
    engine: Engine,
    *,
    job_id: str,
    trigger: str,
    due_at: datetime,
    now: datetime,
    run_date: date | None = None,
    params: Mapping[str, Any] | None = None,
    attempt: int = 1,
    first_execution_id: int | None = None,
    backfill_id: str | None = None,
    with_dependents: bool = False,
    requested_by: str | None = None,
    note: str | None = None,
) -> int:
    """Insert one ``pending`` request due at ``due_at``; its id."""
    with engine.begin() as conn:
        key = conn.execute(
            insert(run_requests).values(
                job_id=job_id,
                run_date=run_date,
                params=_params(params),
                trigger=trigger,
                due_at=as_naive_utc(due_at),
                state="pending",
                attempt=attempt,
                first_execution_id=first_execution_id,
                backfill_id=backfill_id,
                with_dependents=with_dependents,
                requested_by=requested_by,
                created_at=as_naive_utc(now),
                updated_at=as_naive_utc(now),
                note=note,
            )
        ).inserted_primary_key
    assert key is not None
    return int(key[0])


def add_backfill(
    engine: Engine,
    backfill_id: str,
    *,
    job_id: str,
    run_dates: Iterable[date],
    now: datetime,
    params: Mapping[str, Any] | None = None,
    with_dependents: bool = False,
    continue_on_failure: bool = False,
    requested_by: str | None = None,
) -> int:
    """Insert a ``running`` backfill and one ``pending`` request per date, in date order (one
    transaction); the number of runs."""
    dates = sorted(run_dates)
    stamp = as_naive_utc(now)
    with engine.begin() as conn:
        conn.execute(
            insert(backfills).values(
                id=backfill_id,
                job_id=job_id,
                from_date=dates[0],
                to_date=dates[-1],
                params=_params(params),
                with_dependents=with_dependents,
                continue_on_failure=continue_on_failure,
                state="running",
                total=len(dates),
                requested_by=requested_by,
                created_at=stamp,
            )
        )
        conn.execute(
            insert(run_requests),
            [
                {
                    "job_id": job_id,
                    "run_date": day,
                    "params": _params(params),
                    "trigger": "backfill",
                    "due_at": stamp,
                    "state": "pending",
                    "attempt": 1,
                    "backfill_id": backfill_id,
                    "position": position,
                    "with_dependents": with_dependents,
                    "requested_by": requested_by,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for position, day in enumerate(dates)
            ],
        )
    return len(dates)


def due(engine: Engine, now: datetime, *, trigger: str, limit: int = 100) -> list[dict[str, Any]]:
    """The ``pending`` requests of ``trigger`` due at ``now``, oldest due first."""
    query = (
        select(run_requests)
        .where(
            run_requests.c.state == "pending",
            run_requests.c.trigger == trigger,
            run_requests.c.due_at <= as_naive_utc(now),
        )
        .order_by(run_requests.c.due_at, run_requests.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_request(row) for row in conn.execute(query).mappings()]


def next_due_at(engine: Engine) -> datetime | None:
    """When the next ``pending`` request comes due (None: none is pending)."""
    with engine.connect() as conn:
        value = conn.execute(
            select(func.min(run_requests.c.due_at)).where(run_requests.c.state == "pending")
        ).scalar()
    return _aware(value)


def claim(engine: Engine, request_id: int, now: datetime) -> bool:
    """``pending`` → ``started``; False when another daemon (or a cancel) changed it first."""
    return _move(engine, request_id, "pending", "started", now)


def release(engine: Engine, request_id: int, now: datetime, note: str | None = None) -> bool:
    """``started`` → ``pending`` (its job had no room, or its run was cut short by a stop)."""
    return _move(engine, request_id, "started", "pending", now, note=note, execution_id=None)


def started(engine: Engine, request_id: int, execution_id: int, now: datetime) -> None:
    """Record the execution a ``started`` request became."""
    with engine.begin() as conn:
        conn.execute(
            update(run_requests)
            .where(run_requests.c.id == request_id)
            .values(execution_id=execution_id, updated_at=as_naive_utc(now))
        )


def set_state(
    engine: Engine, request_id: int, frm: str, to: str, now: datetime, note: str | None = None
) -> bool:
    """Move a request from state ``frm`` to ``to`` (with ``note``); False when it was not ``frm``."""
    return _move(engine, request_id, frm, to, now, note=note)


def _move(engine: Engine, request_id: int, frm: str, to: str, now: datetime, **values: Any) -> bool:
    with engine.begin() as conn:
        changed = conn.execute(
            update(run_requests)
            .where(run_requests.c.id == request_id, run_requests.c.state == frm)
            .values(state=to, updated_at=as_naive_utc(now), **values)
        ).rowcount
    return changed == 1


def cancel_request(engine: Engine, request_id: int, now: datetime, note: str) -> bool:
    """Cancel one ``pending`` request; False when it was not pending."""
    return _move(engine, request_id, "pending", "cancelled", now, note=note)


def pending_retries(engine: Engine, *, first_execution_id: int | None = None) -> list[dict[str, Any]]:
    """The ``pending`` retries (of the attempts that began with ``first_execution_id``)."""
    query = select(run_requests).where(run_requests.c.state == "pending", run_requests.c.trigger == "retry")
    if first_execution_id is not None:
        query = query.where(run_requests.c.first_execution_id == first_execution_id)
    with engine.connect() as conn:
        return [_request(row) for row in conn.execute(query.order_by(run_requests.c.due_at)).mappings()]


def requests_of(engine: Engine, backfill_id: str) -> list[dict[str, Any]]:
    """Every request of a backfill (its retries included), in date order then by id."""
    query = (
        select(run_requests)
        .where(run_requests.c.backfill_id == backfill_id)
        .order_by(run_requests.c.position, run_requests.c.id)
    )
    with engine.connect() as conn:
        return [_request(row) for row in conn.execute(query).mappings()]


def get_backfill(engine: Engine, backfill_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(backfills).where(backfills.c.id == backfill_id)).mappings().first()
    return _backfill(row) if row is not None else None


def backfill_rows(engine: Engine, *, job_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The newest backfills first (of ``job_id``)."""
    query = select(backfills)
    if job_id is not None:
        query = query.where(backfills.c.job_id == job_id)
    query = query.order_by(backfills.c.created_at.desc(), backfills.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [_backfill(row) for row in conn.execute(query).mappings()]


def running_backfills(engine: Engine) -> list[dict[str, Any]]:
    """The backfills still ``running``, oldest first."""
    query = select(backfills).where(backfills.c.state == "running").order_by(backfills.c.created_at)
    with engine.connect() as conn:
        return [_backfill(row) for row in conn.execute(query).mappings()]


def finish_backfill(
    engine: Engine, backfill_id: str, state: str, now: datetime, *, error: str | None = None
) -> bool:
    """``running`` → ``state`` (done, failed); False when it was not running any more."""
    with engine.begin() as conn:
        changed = conn.execute(
            update(backfills)
            .where(backfills.c.id == backfill_id, backfills.c.state == "running")
            .values(state=state, finished_at=as_naive_utc(now), error=error)
        ).rowcount
    return changed == 1


def cancel_backfill(engine: Engine, backfill_id: str, now: datetime, by: str) -> int | None:
    """Cancel a ``running`` backfill and its requests (one transaction; the runs going are the
    caller's to end); how many had not started, or None when the backfill was not running."""
    stamp = as_naive_utc(now)
    with engine.begin() as conn:
        changed = conn.execute(
            update(backfills)
            .where(backfills.c.id == backfill_id, backfills.c.state == "running")
            .values(state="cancelled", cancelled_by=by, finished_at=stamp)
        ).rowcount
        if changed != 1:
            return None
        not_started = conn.execute(
            update(run_requests)
            .where(run_requests.c.backfill_id == backfill_id, run_requests.c.state == "pending")
            .values(state="cancelled", updated_at=stamp, note=f"backfill cancelled by {by}")
        ).rowcount
        conn.execute(
            update(run_requests)
            .where(run_requests.c.backfill_id == backfill_id, run_requests.c.state == "started")
            .values(state="cancelled", updated_at=stamp, note=f"run ended: backfill cancelled by {by}")
        )
        return not_started


def request_of_execution(engine: Engine, execution_id: int) -> dict[str, Any] | None:
    """The request that became execution ``execution_id`` (None: it was not asked for ahead)."""
    query = select(run_requests).where(run_requests.c.execution_id == execution_id).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _request(row) if row is not None else None
