"""Fixtures shared by the fund-pipeline tests: a fresh fund database on SQLite and on MariaDB."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support.schema import create_fund_tables


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def engine(request, tmp_path):
    """A fresh database with the fund tables: a SQLite file, or a MariaDB database."""
    if request.param == "mariadb":
        eng = sa.create_engine(request.getfixturevalue("mariadb_db_url"), pool_pre_ping=True)
    else:
        eng = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    create_fund_tables(eng)
    yield eng
    eng.dispose()
