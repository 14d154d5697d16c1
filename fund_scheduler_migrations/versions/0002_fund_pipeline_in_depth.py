"""Fund pipeline in depth (commit e560465): staging parse errors, source-file log, NAV corrections.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

* ``fund_nav_staging.parse_error`` (nullable: existing rows get NULL, "every value read");
* ``fund_source_files``: the inbox files staged, unique by SHA-256;
* ``fund_nav_corrections``: the audit trail of changed NAVs.

Idempotent like 0001: a column or table already there (added by ``create_schema`` of that
release) is left as it is.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UtcDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FUND: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mariadb_engine": "InnoDB",
    "mariadb_charset": "utf8mb4",
    "mariadb_collate": "utf8mb4_bin",
}


def _has_table(name: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("fund_nav_staging")}
    if "parse_error" not in columns:
        with op.batch_alter_table("fund_nav_staging") as batch:
            batch.add_column(sa.Column("parse_error", sa.String(500)))

    if not _has_table("fund_source_files"):
        op.create_table(
            "fund_source_files",
            sa.Column("id", Id, primary_key=True, autoincrement=True),
            sa.Column("source", sa.String(32), nullable=False),
            sa.Column("file_name", sa.String(255), nullable=False),
            sa.Column("sha256", sa.String(64), nullable=False),
            sa.Column("size_bytes", sa.BigInteger, nullable=False),
            sa.Column("encoding", sa.String(16)),
            sa.Column("row_count", sa.Integer, nullable=False),
            sa.Column("batch_id", sa.String(40), nullable=False),
            sa.Column("staged_at", UtcDateTime, nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_fund_source_files"),
            sa.UniqueConstraint("sha256", name="uq_fund_source_files_sha256"),
            sqlite_autoincrement=True,
            **FUND,
        )

    if not _has_table("fund_nav_corrections"):
        op.create_table(
            "fund_nav_corrections",
            sa.Column("id", Id, primary_key=True, autoincrement=True),
            sa.Column("fund_code", sa.String(32), nullable=False),
            sa.Column("nav_date", sa.Date, nullable=False),
            sa.Column("old_unit_nav", sa.Double),
            sa.Column("new_unit_nav", sa.Double),
            sa.Column("old_accum_nav", sa.Double),
            sa.Column("new_accum_nav", sa.Double),
            sa.Column("old_daily_return", sa.Double, comment="percent"),
            sa.Column("new_daily_return", sa.Double, comment="percent"),
            sa.Column("old_batch_id", sa.String(40)),
            sa.Column("batch_id", sa.String(40), nullable=False),
            sa.Column("corrected_at", UtcDateTime, nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_fund_nav_corrections"),
            sqlite_autoincrement=True,
            **FUND,
        )
        op.create_index(
            "ix_fund_nav_corrections_fund_code_nav_date", "fund_nav_corrections", ["fund_code", "nav_date"]
        )
        op.create_index("ix_fund_nav_corrections_corrected_at", "fund_nav_corrections", ["corrected_at"])


def downgrade() -> None:
    op.drop_table("fund_nav_corrections")
    op.drop_table("fund_source_files")
    with op.batch_alter_table("fund_nav_staging") as batch:
        batch.drop_column("parse_error")
