"""Runs on Celery workers on other hosts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

* ``job_executions``: ``executor`` (``celery`` for a run handed to a worker; NULL: run by the
  daemon), ``queue``, ``worker`` (the worker that claimed it, e.g. ``cpu1@host``), ``queued_at``
  (when the leader queued it), ``heartbeat_at`` (the worker's last sign of life for it) and
  ``cancel_requested_by`` (a cancel the worker carries out at its next heartbeat);
* ``workers``: one row per worker (name, host, pid, queues, concurrency, started, last heartbeat);
* ``run_log_chunks``: a remote run's log as its worker ships it (the file stays on the worker).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
EXECUTION_COLUMNS = (
    ("executor", lambda: sa.String(16)),
    ("queue", lambda: sa.String(64)),
    ("worker", lambda: sa.String(191)),
    ("queued_at", lambda: sa.DateTime()),
    ("heartbeat_at", lambda: sa.DateTime()),
    ("cancel_requested_by", lambda: sa.String(191)),
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    if "job_executions" in tables:
        columns = {c["name"] for c in inspector.get_columns("job_executions")}
        for name, kind in EXECUTION_COLUMNS:
            if name not in columns:
                op.add_column("job_executions", sa.Column(name, kind()))
    if "workers" not in tables:
        op.create_table(
            "workers",
            sa.Column("name", sa.String(191), primary_key=True),
            sa.Column("host", sa.String(255), nullable=False),
            sa.Column("pid", sa.Integer),
            sa.Column("queues", sa.String(1000), nullable=False),
            sa.Column("concurrency", sa.Integer, nullable=False),
            sa.Column("version", sa.String(64)),
            sa.Column("started_at", sa.DateTime, nullable=False),
            sa.Column("heartbeat_at", sa.DateTime, nullable=False),
            sa.Column("stopped_at", sa.DateTime),
        )


    if "run_log_chunks" not in tables:
        op.create_table(
            "run_log_chunks",
            sa.Column("execution_id", ID, primary_key=True),
            sa.Column("seq", sa.Integer, primary_key=True),
            sa.Column("start", sa.BigInteger, nullable=False),
            sa.Column("size", sa.Integer, nullable=False),
            sa.Column("data", sa.LargeBinary, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("run_log_chunks")
    op.drop_table("workers")
    for name, _ in reversed(EXECUTION_COLUMNS):
        op.drop_column("job_executions", name)
