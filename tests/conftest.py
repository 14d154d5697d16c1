"""Shared fixtures: a throw-away SCHEDULER_HOME driving the real scripts, and a real MariaDB."""

from __future__ import annotations

import pytest

from tests.daemon_harness import SchedulerHome
from tests.mariadb_server import mariadb_db_url, mariadb_server, mariadb_url  # noqa: F401

# The fund tests' parametrised ``engine`` fixture (SQLite and MariaDB); a module's own fixture
# of that name overrides it.
pytest_plugins = ["tests.fund_fixtures"]


@pytest.fixture
def home():
    """A fresh SCHEDULER_HOME (short path, for the Unix socket) whose daemon is killed afterwards."""
    with SchedulerHome.create() as h:
        yield h
