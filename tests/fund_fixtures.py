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
    """The daemon's real job_executions table (fund_scheduler.store.history), created on ``engine``."""
    from fund_scheduler.store import history

    history.ensure_schema(engine)
    return history.job_executions
