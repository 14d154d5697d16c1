"""The ``job_changes`` table: job definitions changed at runtime, the layer above the code and
``jobs.toml``.

One row per job: ``fields`` (a JSON object with the same names as ``jobs.toml``, e.g.
``{"cron": "15 4 * * *"}``; for a job created at runtime, its whole definition), ``removed``
(the job is deleted), who changed it and when, and a ``version`` counting the changes. Every
daemon reads it when it builds its registry (at start, on reload, on becoming active), so a
change reaches a standby on another host. Times are stored naive UTC and read back aware UTC.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, false
from sqlalchemy.engine import Engine

from fund_scheduler.store.engine import has_tables

__all__ = ["exists", "job_changes", "metadata"]

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
