"""``workers``: the Celery workers that take remote runs, each row kept fresh by the worker's
own heartbeat (name, host, pid, queues, concurrency, version, started, last heartbeat, stopped)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from fund_common.runstatus import RunStatus
from fund_scheduler.store.engine import writing
from fund_scheduler.store.history import REMOTE, db_time, job_executions

__all__ = ["beat", "exists", "listed", "overview", "stopped", "workers"]

metadata = MetaData()
workers = Table(
    "workers",
    metadata,
    Column("name", String(191), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer),
    Column("queues", String(1000), nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("version", String(64)),
    Column("started_at", DateTime, nullable=False),
    Column("heartbeat_at", DateTime, nullable=False),
    Column("stopped_at", DateTime),
)


def exists(engine: Engine) -> bool:
    """True when the table exists (a database the migrations brought to 0009 or later)."""
    with engine.connect() as conn:
        return inspect(conn).has_table("workers")


def beat(
    engine: Engine,
    name: str,
    *,
    host: str,
    pid: int,
    queues: Sequence[str],
    concurrency: int,
    version: str,
    now: datetime,
    starting: bool = False,
) -> None:
    """Record that worker ``name`` is alive (``starting``: its start, a new life of the name)."""
    stamp = db_time(now)
    values = {
        "host": host,
        "pid": pid,
        "queues": ",".join(queues),
        "concurrency": concurrency,
        "version": version,
        "heartbeat_at": stamp,
        "stopped_at": None,
    }
    if starting:
        values["started_at"] = stamp
    with writing(engine) as conn:
        if conn.execute(update(workers).where(workers.c.name == name).values(**values)).rowcount:
            return
    try:
        with writing(engine) as conn:
            conn.execute(insert(workers).values({"name": name, "started_at": stamp, **values}))
    except IntegrityError:  # inserted meanwhile by another life of the same name
        with writing(engine) as conn:
            conn.execute(update(workers).where(workers.c.name == name).values(**values))


def stopped(engine: Engine, name: str, now: datetime) -> None:
    """Record that worker ``name`` stopped (a warm shutdown)."""
    with writing(engine) as conn:
        conn.execute(update(workers).where(workers.c.name == name).values(stopped_at=db_time(now)))


def listed(engine: Engine) -> list[dict[str, Any]]:
    """Every worker ever seen, by name: its row (times aware UTC, ``queues`` a list) and
    ``running``: the runs it holds now."""
    t = job_executions
    holding = (
        select(t.c.worker, func.count())
        .where(t.c.status == RunStatus.RUNNING.value, t.c.executor == REMOTE)
        .group_by(t.c.worker)
    )
    with engine.begin() as conn:
        if not inspect(conn).has_table("workers"):
            return []
        running: dict[str, int] = {str(w): int(n) for w, n in conn.execute(holding).all()}
        rows = [dict(r._mapping) for r in conn.execute(select(workers).order_by(workers.c.name))]
    for row in rows:
        for key in ("started_at", "heartbeat_at", "stopped_at"):
            if row[key] is not None:
                row[key] = row[key].replace(tzinfo=UTC)
        row["queues"] = [q for q in row["queues"].split(",") if q]
        row["running"] = int(running.get(row["name"], 0))
    return rows


def overview(engine: Engine, now: datetime, lease: float, queues: Iterable[str] = ()) -> dict[str, Any]:
    """The workers and the queues as the front-ends show them. ``workers``: :func:`listed`'s rows
    with ``alive`` (not stopped, a heartbeat within ``lease`` seconds) and ``heartbeat_age_seconds``;
    ``queues`` (``queues`` and every queue a worker takes or a remote run waits in), each with its
    ``queued`` and ``running`` rows and the live ``workers`` consuming it."""
    rows = listed(engine)
    for row in rows:
        age = (now - row["heartbeat_at"]).total_seconds()
        row["heartbeat_age_seconds"] = round(max(age, 0.0), 1)
        row["alive"] = row["stopped_at"] is None and age <= lease
    t = job_executions
    by_queue = (
        select(t.c.queue, t.c.status, func.count())
        .where(t.c.executor == REMOTE, t.c.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]))
        .group_by(t.c.queue, t.c.status)
    )
    counts: dict[str, dict[str, int]] = {}
    with engine.begin() as conn:
        for queue, status, count in conn.execute(by_queue):
            counts.setdefault(str(queue), {})[str(status)] = int(count)
    names = sorted({*queues, *counts, *(q for row in rows for q in row["queues"])})
    listed_queues = [
        {
            "name": name,
            "queued": counts.get(name, {}).get(RunStatus.QUEUED.value, 0),
            "running": counts.get(name, {}).get(RunStatus.RUNNING.value, 0),
            "workers": [row["name"] for row in rows if row["alive"] and name in row["queues"]],
        }
        for name in names
    ]
    return {"workers": rows, "queues": listed_queues}
