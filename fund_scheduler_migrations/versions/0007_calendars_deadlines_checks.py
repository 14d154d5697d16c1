"""Exchange calendars, business dates of runs and check states.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

* ``exchange_calendars``: each exchange's sessions, computed from the ``exchange_calendars``
  library in a child process (the daemon never imports it) and read by the daemon and fundpipe;
* ``job_executions.run_date`` (indexed with ``job_id``): the business date a run is for; a
  dependent runs once per business date after its upstream jobs succeeded for it;
* ``check_states``: the state (``ok``/``breach``) of each check job, so a breach is alerted once
  and its end once, across restarts.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RUN_DATE_INDEX = "ix_job_executions_job_run_date"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    if "exchange_calendars" not in tables:
        op.create_table(
            "exchange_calendars",
            sa.Column("name", sa.String(32), primary_key=True),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("library_version", sa.String(32), nullable=False),
            sa.Column("computed_at", sa.DateTime, nullable=False),
        )
    if "check_states" not in tables:
        op.create_table(
            "check_states",
            sa.Column("job_id", sa.String(191), primary_key=True),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("since", sa.DateTime, nullable=False),
            sa.Column("checked_at", sa.DateTime, nullable=False),
            sa.Column("summary", sa.Text),
            sa.Column("details", sa.Text),
            sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer, "sqlite")),
        )
    if "job_executions" in tables:
        columns = {c["name"] for c in inspector.get_columns("job_executions")}
        if "run_date" not in columns:
            op.add_column("job_executions", sa.Column("run_date", sa.Date))
        if RUN_DATE_INDEX not in {ix["name"] for ix in inspector.get_indexes("job_executions")}:
            op.create_index(RUN_DATE_INDEX, "job_executions", ["job_id", "run_date"])


def downgrade() -> None:
    op.drop_index(RUN_DATE_INDEX, table_name="job_executions")
    op.drop_column("job_executions", "run_date")
    op.drop_table("check_states")
    op.drop_table("exchange_calendars")
