"""Fixtures shared by the fund-pipeline tests: a fresh fund database on SQLite and on MariaDB,
and the daemon's run-history table for tests that read it from fundpipe's side."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fundpipe.schema import create_schema


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def engine(request, tmp_path):
    """A fresh database with the fund schema: a SQLite file, or a MariaDB database."""
    if request.param == "mariadb":
        eng = sa.create_engine(request.getfixturevalue("mariadb_db_url"), pool_pre_ping=True)
    else:
        eng = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    create_schema(eng)
    yield eng
    eng.dispose()


def history_table(engine):
    """The daemon's job_executions table, minimal (the real one lives in scheduler.history)."""
    meta = sa.MetaData()
    table = sa.Table(
        "job_executions",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
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
    )
    meta.create_all(engine)
    return table
