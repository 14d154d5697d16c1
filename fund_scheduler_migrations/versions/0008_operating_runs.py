"""Operating runs: parameters and who asked, retries and backfills, cancel, runtime job changes,
the audit trail.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

* ``job_executions``: ``params`` (JSON object), ``requested_by`` (who asked for the run),
  ``attempt`` (1 for a first run) and ``first_execution_id`` (a retry's first attempt),
  ``backfill_id``, ``cancelled_by``;
* ``run_requests``: runs asked for but not started yet (a pending retry with its due time, the
  runs of a backfill in date order), kept in the database so they survive a restart and a
  fail-over and hold no worker thread while they wait;
* ``backfills``: one row per backfill (its job, range, options, state and progress);
* ``job_changes``: the job definitions changed at runtime (API, ``job add|set|remove``), the
  layer on top of the code and ``jobs.toml``, read by every daemon (a standby too);
* ``audit_log``: every operator action, who, when, from where, before and after.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
EXECUTION_COLUMNS = (
    ("params", lambda: sa.Text()),
    ("requested_by", lambda: sa.String(191)),
    ("attempt", lambda: sa.Integer()),
    ("first_execution_id", lambda: ID),
    ("backfill_id", lambda: sa.String(32)),
    ("cancelled_by", lambda: sa.String(191)),
)
BACKFILL_INDEX = "ix_job_executions_backfill"
REQUESTS_DUE_INDEX = "ix_run_requests_state_due"
AUDIT_AT_INDEX = "ix_audit_log_at"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    if "job_executions" in tables:
        columns = {c["name"] for c in inspector.get_columns("job_executions")}
        for name, kind in EXECUTION_COLUMNS:
            if name not in columns:
                op.add_column("job_executions", sa.Column(name, kind()))
        if BACKFILL_INDEX not in {ix["name"] for ix in inspector.get_indexes("job_executions")}:
            op.create_index(BACKFILL_INDEX, "job_executions", ["backfill_id"])
    if "run_requests" not in tables:
        op.create_table(
            "run_requests",
            sa.Column("id", ID, primary_key=True, autoincrement=True),
            sa.Column("job_id", sa.String(191), nullable=False),
            sa.Column("run_date", sa.Date),
            sa.Column("params", sa.Text),
            sa.Column("trigger", sa.String(16), nullable=False),
            sa.Column("due_at", sa.DateTime, nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
            sa.Column("first_execution_id", ID),
            sa.Column("backfill_id", sa.String(32)),
            sa.Column("position", sa.Integer, nullable=False, server_default="0"),
            sa.Column("with_dependents", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("requested_by", sa.String(191)),
            sa.Column("execution_id", ID),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False),
            sa.Column("note", sa.Text),
        )
        op.create_index(REQUESTS_DUE_INDEX, "run_requests", ["state", "due_at"])
    if "backfills" not in tables:
        op.create_table(
            "backfills",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("job_id", sa.String(191), nullable=False),
            sa.Column("from_date", sa.Date, nullable=False),
            sa.Column("to_date", sa.Date, nullable=False),
            sa.Column("params", sa.Text),
            sa.Column("with_dependents", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("continue_on_failure", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("total", sa.Integer, nullable=False, server_default="0"),
            sa.Column("requested_by", sa.String(191)),
            sa.Column("cancelled_by", sa.String(191)),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("finished_at", sa.DateTime),
            sa.Column("error", sa.Text),
        )
    if "job_changes" not in tables:
        op.create_table(
            "job_changes",
            sa.Column("job_id", sa.String(191), primary_key=True),
            sa.Column("fields", sa.Text, nullable=False),
            sa.Column("removed", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("changed_at", sa.DateTime, nullable=False),
            sa.Column("changed_by", sa.String(191)),
            sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        )
    if "audit_log" not in tables:
        op.create_table(
            "audit_log",
            sa.Column("id", ID, primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime, nullable=False),
            sa.Column("actor", sa.String(191), nullable=False),
            sa.Column("via", sa.String(16), nullable=False),
            sa.Column("origin", sa.String(255)),
            sa.Column("action", sa.String(32), nullable=False),
            sa.Column("target", sa.String(191)),
            sa.Column("before", sa.Text),
            sa.Column("after", sa.Text),
            sa.Column("outcome", sa.Text),
        )
        op.create_index(AUDIT_AT_INDEX, "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index(AUDIT_AT_INDEX, table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("job_changes")
    op.drop_table("backfills")
    op.drop_index(REQUESTS_DUE_INDEX, table_name="run_requests")
    op.drop_table("run_requests")
    op.drop_index(BACKFILL_INDEX, table_name="job_executions")
    for name, _ in reversed(EXECUTION_COLUMNS):
        op.drop_column("job_executions", name)
