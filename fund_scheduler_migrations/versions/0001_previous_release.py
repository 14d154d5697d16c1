"""The schema of the release before migrations (commit 00aba28): job store, run history, fund tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Frozen copies of the definitions of that release (not imports of the live metadata). Each
table is created only when missing, so an unversioned database that has some of them (see
:mod:`fund_scheduler_migrations.runner`) is completed without touching what it holds.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UtcDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FUND = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mariadb_engine": "InnoDB",
    "mariadb_charset": "utf8mb4",
    "mariadb_collate": "utf8mb4_bin",
}


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def _table(name: str, *columns, indexes=(), **kw) -> None:
    """Create ``name`` with its ``(index name, columns)`` indexes unless it exists."""
    if not _missing(name):
        return
    op.create_table(name, *columns, **kw)
    for index_name, cols in indexes:
        op.create_index(index_name, name, list(cols))


def upgrade() -> None:
    # -- scheduler: job store (fund_scheduler.store) and run history ------------------------------
    _table(
        "scheduler_jobs",
        sa.Column("id", sa.String(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25)),
        sa.Column("job_state", sa.Text, nullable=False),
        indexes=[("ix_scheduler_jobs_next_run_time", ["next_run_time"])],
    )
    _table(
        "scheduler_jobs_rejected",
        sa.Column("rejection_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(191), nullable=False),
        sa.Column("job_state", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("rejected_at", sa.DateTime, nullable=False),
        indexes=[("ix_scheduler_jobs_rejected_id", ["id"])],
    )
    _table(
        "job_executions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("job_id", sa.String(191), nullable=False),
        sa.Column("scheduled_run_time", sa.DateTime),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("duration", sa.Float),
        sa.Column("exit_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("output_tail", sa.Text),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer),
        sa.Column("trigger", sa.String(16), nullable=False),
        indexes=[
            ("ix_job_executions_job_started", ["job_id", "started_at"]),
            ("ix_job_executions_status", ["status"]),
        ],
    )

    # -- fund tables (fundpipe.schema) ---------------------------------------------------------
    _table(
        "fund_info",
        sa.Column("fund_code", sa.String(32), nullable=False),
        sa.Column("fund_name", sa.String(200)),
        sa.Column("fund_type", sa.String(32)),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("fund_code", name="pk_fund_info"),
        **FUND,
    )
    # A rowid table in that release; revision 0003 rebuilds it WITHOUT ROWID on SQLite.
    _table(
        "fund_nav",
        sa.Column("fund_code", sa.String(32), nullable=False),
        sa.Column("nav_date", sa.Date, nullable=False),
        sa.Column("unit_nav", sa.Double, nullable=False),
        sa.Column("accum_nav", sa.Double),
        sa.Column("daily_return", sa.Double, comment="percent"),
        sa.Column("source", sa.String(32)),
        sa.Column("batch_id", sa.String(40)),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("fund_code", "nav_date", name="pk_fund_nav"),
        indexes=[("ix_fund_nav_nav_date", ["nav_date"])],
        **FUND,
    )
    _table(
        "fund_nav_staging",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(40), nullable=False),
        sa.Column("fund_code", sa.String(64)),
        sa.Column("nav_date", sa.Date),
        sa.Column("unit_nav", sa.Double),
        sa.Column("accum_nav", sa.Double),
        sa.Column("daily_return", sa.Double, comment="percent"),
        sa.Column("source", sa.String(32)),
        sa.Column("collected_at", UtcDateTime, nullable=False),
        sa.Column("processed_at", UtcDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_fund_nav_staging"),
        indexes=[
            ("ix_fund_nav_staging_batch_id", ["batch_id"]),
            ("ix_fund_nav_staging_processed_at", ["processed_at"]),
        ],
        sqlite_autoincrement=True,
        **FUND,
    )
    _table(
        "fund_nav_quarantine",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(40), nullable=False),
        sa.Column("staging_id", sa.BigInteger),
        sa.Column("fund_code", sa.String(64)),
        sa.Column("nav_date", sa.Date),
        sa.Column("unit_nav", sa.Double),
        sa.Column("accum_nav", sa.Double),
        sa.Column("daily_return", sa.Double, comment="percent"),
        sa.Column("source", sa.String(32)),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("quarantined_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fund_nav_quarantine"),
        indexes=[
            ("ix_fund_nav_quarantine_batch_id", ["batch_id"]),
            ("ix_fund_nav_quarantine_quarantined_at", ["quarantined_at"]),
        ],
        sqlite_autoincrement=True,
        **FUND,
    )
    _table(
        "fund_metrics",
        sa.Column("fund_code", sa.String(32), nullable=False),
        sa.Column("calc_date", sa.Date, nullable=False),
        sa.Column("window_days", sa.Integer, nullable=False),
        sa.Column("n_obs", sa.Integer, nullable=False),
        *(
            sa.Column(name, sa.Double)
            for name in (
                "annual_return",
                "annual_volatility",
                "sharpe_ratio",
                "sortino_ratio",
                "max_drawdown",
                "calmar_ratio",
                "return_1m",
                "return_3m",
                "return_6m",
                "return_1y",
            )
        ),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("fund_code", "calc_date", name="pk_fund_metrics"),
        indexes=[("ix_fund_metrics_calc_date", ["calc_date"])],
        **FUND,
    )
    _table(
        "data_update_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("as_of", sa.Date),
        sa.Column("batch_id", sa.String(40)),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows_in", sa.Integer),
        sa.Column("rows_loaded", sa.Integer),
        sa.Column("rows_rejected", sa.Integer),
        sa.Column("message", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_data_update_log"),
        indexes=[("ix_data_update_log_step_started_at", ["step", "started_at"])],
        sqlite_autoincrement=True,
        **FUND,
    )


def downgrade() -> None:
    for name in (
        "data_update_log",
        "fund_metrics",
        "fund_nav_quarantine",
        "fund_nav_staging",
        "fund_nav",
        "fund_info",
        "job_executions",
        "scheduler_jobs_rejected",
        "scheduler_jobs",
    ):
        op.drop_table(name)
