"""Shared fixtures: a throw-away SCHEDULER_HOME driving the real scripts, and a real MariaDB.

The end-to-end suite runs on both databases: ``database_url`` (and ``module_database_url`` for
module-scoped daemons) is parametrised ``sqlite`` / ``mariadb``, and ``home`` is built on it, so
every test taking ``home`` runs twice. A test tied to one backend narrows it with
``@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)`` (see ``SQLITE_ONLY``).
"""

from __future__ import annotations

import os

import pytest

from tests.support.harness import SchedulerHome
from tests.support.mariadb import (  # noqa: F401
    mariadb_db_url,
    mariadb_module_db_url,
    mariadb_server,
    mariadb_url,
)
from tests.support.redis import redis_url  # noqa: F401 - the Celery broker of the remote-run tests
from tests.support.webhook import hook  # noqa: F401

# The fund tests' parametrised ``engine`` fixture (SQLite and MariaDB); a module's own fixture
# of that name overrides it.
pytest_plugins = ["tests.support.fund_fixtures"]

# Tests assert English unless they choose a language (the CLI speaks the locale's; children inherit).
os.environ.update(SCHEDULER_LANG="en", LC_ALL="C.UTF-8")

BACKENDS = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for the embedded SQLite default, else a fresh database on the session's MariaDB."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("mariadb_db_url")


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(request: pytest.FixtureRequest) -> str | None:
    """``database_url`` shared by a module's tests (one daemon serving several tests)."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("mariadb_module_db_url")


@pytest.fixture
def home(database_url: str | None):
    """A fresh SCHEDULER_HOME (short path, for the Unix socket) whose daemon is killed afterwards."""
    with SchedulerHome.create(database_url=database_url) as h:
        yield h
