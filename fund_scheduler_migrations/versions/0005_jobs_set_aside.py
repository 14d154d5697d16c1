"""``scheduler_jobs_set_aside``: jobs the specs stopped defining, kept instead of deleted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

A stored job whose module disappeared, failed to import or was disabled is moved here with the
reason; when its definition returns it is restored with its paused state. Only the operator's
``forget-job`` deletes a row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "scheduler_jobs_set_aside"


def upgrade() -> None:
    if TABLE in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        TABLE,
        sa.Column("id", sa.String(191), primary_key=True),
        sa.Column("job_state", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("set_aside_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table(TABLE)
