"""The fund tables as SQLAlchemy Core metadata, portable between SQLite and MySQL/MariaDB.

This module declares the tables; it creates nothing. The product's databases are created and
upgraded by the Alembic migrations alone (``fund_scheduler_migrations``, run by the daemon at
start; a test checks that they agree with this metadata). A scratch database (a test, a
notebook, a benchmark) gets the tables from ``metadata.create_all(engine)``.

Type choices:

* NAVs, returns and metrics are ``Double`` (IEEE 754 binary64: ``DOUBLE`` on MySQL, ``REAL``
  on SQLite). NAVs are published with 4 decimals, well inside double precision, and floats
  read straight into numpy; ``Numeric`` would round-trip every value through ``Decimal``.
  (Plain ``Float`` is avoided on purpose: MySQL renders it as 4-byte single precision.)
* ``daily_return`` is in percent, as fund sites publish it (``1.23`` means +1.23 %).
* Datetimes are naive UTC (``DATETIME(6)`` on MySQL); dates are ``DATE``.
* ``fund_nav`` is stored in primary-key order on both backends (InnoDB clusters on it; on
  SQLite it is a ``WITHOUT ROWID`` table), so one fund's NAVs sit together however the days
  were loaded: the metrics job reads them fund by fund in one sequential pass
  (:mod:`fundpipe.navwindow`). A database created before this is rebuilt that way by schema
  migration 0003.
* Every string has a length; MySQL tables are InnoDB, ``utf8mb4`` with the binary collation,
  so fund codes compare exactly (case and trailing blanks count).
* Staging keeps the raw values a source delivered (code, date and numbers may be NULL) so a bad
  row can be staged and then quarantined with its reason. A value that was present but could
  not be read (``'abc'`` as a NAV) is staged as NULL and named, with its raw text, in the row's
  ``parse_error`` (NULL when every value read).
* ``fund_nav_corrections`` is the audit trail of ``fund_nav``: one row per stored NAV a later
  delivery changed (old and new values, the batch that changed it), written by validation in
  the same transaction as the change.
* ``fund_source_files`` records each inbox file whose rows were staged (name, SHA-256, batch),
  in the staging transaction, so a file whose archiving was cut short is not staged twice.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

__all__ = [
    "CODE_LENGTH",
    "data_update_log",
    "fund_info",
    "fund_metrics",
    "fund_nav",
    "fund_nav_corrections",
    "fund_nav_quarantine",
    "fund_nav_staging",
    "fund_source_files",
    "metadata",
]

#: Longest fund code ``fund_nav`` accepts; staging keeps up to ``RAW_CODE_LENGTH`` characters.
CODE_LENGTH = 32
RAW_CODE_LENGTH = 64
BATCH_ID_LENGTH = 40
PARSE_ERROR_LENGTH = 500

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UtcDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only
Real = sa.Double

# Table options (dialect keyword arguments of ``sa.Table``, typed Any as its ``**kw`` are).
_MYSQL: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}
_MARIADB: dict[str, Any] = {"mariadb_" + k.removeprefix("mysql_"): v for k, v in _MYSQL.items()}  # same

fund_info = sa.Table(
    "fund_info",
    metadata,
    sa.Column("fund_code", sa.String(CODE_LENGTH), primary_key=True),
    sa.Column("fund_name", sa.String(200)),
    sa.Column("fund_type", sa.String(32)),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    **_MYSQL,
    **_MARIADB,
)

fund_nav = sa.Table(
    "fund_nav",
    metadata,
    sa.Column("fund_code", sa.String(CODE_LENGTH), primary_key=True),
    sa.Column("nav_date", sa.Date, primary_key=True),
    sa.Column("unit_nav", Real, nullable=False),
    sa.Column("accum_nav", Real),
    sa.Column("daily_return", Real, comment="percent"),
    sa.Column("source", sa.String(32)),
    sa.Column("batch_id", sa.String(BATCH_ID_LENGTH)),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index(None, "nav_date"),
    sqlite_with_rowid=False,  # clustered on (fund_code, nav_date), as InnoDB is: see above
    **_MYSQL,
    **_MARIADB,
)

fund_nav_staging = sa.Table(
    "fund_nav_staging",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(BATCH_ID_LENGTH), nullable=False),
    sa.Column("fund_code", sa.String(RAW_CODE_LENGTH)),
    sa.Column("nav_date", sa.Date),
    sa.Column("unit_nav", Real),
    sa.Column("accum_nav", Real),
    sa.Column("daily_return", Real, comment="percent"),
    sa.Column("source", sa.String(32)),
    sa.Column("parse_error", sa.String(PARSE_ERROR_LENGTH)),
    sa.Column("collected_at", UtcDateTime, nullable=False),
    sa.Column("processed_at", UtcDateTime),
    sa.Index(None, "batch_id"),
    sa.Index(None, "processed_at"),
    sqlite_autoincrement=True,  # never reuse an id after a purge
    **_MYSQL,
    **_MARIADB,
)

fund_source_files = sa.Table(
    "fund_source_files",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("encoding", sa.String(16)),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("batch_id", sa.String(BATCH_ID_LENGTH), nullable=False),
    sa.Column("staged_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
    **_MYSQL,
    **_MARIADB,
)

fund_nav_quarantine = sa.Table(
    "fund_nav_quarantine",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(BATCH_ID_LENGTH), nullable=False),
    sa.Column("staging_id", sa.BigInteger),
    sa.Column("fund_code", sa.String(RAW_CODE_LENGTH)),
    sa.Column("nav_date", sa.Date),
    sa.Column("unit_nav", Real),
    sa.Column("accum_nav", Real),
    sa.Column("daily_return", Real, comment="percent"),
    sa.Column("source", sa.String(32)),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("quarantined_at", UtcDateTime, nullable=False),
    sa.Index(None, "batch_id"),
    sa.Index(None, "quarantined_at"),
    sqlite_autoincrement=True,  # never reuse an id after a purge
    **_MYSQL,
    **_MARIADB,
)

fund_nav_corrections = sa.Table(
    "fund_nav_corrections",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("fund_code", sa.String(CODE_LENGTH), nullable=False),
    sa.Column("nav_date", sa.Date, nullable=False),
    sa.Column("old_unit_nav", Real),
    sa.Column("new_unit_nav", Real),
    sa.Column("old_accum_nav", Real),
    sa.Column("new_accum_nav", Real),
    sa.Column("old_daily_return", Real, comment="percent"),
    sa.Column("new_daily_return", Real, comment="percent"),
    sa.Column("old_batch_id", sa.String(BATCH_ID_LENGTH)),
    sa.Column("batch_id", sa.String(BATCH_ID_LENGTH), nullable=False),
    sa.Column("corrected_at", UtcDateTime, nullable=False),
    sa.Index(None, "fund_code", "nav_date"),
    sa.Index(None, "corrected_at"),
    sqlite_autoincrement=True,  # never reuse an id after a purge
    **_MYSQL,
    **_MARIADB,
)

fund_metrics = sa.Table(
    "fund_metrics",
    metadata,
    sa.Column("fund_code", sa.String(CODE_LENGTH), primary_key=True),
    sa.Column("calc_date", sa.Date, primary_key=True),
    sa.Column("window_days", sa.Integer, nullable=False),
    sa.Column("n_obs", sa.Integer, nullable=False),
    sa.Column("annual_return", Real),
    sa.Column("annual_volatility", Real),
    sa.Column("sharpe_ratio", Real),
    sa.Column("sortino_ratio", Real),
    sa.Column("max_drawdown", Real),
    sa.Column("calmar_ratio", Real),
    sa.Column("return_1m", Real),
    sa.Column("return_3m", Real),
    sa.Column("return_6m", Real),
    sa.Column("return_1y", Real),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index(None, "calc_date"),
    **_MYSQL,
    **_MARIADB,
)

data_update_log = sa.Table(
    "data_update_log",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("step", sa.String(40), nullable=False),
    sa.Column("as_of", sa.Date),
    sa.Column("batch_id", sa.String(BATCH_ID_LENGTH)),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("rows_in", sa.Integer),
    sa.Column("rows_loaded", sa.Integer),
    sa.Column("rows_rejected", sa.Integer),
    sa.Column("message", sa.Text),
    sa.Index(None, "step", "started_at"),
    sqlite_autoincrement=True,  # never reuse an id after a purge
    **_MYSQL,
    **_MARIADB,
)
