"""The ``job_executions`` run history: one row per execution, written here.

Times are stored as naive UTC and returned as aware UTC datetimes. Statuses are
:class:`fund_common.runstatus.RunStatus` values; triggers: ``schedule``, ``manual``, ``retry``,
``dependency``, ``startup``, ``backfill``. The queries below are shared by every front-end (CLI, HTTP API,
alerts, the jobs that report on runs); each returns nothing, never an error, on a database
whose table does not exist yet (see :func:`exists`).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select

from fund_common.clock import utcnow
from fund_common.runstatus import (
    DISPLAY_ORDER,
    FAILURES,
    FINAL,
    NOT_RUNS,
    UNFINISHED,
    RunStatus,
    success_rate,
)
from fund_scheduler.store.engine import writing

STATUSES = tuple(s.value for s in DISPLAY_ORDER)
TRIGGERS = ("schedule", "manual", "retry", "dependency", "startup", "backfill")
OUTPUT_TAIL_CHARS = 4000
UNIQUE_RUN_INDEX = "uq_job_executions_job_scheduled"
#: The ``executor`` of a run handed to a worker (NULL: a run of the daemon's own).
REMOTE = "celery"

metadata = MetaData()
job_executions = Table(
    "job_executions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("job_id", String(191), nullable=False),
    Column("scheduled_run_time", DateTime),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(16), nullable=False),
    Column("duration", Float),
    Column("exit_code", Integer),
    Column("error", Text),
    Column("output_tail", Text),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("trigger", String(16), nullable=False),
    # The business date the run is for (scheduled runs: the local date of their fire time).
    Column("run_date", Date),
    # The run's parameters (a JSON object; None: none given) and who asked for it (an operator's
    # name, ``unix:<user>``, ``token:<name>``; None: the schedule).
    Column("params", Text),
    Column("requested_by", String(191)),
    # Retries: 1 for a first run; a retry's row links its first attempt.
    Column("attempt", Integer),
    Column("first_execution_id", BigInteger().with_variant(Integer, "sqlite")),
    Column("backfill_id", String(32)),
    Column("cancelled_by", String(191)),
    # Runs on a worker host (executor "celery"): the queue, the worker that claimed the run, when
    # it was queued, the worker's last heartbeat for it, and a cancel for the worker to carry out.
    Column("executor", String(16)),
    Column("queue", String(64)),
    Column("worker", String(191)),
    Column("queued_at", DateTime),
    Column("heartbeat_at", DateTime),
    Column("cancel_requested_by", String(191)),
    # Every read below is a range of one of these (none passes over every row: see
    # bench/history_bench.py, a history of 1,000,000 rows).
    Index("ix_job_executions_job_started", "job_id", "started_at"),
    Index("ix_job_executions_status_started", "status", "started_at"),
    Index("ix_job_executions_started", "started_at", "job_id", "status"),
    Index("ix_job_executions_job_run_date", "job_id", "run_date"),
    Index("ix_job_executions_backfill", "backfill_id"),
    # One row per scheduled run time (manual runs have NULL: any number allowed): the last guard
    # against two daemons running the same fire time during an active/standby hand-over.
    Index(UNIQUE_RUN_INDEX, "job_id", "scheduled_run_time", unique=True),
)


#: The log of a run on a worker, shipped by the worker in chunks as the run writes it (the file
#: itself stays on the worker's host): :mod:`fund_scheduler.store.log_chunks`.
run_log_chunks = Table(
    "run_log_chunks",
    metadata,
    Column("execution_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("start", BigInteger, nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)


class AlreadyRecorded(Exception):  # noqa: N818 - a signal, not a failure
    """A row for this job and scheduled run time exists already (another daemon ran it)."""

    def __init__(self, job_id: str, scheduled_run_time: datetime | None):
        self.job_id = job_id
        self.scheduled_run_time = scheduled_run_time
        when = scheduled_run_time.isoformat() if scheduled_run_time else "-"
        super().__init__(f"job={job_id} run of {when} already recorded by another daemon")


def _insert_run(engine: Engine, job_id: str, scheduled_run_time: datetime | None, values: dict) -> int:
    try:
        with writing(engine) as conn:  # values as parameters: the statement compiles once
            key = conn.execute(insert(job_executions), values).inserted_primary_key
            assert key is not None
            return int(key[0])
    except IntegrityError:
        if scheduled_run_time is None:
            raise
        raise AlreadyRecorded(job_id, scheduled_run_time) from None


def db_time(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def row_of(mapping: Any) -> dict[str, Any]:
    row = dict(mapping)
    for key in ("scheduled_run_time", "started_at", "finished_at", "queued_at", "heartbeat_at"):
        if key in row:
            row[key] = _aware(row[key])
    if "params" in row:
        row["params"] = json.loads(row["params"]) if row["params"] else {}
    if row.get("attempt") is None and "attempt" in row:
        row["attempt"] = 1
    return row


#: What a run was asked for, beyond its job and fire time: the columns :func:`start` and
#: :func:`record` accept in ``asked``.
ASKED_COLUMNS = ("params", "requested_by", "attempt", "first_execution_id", "backfill_id")


def _asked(asked: Mapping[str, Any] | None) -> dict[str, Any]:
    values = {k: v for k, v in (asked or {}).items() if v is not None}
    unknown = set(values) - set(ASKED_COLUMNS)
    if unknown:
        raise ValueError(f"not a column of a run's request: {', '.join(sorted(unknown))}")
    if "params" in values:
        values["params"] = json.dumps(values["params"], sort_keys=True) if values["params"] else None
    return values


def business_date(scheduled_run_time: datetime | None) -> date | None:
    """The business date of a fire time as a trigger gives it (aware, in the job's timezone): its
    own date; None without a fire time or a zone (the caller knows the date better)."""
    if scheduled_run_time is None or scheduled_run_time.tzinfo is None:
        return None
    return scheduled_run_time.date()


def start(
    engine: Engine,
    job_id: str,
    *,
    scheduled_run_time: datetime | None,
    trigger: str,
    pid: int | None = None,
    now: datetime | None = None,
    run_date: date | None = None,
    asked: Mapping[str, Any] | None = None,
) -> int:
    """Insert a ``running`` row and return its id; ``run_date`` defaults as in :func:`business_date`;
    ``asked``: the request's columns (:data:`ASKED_COLUMNS`: params, who asked, attempt, ...).

    Raises :class:`AlreadyRecorded` when ``scheduled_run_time`` has a row already.
    """
    values = _start_values(job_id, scheduled_run_time, trigger, pid, now, run_date, asked)
    return _insert_run(engine, job_id, scheduled_run_time, values)


def start_many(engine: Engine, starts: Sequence[Mapping[str, Any]]) -> list[int | AlreadyRecorded]:
    """:func:`start` for each of ``starts`` (its arguments by name, ``job_id`` included) in one
    transaction: each one's id, or the :class:`AlreadyRecorded` it met (the others still start).
    Many runs due at once cost one commit, not one each."""
    values = [
        _start_values(
            s["job_id"],
            s.get("scheduled_run_time"),
            s["trigger"],
            s.get("pid"),
            s.get("now"),
            s.get("run_date"),
            s.get("asked"),
            s.get("queue"),
        )
        for s in starts
    ]
    try:
        with writing(engine) as conn:
            ids = _insert_rows(engine, conn, values)
    except IntegrityError:  # a fire time of the batch has a row already: each on its own
        result: list[int | AlreadyRecorded] = []
        for value in values:
            try:
                result.append(
                    _insert_run(engine, value["job_id"], _aware(value["scheduled_run_time"]), value)
                )
            except AlreadyRecorded as exc:
                result.append(exc)
        return result
    return list(ids)


def _insert_rows(engine: Engine, conn: Connection, values: list[dict[str, Any]]) -> list[int]:
    """Insert ``values`` (rows of any mix of columns) on ``conn``; their ids, in order."""
    t = job_executions
    ids: dict[int, int] = {}
    by_columns: dict[tuple[str, ...], list[int]] = {}
    for position, value in enumerate(values):
        by_columns.setdefault(tuple(sorted(value)), []).append(position)
    for positions in by_columns.values():
        rows = [values[p] for p in positions]
        if len(rows) > 1 and engine.dialect.insert_executemany_returning_sort_by_parameter_order:
            keys = conn.execute(insert(t).returning(t.c.id, sort_by_parameter_order=True), rows).scalars()
            ids.update(zip(positions, (int(k) for k in keys), strict=True))
            continue
        for position, row in zip(positions, rows, strict=True):  # MySQL: no RETURNING
            key = conn.execute(insert(t), row).inserted_primary_key
            assert key is not None
            ids[position] = int(key[0])
    return [ids[p] for p in range(len(values))]


def _start_values(
    job_id: str,
    scheduled_run_time: datetime | None,
    trigger: str,
    pid: int | None,
    now: datetime | None,
    run_date: date | None,
    asked: Mapping[str, Any] | None,
    queue: str | None = None,
) -> dict[str, Any]:
    """The columns of a ``running`` row (see :func:`start`); with ``queue``, of a ``queued`` one
    for a worker (``executor`` celery, no host or pid until a worker claims it)."""
    began = db_time(now or utcnow())
    values = {
        "job_id": job_id,
        "scheduled_run_time": db_time(scheduled_run_time),
        "started_at": began,
        "status": RunStatus.RUNNING.value,
        "host": socket.gethostname(),
        "pid": pid,
        "trigger": trigger,
        "run_date": run_date or business_date(scheduled_run_time),
        **_asked(asked),
    }
    if queue is not None:
        values.update(status=RunStatus.QUEUED.value, host=None, executor=REMOTE, queue=queue, queued_at=began)
    return values


def set_pid(engine: Engine, execution_id: int, pid: int) -> None:
    with writing(engine) as conn:
        conn.execute(update(job_executions).where(job_executions.c.id == execution_id).values(pid=pid))


#: A run's final values by its id (given as parameters: compiled once, not per run).
CLOSE_RUN = update(job_executions).where(job_executions.c.id == bindparam("closing_id"))
CLOSE_RUN_RETURNING = CLOSE_RUN.returning(*job_executions.c)


def finish(
    engine: Engine,
    execution_id: int,
    status: str,
    *,
    exit_code: int | None = None,
    error: str | None = None,
    output_tail: str | None = None,
    now: datetime | None = None,
    cancelled_by: str | None = None,
    started_at: datetime | None = None,
) -> dict[str, Any]:
    """Close a ``running`` row with its final status, duration and output tail (and, for a
    ``cancelled`` one, who cancelled it); return the final row as :func:`get` reads it.

    ``started_at``: the row's start as given to :func:`start` (saves reading it back)."""
    closing = {
        "execution_id": execution_id,
        "status": status,
        "exit_code": exit_code,
        "error": error,
        "output_tail": output_tail,
        "now": now,
        "cancelled_by": cancelled_by,
        "started_at": started_at,
    }
    return finish_many(engine, [closing])[0]


def closing_values(closing: Mapping[str, Any], began: datetime) -> dict[str, Any]:
    """The final columns of a run (``closing`` as :func:`finish` takes it) that began at ``began``
    (naive UTC), keyed for :data:`CLOSE_RUN` (``closing_id``: its id)."""
    finished = db_time(closing.get("now") or utcnow())
    assert finished is not None
    error, tail = closing.get("error"), closing.get("output_tail")
    return {
        "closing_id": closing["execution_id"],
        "status": closing["status"],
        "finished_at": finished,
        "duration": max((finished - began).total_seconds(), 0.0),
        "exit_code": closing.get("exit_code"),
        "error": error[:4000] if error else error,
        "output_tail": tail[-OUTPUT_TAIL_CHARS:] if tail else tail,
        "cancelled_by": closing.get("cancelled_by"),
    }


def finish_many(engine: Engine, closings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """:func:`finish` for each of ``closings`` (its arguments by name, ``execution_id``
    included) in one transaction; the final rows, in order. LookupError for an id without a row."""
    for closing in closings:
        if closing["status"] not in FINAL:
            raise ValueError(f"not a final status: {closing['status']!r}")
    t = job_executions
    with writing(engine) as conn:
        unknown = [c["execution_id"] for c in closings if c.get("started_at") is None]
        started = (
            dict(conn.execute(select(t.c.id, t.c.started_at).where(t.c.id.in_(unknown))).all())
            if unknown
            else {}
        )
        values = []
        for closing in closings:
            execution_id = closing["execution_id"]
            began = db_time(closing.get("started_at")) or started.get(execution_id)
            if began is None:
                raise LookupError(f"execution {execution_id} has no history row")
            values.append(closing_values(closing, began))
        if len(values) == 1 and engine.dialect.update_returning:
            found = {r.id: r for r in conn.execute(CLOSE_RUN_RETURNING, values[0])}
        else:  # many rows (or MySQL/MariaDB: no UPDATE ... RETURNING): update, then read back
            conn.execute(CLOSE_RUN, values)
            ids = [v["closing_id"] for v in values]
            found = {}
            for first in range(0, len(ids), KEY_BATCH):
                chunk = ids[first : first + KEY_BATCH]
                found.update({r.id: r for r in conn.execute(select(t).where(t.c.id.in_(chunk)))})
    missing = [v["closing_id"] for v in values if v["closing_id"] not in found]
    if missing:
        raise LookupError(f"execution {missing[0]} has no history row")
    return [row_of(found[v["closing_id"]]._mapping) for v in values]


def record(
    engine: Engine,
    job_id: str,
    status: str,
    *,
    scheduled_run_time: datetime | None,
    trigger: str = "schedule",
    error: str | None = None,
    now: datetime | None = None,
    run_date: date | None = None,
    asked: Mapping[str, Any] | None = None,
) -> int:
    """Insert a finished row that never ran (``missed``, ``skipped``, ``blocked``, ``coalesced``);
    return its id. ``run_date`` defaults as in :func:`business_date`; ``asked`` as for :func:`start`.

    Raises :class:`AlreadyRecorded` when ``scheduled_run_time`` has a row already.
    """
    values = _unrun_values(
        job_id, status, scheduled_run_time, error, db_time(now or utcnow()), trigger, run_date, asked
    )
    return _insert_run(engine, job_id, scheduled_run_time, values)


def _unrun_values(
    job_id: str,
    status: str,
    scheduled_run_time: datetime | None,
    error: str | None,
    stamp: datetime | None,
    trigger: str = "schedule",
    run_date: date | None = None,
    asked: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of a finished row that never ran, stamped ``stamp`` (naive UTC)."""
    return {
        "job_id": job_id,
        "scheduled_run_time": db_time(scheduled_run_time),
        "started_at": stamp,
        "finished_at": stamp,
        "duration": 0.0,
        "status": str(status),
        "error": error,
        "host": socket.gethostname(),
        "trigger": trigger,
        "run_date": run_date or business_date(scheduled_run_time),
        **_asked(asked),
    }


#: Rows per statement when many are written or read back by key (bound parameters stay few).
KEY_BATCH = 500


def record_many(engine: Engine, rows: Iterable[Mapping[str, Any]], now: datetime | None = None) -> list[dict]:
    """:func:`record` each of ``rows`` (``job_id``, ``status``, ``scheduled_run_time``,
    ``error``) in one transaction; return the rows written, as :func:`get` reads them. A fire
    time that has a row already (another daemon ran or recorded it) is left out, as
    :func:`record` refuses it. A restart's catch-up of thousands of jobs takes a few statements,
    not a transaction per row."""
    stamp = db_time(now or utcnow())
    wanted: dict[tuple[str, datetime | None], dict[str, Any]] = {}
    for row in rows:
        when = row["scheduled_run_time"]
        wanted[(row["job_id"], db_time(when))] = _unrun_values(
            row["job_id"], row["status"], when, row.get("error"), stamp, row.get("trigger", "schedule")
        )
    if not wanted:
        return []
    t = job_executions
    with writing(engine) as conn:
        keys = list(wanted)
        for first in range(0, len(keys), KEY_BATCH):
            chunk = keys[first : first + KEY_BATCH]
            taken = conn.execute(
                select(t.c.job_id, t.c.scheduled_run_time).where(
                    t.c.job_id.in_({job_id for job_id, _ in chunk}),
                    t.c.scheduled_run_time.in_({when for _, when in chunk if when is not None}),
                )
            ).all()
            for job_id, when in taken:
                wanted.pop((job_id, when), None)
        values = list(wanted.values())
        if not values:
            return []
        if engine.dialect.insert_executemany_returning_sort_by_parameter_order:
            ids = list(
                conn.execute(insert(t).returning(t.c.id, sort_by_parameter_order=True), values).scalars()
            )
        else:  # MySQL: no RETURNING; one statement per row, still one transaction
            ids = []
            for value in values:
                key = conn.execute(insert(t).values(**value)).inserted_primary_key
                assert key is not None
                ids.append(int(key[0]))
        written: list[dict] = []
        for first in range(0, len(ids), KEY_BATCH):
            chunk_ids = ids[first : first + KEY_BATCH]
            found = {r.id: r for r in conn.execute(select(t).where(t.c.id.in_(chunk_ids)))}
            written.extend(row_of(found[i]._mapping) for i in chunk_ids)
    return written


PURGE_BATCH = 5_000


def purge_older_than(engine: Engine, days: int, now: datetime | None = None) -> int:
    """Delete finished rows started more than ``days`` days ago; return how many.

    In transactions of :data:`PURGE_BATCH` rows, oldest first, so a large purge never holds the
    database's write lock long enough to keep a run from being recorded.
    """
    t = job_executions
    cutoff = db_time((now or utcnow()) - timedelta(days=days))
    old = (t.c.started_at < cutoff, t.c.status.notin_(sorted(UNFINISHED)))
    deleted = 0
    while True:
        with writing(engine) as conn:
            batch = select(t.c.id).where(*old).order_by(t.c.started_at).limit(PURGE_BATCH)
            ids = [i for (i,) in conn.execute(batch)]
            if not ids:
                return deleted
            conn.execute(delete(run_log_chunks).where(run_log_chunks.c.execution_id.in_(ids)))
            deleted += conn.execute(delete(t).where(t.c.id.in_(ids))).rowcount


def running_rows(engine: Engine, host: str | None = None) -> list[dict[str, Any]]:
    """Rows a daemon (not a worker) left ``running`` on ``host`` (this host by default), oldest
    first."""
    query = (
        select(job_executions)
        .where(
            job_executions.c.status == RunStatus.RUNNING.value,
            job_executions.c.host == (host or socket.gethostname()),
            job_executions.c.executor.is_(None),
        )
        .order_by(job_executions.c.id)
    )
    with engine.begin() as conn:
        return [row_of(r._mapping) for r in conn.execute(query)]


def get(engine: Engine, execution_id: int) -> dict[str, Any] | None:
    with engine.begin() as conn:
        row = conn.execute(select(job_executions).where(job_executions.c.id == execution_id)).first()
    return row_of(row._mapping) if row else None


def recent(
    engine: Engine,
    *,
    job_id: str | None = None,
    status: str | None = None,
    limit: int = 20,
    trigger: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` rows (by start), optionally for one job, status and/or trigger, and
    a business date (``run_date``) from ``date_from`` to ``date_to`` (inclusive).

    ``before_id`` is a cursor: the rows after that one in this order (the id of the last row of
    the previous page; stable while new rows arrive). A cursor whose row is gone (purged) pages
    on by id."""
    t = job_executions
    query = select(t).order_by(t.c.started_at.desc(), t.c.id.desc()).limit(limit)
    if job_id:
        query = query.where(t.c.job_id == job_id)
    if status:
        query = query.where(t.c.status == status)
    if trigger:
        query = query.where(t.c.trigger == trigger)
    if date_from is not None:
        query = query.where(t.c.run_date >= date_from)
    if date_to is not None:
        query = query.where(t.c.run_date <= date_to)
    if before_id is not None:
        cursor = select(t.c.started_at).where(t.c.id == before_id).scalar_subquery()
        query = query.where(
            or_(
                t.c.started_at < cursor,
                and_(t.c.started_at == cursor, t.c.id < before_id),
                and_(cursor.is_(None), t.c.id < before_id),
            )
        )
    with engine.begin() as conn:
        return [row_of(r._mapping) for r in conn.execute(query)]


def _job_ids(conn: Connection) -> list[str]:
    """Every job id of the history, by a loose scan of the (job_id, started_at) index: one index
    probe per job, not a pass over every row."""
    t = job_executions
    ids = select(func.min(t.c.job_id).label("id")).cte("ids", recursive=True)
    following = select(func.min(t.c.job_id)).where(t.c.job_id > ids.c.id).scalar_subquery()
    ids = ids.union_all(select(following).where(ids.c.id.is_not(None)))
    return [job_id for (job_id,) in conn.execute(select(ids.c.id).where(ids.c.id.is_not(None)))]


def _newest(job_id: str, *conditions: Any) -> Select:
    """The job's newest row (by start) meeting ``conditions``: a backward walk of its index."""
    t = job_executions
    return (
        select(t)
        .where(t.c.job_id == job_id, *conditions)
        .order_by(t.c.started_at.desc(), t.c.id.desc())
        .limit(1)
    )


def newest_row(engine: Engine, job_id: str) -> dict[str, Any] | None:
    """The newest row of ``job_id`` (the one started last), or None."""
    with engine.begin() as conn:
        row = conn.execute(_newest(job_id)).first()
    return row_of(row._mapping) if row is not None else None


def last_per_job(engine: Engine) -> dict[str, dict[str, Any]]:
    """The newest row of each job (the one started last)."""
    with engine.begin() as conn:
        rows = (conn.execute(_newest(job_id)).first() for job_id in _job_ids(conn))
        return {r.job_id: row_of(r._mapping) for r in rows if r is not None}


def failures_since(engine: Engine, since: datetime) -> list[dict[str, Any]]:
    query = (
        select(job_executions)
        .where(
            job_executions.c.status.in_(sorted(FAILURES)),
            job_executions.c.started_at >= db_time(since),
        )
        .order_by(job_executions.c.started_at.desc(), job_executions.c.id.desc())
    )
    with engine.begin() as conn:
        return [row_of(r._mapping) for r in conn.execute(query)]


def count_for_job(engine: Engine, job_id: str) -> int:
    with engine.begin() as conn:
        return conn.execute(
            select(func.count()).select_from(job_executions).where(job_executions.c.job_id == job_id)
        ).scalar_one()


def last_success_per_job(engine: Engine) -> dict[str, datetime]:
    """When each job's newest successful run finished (aware UTC)."""
    success = job_executions.c.status == RunStatus.SUCCESS.value
    found: dict[str, datetime] = {}
    with engine.begin() as conn:
        for job_id in _job_ids(conn):
            row = conn.execute(_newest(job_id, success)).first()
            if row is not None and row.finished_at is not None:
                found[job_id] = row.finished_at.replace(tzinfo=UTC)
    return found


def counts_since(engine: Engine, since: datetime, until: datetime | None = None) -> dict[str, dict[str, int]]:
    """``{job_id: {status: count}}`` of the rows started at or after ``since`` (and before
    ``until`` when given)."""
    t = job_executions
    # Counted here, not by GROUP BY: SQLite would group along (job_id, started_at) and so read
    # every row; the period alone is a range of the covering (started_at, job_id, status) index.
    query = select(t.c.job_id, t.c.status).where(t.c.started_at >= db_time(since))
    if until is not None:
        query = query.where(t.c.started_at < db_time(until))
    counts: dict[str, dict[str, int]] = {}
    with engine.begin() as conn:
        for job_id, status in conn.execute(query):
            per_job = counts.setdefault(job_id, {})
            per_job[status] = per_job.get(status, 0) + 1
    return counts


def exists(engine: Engine) -> bool:
    """True when the database has the history table (read-only commands check before reading)."""
    return inspect(engine).has_table(job_executions.name)


def previous_statuses(engine: Engine, job_id: str, before_id: int, limit: int = 100) -> list[str]:
    """Statuses of the job's finished runs older than ``before_id``, newest first (``coalesced``
    rows, no runs, left out)."""
    query = (
        select(job_executions.c.status)
        .where(
            job_executions.c.job_id == job_id,
            job_executions.c.id < before_id,
            job_executions.c.status.notin_([*sorted(UNFINISHED), *sorted(NOT_RUNS)]),
        )
        .order_by(job_executions.c.id.desc())
        .limit(limit)
    )
    with engine.begin() as conn:
        return [status for (status,) in conn.execute(query)]


def runs_between(engine: Engine, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Rows started in ``[start, end)``, oldest first: ``job_id``, ``status``, ``started_at``,
    ``finished_at``, ``duration``, ``trigger`` (what a report of a period needs)."""
    t = job_executions
    query = (
        select(t.c.id, t.c.job_id, t.c.status, t.c.started_at, t.c.finished_at, t.c.duration, t.c.trigger)
        .where(t.c.started_at >= db_time(start), t.c.started_at < db_time(end))
        .order_by(t.c.started_at, t.c.id)
    )
    with engine.begin() as conn:
        return [
            {**r._mapping, "started_at": _aware(r.started_at), "finished_at": _aware(r.finished_at)}
            for r in conn.execute(query)
        ]


def run_stats(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, Any]]:
    """Per job, from :func:`counts_since`: ``runs`` (finished, ``coalesced`` rows not counted),
    ``success``, ``failed`` (finished, not a success), ``running``, ``rate`` (None without a
    finished run) and ``by_status`` (in display order)."""
    stats = {}
    for job_id, by_status in sorted(counts.items()):
        ordered = {s.value: by_status[s.value] for s in DISPLAY_ORDER if by_status.get(s.value)}
        ordered.update({s: n for s, n in sorted(by_status.items()) if s not in ordered and n})
        running = sum(ordered.get(s.value, 0) for s in UNFINISHED)
        success = ordered.get(RunStatus.SUCCESS.value, 0)
        finished = sum(n for s, n in ordered.items() if s not in NOT_RUNS) - running
        rate = success_rate(ordered)
        stats[job_id] = {
            "runs": finished,
            "success": success,
            "failed": finished - success,
            "running": running,
            "rate": None if rate is None else round(rate, 4),
            "by_status": ordered,
        }
    return stats


def rows_for_date(engine: Engine, job_ids: Iterable[str], run_date: date) -> dict[str, list[dict[str, Any]]]:
    """Each job's rows for the business date ``run_date``, newest first (by start, then id); a job
    without one maps to ``[]``. One range of the (job_id, run_date) index per job."""
    t = job_executions
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as conn:
        for job_id in dict.fromkeys(job_ids):
            query = (
                select(t)
                .where(t.c.job_id == job_id, t.c.run_date == run_date)
                .order_by(t.c.started_at.desc(), t.c.id.desc())
            )
            found[job_id] = [row_of(r._mapping) for r in conn.execute(query)]
    return found


def rows_of_backfill(engine: Engine, backfill_id: str) -> list[dict[str, Any]]:
    """Every row of a backfill (its runs, their chains and retries), newest first."""
    t = job_executions
    query = select(t).where(t.c.backfill_id == backfill_id).order_by(t.c.id.desc())
    with engine.begin() as conn:
        return [row_of(r._mapping) for r in conn.execute(query)]


#: How long before a window a run may have started and still overlap it (the longest timeout of a
#: bundled job is 6 h); a run still ``running`` is found however old.
OVERLAP_LOOKBACK = timedelta(days=2)
#: The most rows :func:`rows_overlapping` returns (the newest).
OVERLAP_LIMIT = 20_000


def rows_overlapping(
    engine: Engine, start: datetime, end: datetime, limit: int = OVERLAP_LIMIT
) -> list[dict[str, Any]]:
    """Rows (without ``output_tail``) whose run overlaps ``[start, end)``, newest first (by start,
    then id), at most ``limit``: started in it; or started up to :data:`OVERLAP_LOOKBACK` before
    it and finished at or after ``start``; or started before it and still ``running``. Two ranges
    of the (started_at, …) and (status, started_at) indexes."""
    t = job_executions
    columns = [c for c in t.c if c.name != "output_tail"]
    since, until = db_time(start), db_time(end)
    assert since is not None and until is not None
    recent_rows = (
        select(*columns)
        .where(
            t.c.started_at >= since - OVERLAP_LOOKBACK,
            t.c.started_at < until,
            or_(t.c.started_at >= since, t.c.finished_at.is_(None), t.c.finished_at >= since),
        )
        .order_by(t.c.started_at.desc(), t.c.id.desc())
        .limit(limit)
    )
    old_running = select(*columns).where(
        t.c.status.in_(sorted(UNFINISHED)), t.c.started_at < since - OVERLAP_LOOKBACK
    )
    with engine.begin() as conn:
        rows = [row_of(r._mapping) for r in conn.execute(recent_rows)]
        rows += [row_of(r._mapping) for r in conn.execute(old_running)]
    return rows[:limit]
