"""The ``audit_log`` table: every operator action, who did it, when, from where, what changed.

An :class:`Actor` is who asks: an API token's name (``token:alice``), the Unix user of a control
socket peer (``unix:ops``, from ``SO_PEERCRED``), or the command line in test mode
(``cli:<user>``). Each action of an operator (run, backfill, cancel, pause, resume, job add /
set / remove, reload) is one row: ``actor``, ``via`` (``http``, ``socket``, ``cli``, ``signal``), ``origin``
(the peer's address or pid), ``action``, ``target`` (a job id, an execution or backfill id),
``before`` and ``after`` (JSON, the state the action changed) and ``outcome`` (``ok`` or the
refusal's reason). Times are stored naive UTC and read back aware UTC.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from fund_common.clock import as_naive_utc, utcnow
from fund_scheduler.store.engine import has_tables, is_database_error

logger = logging.getLogger("scheduler.audit")

__all__ = [
    "ACTIONS",
    "ROLES",
    "SIGHUP",
    "Actor",
    "audit_log",
    "exists",
    "metadata",
    "recent",
    "record",
    "record_or_log",
]

#: What an operator can do; each is one audit row.
ACTIONS = (
    "run",
    "backfill",
    "cancel",
    "pause",
    "resume",
    "job_add",
    "job_set",
    "job_remove",
    "reload",
)
#: ``viewer``: reads only; ``operator``: reads and every action.
ROLES = ("viewer", "operator")

metadata = MetaData()
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),  # naive UTC
    Column("actor", String(191), nullable=False),
    Column("via", String(16), nullable=False),  # http | socket | cli | signal
    Column("origin", String(255)),  # the peer's address, or pid for a socket peer
    Column("action", String(32), nullable=False),
    Column("target", String(191)),
    Column("before", Text),  # JSON
    Column("after", Text),  # JSON
    Column("outcome", Text),  # ok, or why it was refused
    Index("ix_audit_log_at", "at"),
)


@dataclass(frozen=True)
class Actor:
    """Who asks for an action, through what and from where, with which role."""

    name: str
    via: str
    origin: str | None = None
    role: str = "operator"

    @property
    def may_write(self) -> bool:
        return self.role == "operator"


#: A reload asked for by SIGHUP (``systemctl reload``, ``kill -HUP``): a signal names no sender.
SIGHUP = Actor("signal:SIGHUP", "signal")


def exists(engine: Engine) -> bool:
    """True when the table exists (a database the migrations brought to 0008 or later)."""
    return has_tables(engine, audit_log.name)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def record(
    engine: Engine,
    actor: Actor,
    action: str,
    target: str | None,
    *,
    before: Any = None,
    after: Any = None,
    outcome: str = "ok",
    now: datetime | None = None,
) -> int:
    """Insert one audit row; return its id."""
    if action not in ACTIONS:
        raise ValueError(f"not an audited action: {action!r}")
    values = {
        "at": as_naive_utc(now or utcnow()),
        "actor": actor.name[:191],
        "via": actor.via,
        "origin": actor.origin,
        "action": action,
        "target": target,
        "before": _json(before),
        "after": _json(after),
        "outcome": outcome,
    }
    with engine.begin() as conn:
        key = conn.execute(insert(audit_log).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def record_or_log(
    engine: Engine,
    actor: Actor | None,
    action: str,
    target: str | None,
    *,
    before: Any = None,
    after: Any = None,
    outcome: str = "ok",
) -> None:
    """:func:`record` an operator's action; nothing without an actor (the daemon's own doing). A
    database error is logged, never raised: the action happened."""
    if actor is None:
        return
    try:
        record(engine, actor, action, target, before=before, after=after, outcome=outcome)
    except Exception as exc:
        if not is_database_error(exc):
            raise
        logger.error(
            "audit: %s %s (%s) by %s not recorded: database unavailable", action, target, outcome, actor.name
        )


def _row(mapping: Any) -> dict[str, Any]:
    row = dict(mapping)
    row["at"] = row["at"].replace(tzinfo=UTC)
    for key in ("before", "after"):
        try:
            row[key] = json.loads(row[key]) if row[key] else None
        except ValueError:
            row[key] = {"unreadable": row[key]}
    return row


def recent(
    engine: Engine,
    *,
    limit: int = 50,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` rows, optionally of one actor, action, target, or since a time."""
    t = audit_log
    query = select(t).order_by(t.c.at.desc(), t.c.id.desc()).limit(limit)
    if actor:
        query = query.where(t.c.actor == actor)
    if action:
        query = query.where(t.c.action == action)
    if target:
        query = query.where(t.c.target == target)
    if since is not None:
        query = query.where(t.c.at >= as_naive_utc(since))
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(query).mappings()]
