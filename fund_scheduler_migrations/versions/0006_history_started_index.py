"""``job_executions`` indexed for its periods: ``(started_at, job_id, status)``, and
``(status, started_at)`` in place of ``(status)``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

The history's periods (the last 24 hours of failures, the 7-day counts, a week's runs for the
report) and the cleanup job's purge read a range of start times: without this index each was a
pass over every row, and the failures of a day sorted every failure ever recorded (0.05 to
3.5 s at 1,000,000 rows, see bench/history_bench.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STARTED = "ix_job_executions_started"
STATUS_STARTED = "ix_job_executions_status_started"
STATUS = "ix_job_executions_status"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "job_executions" not in inspector.get_table_names():
        return
    present = {ix["name"] for ix in inspector.get_indexes("job_executions")}
    if STARTED not in present:
        op.create_index(STARTED, "job_executions", ["started_at", "job_id", "status"])
    if STATUS_STARTED not in present:
        op.create_index(STATUS_STARTED, "job_executions", ["status", "started_at"])
    if STATUS in present:
        op.drop_index(STATUS, table_name="job_executions")


def downgrade() -> None:
    op.create_index(STATUS, "job_executions", ["status"])
    op.drop_index(STATUS_STARTED, table_name="job_executions")
    op.drop_index(STARTED, table_name="job_executions")
