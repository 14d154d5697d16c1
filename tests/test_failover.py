"""Active/standby across hosts on one MariaDB, and the unique (job, scheduled time) guard."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scheduler import history
from scheduler.runner import Runner
from scheduler.store import make_engine
from tests.daemon_harness import FAR_AWAY, PY, SchedulerHome, wait_for

T0 = datetime(2026, 5, 6, 11, 0, tzinfo=UTC)


def _role(home: SchedulerHome) -> str | None:
    result = home.cli("status", "--json", timeout=30)
    with contextlib.suppress(ValueError):
        return json.loads(result.stdout).get("role")
    return None


@contextlib.contextmanager
def _daemons(count: int, db_url: str):
    homes = [SchedulerHome.create(extra_env={"DATABASE_URL": db_url}) for _ in range(count)]
    try:
        for home in homes:
            home.write_jobs(f"""
                [jobs.echo]
                cron = "{FAR_AWAY}"
                command = ["{PY}", "-c", "print('ok')"]
            """)
            started = home.cli("start")
            assert started.returncode == 0, started.stdout + started.stderr
        yield homes
    finally:
        for home in homes:
            home.__exit__(None, None, None)


@pytest.mark.e2e
@pytest.mark.mariadb
def test_two_daemons_one_active_and_failover_after_kill_9(mariadb_db_url):
    with _daemons(2, mariadb_db_url) as homes:
        roles = [_role(h) for h in homes]
        assert sorted(roles) == ["active", "standby"], roles
        active, standby = homes if roles[0] == "active" else homes[::-1]
        assert "standby: another daemon holds the leader lock" in standby.scheduler_log.read_text()

        refused = standby.cli("run-job", "echo", "--wait")
        assert refused.returncode == 1
        assert "standby" in refused.stdout + refused.stderr

        pid = active.daemon_pid()
        os.killpg(pid, signal.SIGKILL)
        wait_for(lambda: _role(standby) == "active", 15, "the standby becomes active", interval=0.5)
        assert "became active" in standby.scheduler_log.read_text()
        run = standby.cli("run-job", "echo", "--wait")
        assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.e2e
@pytest.mark.mariadb
def test_three_daemons_one_active(mariadb_db_url):
    with _daemons(3, mariadb_db_url) as homes:
        roles = sorted(_role(h) for h in homes)
        assert roles == ["active", "standby", "standby"], roles


class _Registry:
    def get(self, job_id):
        return None


def test_unique_guard_one_row_per_scheduled_time_and_runner_skips(tmp_path: Path, caplog):
    engine = make_engine(f"sqlite:///{tmp_path}/h.db")
    history.ensure_schema(engine)
    first = history.start(engine, "echo", scheduled_run_time=T0, trigger="schedule")
    with pytest.raises(history.AlreadyRecorded):
        history.start(engine, "echo", scheduled_run_time=T0, trigger="schedule")
    with pytest.raises(history.AlreadyRecorded):
        history.record(engine, "echo", "missed", scheduled_run_time=T0)
    # manual runs (no scheduled time) are never refused
    history.start(engine, "echo", scheduled_run_time=None, trigger="manual")
    history.start(engine, "echo", scheduled_run_time=None, trigger="manual")

    runner = Runner(None, _Registry(), engine)
    with caplog.at_level(logging.WARNING, logger="scheduler.runner"):
        result = runner.run("echo", scheduled_run_time=T0)
    assert result.status == "skipped" and result.execution_id is None
    assert "not running it twice" in caplog.text
    assert runner.record("echo", "missed", scheduled_run_time=T0) == {}
    rows = history.recent(engine, job_id="echo")
    assert [r["id"] for r in rows if r["scheduled_run_time"] == T0] == [first]
    engine.dispose()


@pytest.mark.e2e
@pytest.mark.mariadb
def test_a_killed_lock_connection_pauses_the_active_daemon_until_it_holds_the_lock_again(
    mariadb_db_url, mariadb_server
):
    from sqlalchemy.engine import make_url

    from scheduler.leader import lock_name

    name = lock_name(make_url(mariadb_db_url).database)
    with _daemons(1, mariadb_db_url) as (home,):
        assert _role(home) == "active"
        (holder,) = mariadb_server.execute("SELECT IS_USED_LOCK(%s)", (name,))[0]
        assert holder is not None
        mariadb_server.execute(f"KILL {int(holder)}")
        wait_for(
            lambda: "lost the leader lock: stopped submitting" in home.scheduler_log.read_text(),
            10,
            "the lost lock noticed",
            interval=0.2,
        )
        wait_for(lambda: _role(home) == "active", 15, "active again", interval=0.5)
        assert "became active" in home.scheduler_log.read_text()


def test_migration_0004_drops_duplicate_scheduled_rows_and_keeps_manual_ones(tmp_path: Path):
    import sqlalchemy as sa
    from alembic import command

    from migrations import runner

    engine = sa.create_engine(f"sqlite:///{tmp_path}/m.db")
    with engine.begin() as conn:
        command.upgrade(runner.config(conn), "0003")
    insert = sa.text(
        "INSERT INTO job_executions (job_id, scheduled_run_time, started_at, status, `trigger`)"
        " VALUES ('a', :t, '2026-01-01 00:00:00', 'success', 'schedule')"
    )
    with engine.begin() as conn:
        for when in ("2026-01-01 00:00:00", "2026-01-01 00:00:00", "2026-01-01 00:00:00", None, None):
            conn.execute(insert, {"t": when})
    assert runner.upgrade(engine) == runner.head() == "0004"
    with engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT id, scheduled_run_time FROM job_executions ORDER BY id")).all()
    assert [r[0] for r in rows] == [1, 4, 5]
    engine.dispose()
