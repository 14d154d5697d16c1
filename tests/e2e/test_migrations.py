"""Alembic migrations (migrations/): from an empty database, from the previous release's schema,
from an unversioned ``create_all`` database, through the CLI and at daemon start."""

from __future__ import annotations

import signal
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fund_common.calendars import table as calendar_table
from fund_scheduler.settings import Settings
from fund_scheduler.store import audit, checks, history, job_changes, requests, workers
from fund_scheduler.store import jobstore as store
from fund_scheduler.store.engine import make_engine
from fund_scheduler_migrations import runner
from fundpipe import schema as fund_schema
from tests.support.harness import PY
from tests.support.schema import create_scheduler_tables

METADATA = [
    history.metadata,
    store.metadata,
    checks.metadata,
    calendar_table.metadata,
    fund_schema.metadata,
    requests.metadata,
    job_changes.metadata,
    audit.metadata,
    workers.metadata,
]
NOW = datetime(2026, 11, 20, 8, 30, 0)
DAY = date(2026, 11, 19)

# One row per table of revision 0001, in the column names of that release.
PREVIOUS_ROWS = {
    "scheduler_jobs": {"id": "daily_collection", "next_run_time": 1.8e9, "job_state": '{"id": "x"}'},
    "scheduler_jobs_rejected": {
        "id": "bad",
        "job_state": "{",
        "reason": "job state is not valid JSON",
        "rejected_at": NOW,
    },
    "job_executions": {
        "job_id": "daily_collection",
        "scheduled_run_time": NOW,
        "started_at": NOW,
        "finished_at": NOW,
        "status": "success",
        "duration": 1.5,
        "exit_code": 0,
        "host": "h1",
        "pid": 42,
        "trigger": "schedule",
    },
    "fund_info": {
        "fund_code": "000001",
        "fund_name": "Demo",
        "fund_type": "mixed",
        "is_active": True,
        "updated_at": NOW,
    },
    "fund_nav": {
        "fund_code": "000001",
        "nav_date": DAY,
        "unit_nav": 1.2345,
        "accum_nav": 2.5,
        "daily_return": 0.12,
        "source": "demo",
        "batch_id": "b1",
        "updated_at": NOW,
    },
    "fund_nav_staging": {
        "batch_id": "b1",
        "fund_code": "000001",
        "nav_date": DAY,
        "unit_nav": 1.2345,
        "source": "demo",
        "collected_at": NOW,
    },
    "fund_nav_quarantine": {
        "batch_id": "b1",
        "staging_id": 7,
        "fund_code": "BAD",
        "rule": "code_format",
        "reason": "bad code",
        "quarantined_at": NOW,
    },
    "fund_metrics": {
        "fund_code": "000001",
        "calc_date": DAY,
        "window_days": 365,
        "n_obs": 250,
        "sharpe_ratio": 1.25,
        "updated_at": NOW,
    },
    "data_update_log": {
        "step": "collect",
        "as_of": DAY,
        "started_at": NOW,
        "status": "success",
        "rows_in": 12,
    },
}


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'scheduler.db'}"


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return _sqlite_url(tmp_path)
    return request.getfixturevalue("mariadb_db_url")


def _diffs(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": runner.compare_type}), METADATA
        )


def _fill_previous(engine: sa.Engine) -> None:
    meta = sa.MetaData()
    meta.reflect(engine, only=list(PREVIOUS_ROWS))
    with engine.begin() as conn:
        for name, row in PREVIOUS_ROWS.items():
            conn.execute(meta.tables[name].insert().values(**row))


def _assert_previous_rows_intact(engine: sa.Engine) -> None:
    meta = sa.MetaData()
    meta.reflect(engine, only=list(PREVIOUS_ROWS))
    with engine.connect() as conn:
        for name, expected in PREVIOUS_ROWS.items():
            rows = [dict(r._mapping) for r in conn.execute(sa.select(meta.tables[name]))]
            assert len(rows) == 1, name
            for key, value in expected.items():
                got = rows[0][key]
                got = float(got) if isinstance(got, Decimal) else got  # reflected DOUBLE: Decimal
                assert got == value or (isinstance(value, bool) and got == int(value)), (name, key, got)
        staged = conn.execute(sa.text("SELECT parse_error FROM fund_nav_staging")).scalar_one_or_none()
        assert staged is None  # the new column, NULL for the rows that were there


def _fund_nav_without_rowid(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'fund_nav'")).scalar_one()
    return "WITHOUT ROWID" in sql.upper()


def test_upgrade_from_empty_matches_the_metadata(db_url):
    engine = make_engine(db_url)
    try:
        assert runner.upgrade(engine) == runner.head() == runner.current(engine)
        assert _diffs(engine) == []
        if engine.dialect.name == "sqlite":
            assert _fund_nav_without_rowid(engine)
        assert runner.upgrade(engine) == runner.head()  # a second run does nothing
    finally:
        engine.dispose()


def test_upgrade_from_the_previous_schema_keeps_every_row(db_url):
    engine = make_engine(db_url)
    try:
        assert runner.upgrade(engine, "0001") == "0001"
        assert "parse_error" not in {c["name"] for c in sa.inspect(engine).get_columns("fund_nav_staging")}
        _fill_previous(engine)
        assert runner.upgrade(engine) == runner.head()
        _assert_previous_rows_intact(engine)
        assert _diffs(engine) == []
        if engine.dialect.name == "sqlite":
            assert _fund_nav_without_rowid(engine)  # rebuilt by 0003, its row copied
    finally:
        engine.dispose()


def test_unversioned_previous_database_is_stamped_0001_and_upgraded(db_url, caplog):
    """What ``create_all`` of the previous release left: its tables, no alembic_version."""
    engine = make_engine(db_url)
    try:
        runner.upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE alembic_version"))
        _fill_previous(engine)
        with engine.connect() as conn:
            assert runner.legacy_revision(conn) == "0001"
        with caplog.at_level("INFO", logger="scheduler.migrations"):
            assert runner.upgrade(engine) == runner.head()
        assert "matches revision 0001: stamped" in caplog.text
        _assert_previous_rows_intact(engine)
        assert _diffs(engine) == []
    finally:
        engine.dispose()


def test_unversioned_current_create_all_database_is_stamped_0002(db_url):
    engine = make_engine(db_url)
    try:
        for metadata in METADATA:
            metadata.create_all(engine)
        history.start(engine, "job", scheduled_run_time=None, trigger="manual")
        with engine.connect() as conn:
            assert runner.legacy_revision(conn) == "0002"
        assert runner.upgrade(engine) == runner.head()
        assert history.count_for_job(engine, "job") == 1
        assert _diffs(engine) == []
    finally:
        engine.dispose()


def test_partial_unversioned_database_is_completed(tmp_path):
    """A scheduler-only database (the fund jobs never ran): not stamped, the gaps filled."""
    engine = make_engine(_sqlite_url(tmp_path))
    try:
        create_scheduler_tables(engine)
        history.start(engine, "job", scheduled_run_time=None, trigger="manual")
        with engine.connect() as conn:
            assert runner.legacy_revision(conn) is None
        assert runner.upgrade(engine) == runner.head()
        assert history.count_for_job(engine, "job") == 1
        assert _diffs(engine) == []
    finally:
        engine.dispose()


@pytest.mark.e2e
def test_cli_db_upgrade_and_current(home):
    current = home.cli("db", "current")
    assert current.returncode == 0, current.stderr
    assert "none" in current.stdout
    upgraded = home.cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"at revision {runner.head()}" in upgraded.stdout
    current = home.cli("db", "current")
    assert current.returncode == 0, current.stderr
    assert current.stdout.strip() == runner.head()


@pytest.mark.e2e
def test_daemon_start_runs_the_migrations(home):
    home.write_jobs(f"""
        [jobs.idle]
        cron = "0 0 1 1 *"
        command = ["{PY}", "-c", "pass"]
    """)
    daemon = home.foreground()
    try:
        assert runner.current(Settings.from_env(home.env).database_url) == runner.head()
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, output
