"""``fund_nav`` clustered on its primary key on SQLite (``WITHOUT ROWID``), as InnoDB already is.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

A rowid ``fund_nav`` (created before commit e560465) is rebuilt: the rows are copied into a new
``WITHOUT ROWID`` table in one transaction, the old one dropped and the new one renamed; its
index is recreated. Nothing to do on MySQL/MariaDB or when the table is already ``WITHOUT ROWID``.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UtcDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
COLUMNS = (
    "fund_code",
    "nav_date",
    "unit_nav",
    "accum_nav",
    "daily_return",
    "source",
    "batch_id",
    "updated_at",
)


def _rowid_table(bind) -> bool:
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'fund_nav'")
    ).scalar()
    return sql is not None and "WITHOUT ROWID" not in sql.upper()


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not _rowid_table(bind):
        return
    op.create_table(
        "fund_nav_clustered",
        sa.Column("fund_code", sa.String(32), nullable=False),
        sa.Column("nav_date", sa.Date, nullable=False),
        sa.Column("unit_nav", sa.Double, nullable=False),
        sa.Column("accum_nav", sa.Double),
        sa.Column("daily_return", sa.Double, comment="percent"),
        sa.Column("source", sa.String(32)),
        sa.Column("batch_id", sa.String(40)),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("fund_code", "nav_date", name="pk_fund_nav"),
        sqlite_with_rowid=False,
    )
    names = ", ".join(COLUMNS)
    op.execute(f"INSERT INTO fund_nav_clustered ({names}) SELECT {names} FROM fund_nav")  # noqa: S608 - constants
    op.drop_table("fund_nav")
    op.rename_table("fund_nav_clustered", "fund_nav")
    op.create_index("ix_fund_nav_nav_date", "fund_nav", ["nav_date"])


def downgrade() -> None:
    pass  # the rowid layout gives the same results; nothing to undo
