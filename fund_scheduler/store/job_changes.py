"""The ``job_changes`` table: job definitions changed at runtime, the layer above the code and
``jobs.toml``.

One row per job: ``fields`` (a JSON object with the same names as ``jobs.toml``, e.g.
``{"cron": "15 4 * * *"}``; for a job created at runtime, its whole definition), ``removed``
(the job is deleted), who changed it and when, and a ``version`` counting the changes. Every
daemon reads it when it builds its registry (at start, on reload, on becoming active), so a
change reaches a standby on another host. Times are stored naive UTC and read back aware UTC.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    false,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from fund_common.clock import as_naive_utc
from fund_scheduler.errors import SchedulerError
from fund_scheduler.jobs.edits import EditRequest, JobEdit, checked, plan
from fund_scheduler.jobs.registry import Registry, apply_changes
from fund_scheduler.store import audit
from fund_scheduler.store.audit import Actor
from fund_scheduler.store.engine import describe_error, has_tables, is_database_error

logger = logging.getLogger("scheduler.daemon")

__all__ = ["drop", "exists", "job_changes", "metadata", "put", "read_all", "save_edit", "store"]

metadata = MetaData()
job_changes = Table(
    "job_changes",
    metadata,
    Column("job_id", String(191), primary_key=True),
    Column("fields", Text, nullable=False),  # JSON object
    Column("removed", Boolean, nullable=False, server_default=false()),
    Column("changed_at", DateTime, nullable=False),  # naive UTC
    Column("changed_by", String(191)),
    Column("version", Integer, nullable=False, server_default="1"),
)


def exists(engine: Engine) -> bool:
    """True when the table exists (a database the migrations brought to 0008 or later)."""
    return has_tables(engine, job_changes.name)


def read_all(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every job's change: ``{job_id: {"fields", "removed", "changed_at", "changed_by", "version"}}``
    (nothing when the table does not exist yet)."""
    if not exists(engine):
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(job_changes)).mappings().all()
    return {
        row["job_id"]: {
            "fields": json.loads(row["fields"]) if row["fields"] else {},
            "removed": bool(row["removed"]),
            "changed_at": row["changed_at"].replace(tzinfo=UTC),
            "changed_by": row["changed_by"],
            "version": row["version"],
        }
        for row in rows
    }


def layered(
    engine: Engine, base: Registry, default_tz: ZoneInfo
) -> tuple[Registry, dict[str, dict[str, Any]] | None]:
    """``base`` with the runtime job changes on top, and those changes; ``(base, None)`` while
    the database is away (logged: the jobs as the code and jobs.toml define them run meanwhile)."""
    try:
        changes = read_all(engine)
    except Exception as exc:
        if not is_database_error(exc):
            raise
        logger.error("runtime job changes not read: database unavailable (%s)", describe_error(exc))
        return base, None
    return apply_changes(base, changes, default_tz), changes


def put(
    engine: Engine, job_id: str, fields: dict[str, Any], *, removed: bool, by: str | None, now: datetime
) -> int:
    """Store ``job_id``'s change (its whole ``fields``, replacing the previous one); its version."""
    with engine.begin() as conn:
        version = conn.execute(select(job_changes.c.version).where(job_changes.c.job_id == job_id)).scalar()
        conn.execute(delete(job_changes).where(job_changes.c.job_id == job_id))
        conn.execute(
            insert(job_changes).values(
                job_id=job_id,
                fields=json.dumps(fields, sort_keys=True, default=str),
                removed=removed,
                changed_at=as_naive_utc(now),
                changed_by=by,
                version=(version or 0) + 1,
            )
        )
    return (version or 0) + 1


def drop(engine: Engine, job_id: str) -> bool:
    """Forget ``job_id``'s change (code and ``jobs.toml`` alone define it again)."""
    with engine.begin() as conn:
        return conn.execute(delete(job_changes).where(job_changes.c.job_id == job_id)).rowcount == 1


def store(
    engine: Engine,
    job_id: str,
    fields: dict[str, Any] | None,
    *,
    removed: bool,
    by: str | None,
    now: datetime,
) -> None:
    """Store ``job_id``'s whole change: :func:`put` it, or :func:`drop` it when ``fields`` is
    None and the job is not ``removed``."""
    if fields is None and not removed:
        drop(engine, job_id)
    else:
        put(engine, job_id, dict(fields or {}), removed=removed, by=by, now=now)


def save_edit(
    engine: Engine,
    request: EditRequest,
    *,
    base: Registry,
    actor: Actor | None,
    default_tz: ZoneInfo,
    now: datetime,
) -> tuple[JobEdit, Registry]:
    """Plan ``request`` on top of the stored changes (:func:`~fund_scheduler.jobs.edits.plan`),
    check the registry it leads to (:func:`~fund_scheduler.jobs.edits.checked`), store it and
    record it in the audit log for ``actor`` (before and after); the edit and its registry. A
    refusal (SchedulerError: unknown job, an id that exists, ConfigError naming each problem)
    stores nothing and is recorded with its reason."""
    changes = read_all(engine)
    stored = changes.get(request.job_id)
    before = {"fields": stored["fields"], "removed": stored["removed"]} if stored else None
    by = actor.name if actor else None
    after: Any = request.asked()
    record = functools.partial(
        audit.record_or_log, engine, actor, request.action, request.job_id, before=before
    )
    try:
        edit = plan(request, base, changes, default_tz)
        after = {"fields": edit.fields, "removed": edit.removed}
        candidate = checked(base, changes, edit, by, default_tz)
    except SchedulerError as exc:
        record(after=after, outcome=str(exc))
        raise
    store(engine, request.job_id, edit.fields, removed=edit.removed, by=by, now=now)
    record(after=after)
    return edit, candidate
