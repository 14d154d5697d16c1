"""The rows of runs on worker hosts (``executor`` celery): who may change them, and when.

The database, never the broker, decides a remote run's state (a broker delivers a message at
least once). The leader inserts the row ``queued`` (:func:`fund_scheduler.store.history.start_many`
with a queue) and sends only its id. A worker :func:`claim`\\ s it (``queued`` → ``running``, in
one conditional UPDATE: no row changed means a redelivery, a second worker or a cancel, and the
message is dropped), :func:`beat`\\ s while it runs and :func:`finish_owned` writes the outcome
only while the row is still ``running`` under its name. The leader :func:`give_up`\\ s a row
whose worker went silent (``interrupted``) or that no worker took (``failed``); whichever
conditional write comes first wins, the other changes nothing.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from fund_common.clock import utcnow
from fund_common.runstatus import UNFINISHED, RunStatus
from fund_scheduler.store.engine import writing
from fund_scheduler.store.history import (
    CLOSE_RUN,
    REMOTE,
    closing_values,
    db_time,
    get,
    job_executions,
    row_of,
)

__all__ = ["Beat", "beat", "claim", "finish_owned", "give_up", "request_cancel", "unfinished"]

t = job_executions


def claim(
    engine: Engine, execution_id: int, *, worker: str, pid: int, now: datetime | None = None
) -> dict[str, Any] | None:
    """Take run ``execution_id`` for ``worker`` (process ``pid`` on this host): its row, now
    ``running``, or None when it is no longer ``queued`` (claimed, cancelled, given up)."""
    stamp = db_time(now or utcnow())
    claiming = (
        update(t)
        .where(t.c.id == execution_id, t.c.status == RunStatus.QUEUED.value, t.c.executor == REMOTE)
        .values(
            status=RunStatus.RUNNING.value,
            started_at=stamp,
            heartbeat_at=stamp,
            worker=worker,
            host=socket.gethostname(),
            pid=pid,
        )
    )
    with writing(engine) as conn:
        if conn.execute(claiming).rowcount != 1:
            return None
    return get(engine, execution_id)


@dataclass(frozen=True)
class Beat:
    """A heartbeat's answer: whether ``worker`` still owns the run, and who asked to cancel it."""

    owned: bool
    cancel_requested_by: str | None = None


def _owned(execution_id: int, worker: str) -> tuple[Any, ...]:
    return (t.c.id == execution_id, t.c.status == RunStatus.RUNNING.value, t.c.worker == worker)


def beat(engine: Engine, execution_id: int, *, worker: str, now: datetime | None = None) -> Beat:
    """Record that ``worker`` still runs ``execution_id``; :class:`Beat` ``owned=False`` when the
    row is no longer its own (given up by the leader: the worker must end the run)."""
    stamping = update(t).where(*_owned(execution_id, worker)).values(heartbeat_at=db_time(now or utcnow()))
    with writing(engine) as conn:
        if conn.execute(stamping).rowcount != 1:
            return Beat(False)
        by = conn.execute(select(t.c.cancel_requested_by).where(t.c.id == execution_id)).scalar()
    return Beat(True, by)


def finish_owned(engine: Engine, closing: Mapping[str, Any], *, worker: str) -> dict[str, Any] | None:
    """Close the row (``closing`` as :func:`~fund_scheduler.store.history.finish` takes it) only
    while ``worker`` owns it; the final row, or None when it was given up meanwhile (a worker
    frozen past its lease never overwrites the outcome the leader recorded)."""
    execution_id = closing["execution_id"]
    with writing(engine) as conn:
        began = conn.execute(select(t.c.started_at).where(*_owned(execution_id, worker))).scalar()
        if began is None:
            return None
        values = closing_values(closing, began)
        owned = CLOSE_RUN.where(t.c.status == RunStatus.RUNNING.value, t.c.worker == worker)
        if conn.execute(owned, values).rowcount != 1:
            return None
    return get(engine, execution_id)


def give_up(
    engine: Engine,
    execution_id: int,
    status: str,
    error: str,
    *,
    was: str,
    silent_since: datetime | None = None,
    now: datetime | None = None,
    cancelled_by: str | None = None,
) -> dict[str, Any] | None:
    """End a remote run that is still ``was`` (``queued`` or ``running``; for ``running``, only
    while its last heartbeat is not after ``silent_since``) with ``status`` and ``error``; the
    final row, or None when it changed meanwhile (its worker claimed, beat or finished it)."""
    conditions = [t.c.id == execution_id, t.c.status == was, t.c.executor == REMOTE]
    if silent_since is not None:
        conditions.append(t.c.heartbeat_at <= db_time(silent_since))
    with writing(engine) as conn:
        began = conn.execute(select(t.c.started_at).where(*conditions)).scalar()
        if began is None:
            return None
        closing = {
            "execution_id": execution_id,
            "status": status,
            "error": error,
            "now": now,
            "cancelled_by": cancelled_by,
        }
        changed = conn.execute(CLOSE_RUN.where(*conditions[1:]), closing_values(closing, began)).rowcount
        if changed != 1:
            return None
    return get(engine, execution_id)


def request_cancel(engine: Engine, execution_id: int, by: str) -> bool:
    """Ask the worker running ``execution_id`` to end it (it does at its next heartbeat); False
    when the row is not a ``running`` remote run."""
    asking = (
        update(t)
        .where(t.c.id == execution_id, t.c.status == RunStatus.RUNNING.value, t.c.executor == REMOTE)
        .values(cancel_requested_by=by)
    )
    with writing(engine) as conn:
        return conn.execute(asking).rowcount == 1


def unfinished(engine: Engine, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Remote runs not ended (``queued`` or ``running``), oldest first; of ``ids`` only, when
    given (then rows that ended are included too: the caller waits for them)."""
    query = select(t).where(t.c.executor == REMOTE)
    if ids is None:
        query = query.where(t.c.status.in_(sorted(UNFINISHED)))
    else:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        query = query.where(t.c.id.in_(wanted))
    with engine.begin() as conn:
        return [row_of(r._mapping) for r in conn.execute(query.order_by(t.c.id))]


def running_on(engine: Engine, worker: str) -> list[dict[str, Any]]:
    """The remote runs ``worker`` holds (``running`` under its name), oldest first."""
    query = select(t).where(
        t.c.status == RunStatus.RUNNING.value, t.c.worker == worker, t.c.executor == REMOTE
    )
    with engine.begin() as conn:
        return [row_of(r._mapping) for r in conn.execute(query.order_by(t.c.id))]


def of_worker(engine: Engine, worker: str, since: datetime) -> list[dict[str, Any]]:
    """Rows ``worker`` claimed since ``since`` (any status): what a restarted worker checks for
    processes its previous life left behind."""
    query = (
        select(t)
        .where(t.c.started_at >= db_time(since), t.c.worker == worker, t.c.executor == REMOTE)
        .order_by(t.c.id)
    )
    with engine.begin() as conn:
        return [row_of(r._mapping) for r in conn.execute(query)]
