"""One ``job_executions`` row per job and scheduled run time (unique key).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

The last guard of the active/standby hand-over: a fire time two daemons both submit is recorded
(and run) once. Manual runs have a NULL scheduled time; MySQL/MariaDB and SQLite allow any
number of NULLs in a unique index. Duplicate rows an existing database may hold are deleted
first, keeping the lowest id.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEX = "uq_job_executions_job_scheduled"


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if "job_executions" not in inspector.get_table_names():
        return
    if INDEX in {ix["name"] for ix in inspector.get_indexes("job_executions")}:
        return
    # The derived table lets MySQL/MariaDB read the table it deletes from.
    op.execute(
        "DELETE FROM job_executions WHERE scheduled_run_time IS NOT NULL AND id NOT IN ("
        " SELECT keep_id FROM (SELECT MIN(id) AS keep_id FROM job_executions"
        " WHERE scheduled_run_time IS NOT NULL GROUP BY job_id, scheduled_run_time) AS keep)"
    )
    op.create_index(INDEX, "job_executions", ["job_id", "scheduled_run_time"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="job_executions")
