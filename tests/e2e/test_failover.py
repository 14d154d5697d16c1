"""Active/standby across hosts on one MariaDB, and the unique (job, scheduled time) guard."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fund_scheduler.daemon.leader import LOCK_IDLE_TIMEOUT_S
from fund_scheduler.daemon.loop import LEADER_INTERVAL
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.run.runner import Runner
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from tests.support.harness import FAR_AWAY, PY, SchedulerHome, set_next_run_times, wait_for
from tests.support.schema import create_scheduler_tables

pytestmark = pytest.mark.serial  # see run_tests.sh

T0 = datetime(2026, 5, 6, 11, 0, tzinfo=UTC)


def _role(home: SchedulerHome) -> str | None:
    result = home.cli("status", "--json", timeout=30)
    with contextlib.suppress(ValueError):
        return json.loads(result.stdout).get("role")
    return None


ECHO_JOB = f"""
    [jobs.echo]
    cron = "{FAR_AWAY}"
    command = ["{PY}", "-c", "print('ok')"]
"""


@contextlib.contextmanager
def _daemons(count: int, db_url: str, jobs: str = ECHO_JOB, start: bool = True):
    """``count`` homes ("hosts") on one database with the same jobs, started one after the other."""
    homes = [SchedulerHome.create(database_url=db_url) for _ in range(count)]
    try:
        for home in homes:
            home.write_jobs(jobs)
            if start:
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


# Appends its PID to argv[1]; then, given argv[2], holds its run until that file exists.
RUN_JOB = """import os, sys, time
with open(sys.argv[1], "a") as runs:
    runs.write(f"{os.getpid()}\\n")
while len(sys.argv) > 2 and not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
"""


def _scheduled_rows(db_url: str, job_id: str) -> list[dict]:
    engine = make_engine(db_url)
    try:
        return [r for r in history.recent(engine, job_id=job_id, limit=50) if r["trigger"] != "manual"]
    finally:
        engine.dispose()


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.e2e
@pytest.mark.mariadb
def test_fire_times_due_during_the_hand_over_run_exactly_once(mariadb_db_url, tmp_path: Path):
    """kill -9 of the active daemon at the worst moments; the standby runs each fire time once.

    * ``held``: the active daemon started its run of T1 but died before it saved the job's next
      run time, so the store still says T1: the new active daemon must not run T1 again.
    * ``tick``: T2 came due while no daemon was active: the new active daemon must run it.
    The active daemon is frozen (SIGSTOP, its lock connection still open) while the store is
    rewritten, then killed, so it can never act on the rewritten times.
    """
    script = tmp_path / "run.py"
    script.write_text(RUN_JOB)
    held_runs, gate, ticks = tmp_path / "held.runs", tmp_path / "gate", tmp_path / "tick.runs"
    jobs = f"""
        [jobs.held]
        cron = "{FAR_AWAY}"
        command = ["{PY}", "{script}", "{held_runs}", "{gate}"]

        [jobs.tick]
        cron = "{FAR_AWAY}"
        command = ["{PY}", "{script}", "{ticks}"]
    """
    with _daemons(2, mariadb_db_url, jobs=jobs, start=False) as (first, second):
        # The first daemon runs held's fire time T1 (caught up at start, within the grace time).
        assert first.cli("start").returncode == 0
        assert first.cli("stop").returncode == 0
        t1 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
        set_next_run_times(mariadb_db_url, held=t1)
        assert first.cli("start").returncode == 0
        wait_for(lambda: len(_lines(held_runs)) == 1, 20, "held's run of T1 started")
        assert second.cli("start").returncode == 0
        assert _role(first) == "active" and _role(second) == "standby"

        active = first.daemon_pid()
        os.kill(active, signal.SIGSTOP)
        t2 = datetime.now(UTC).replace(microsecond=0)
        set_next_run_times(mariadb_db_url, held=t1, tick=t2)
        os.kill(active, signal.SIGKILL)  # held's child runs on in its own process group

        wait_for(lambda: _role(second) == "active", 15, "the standby becomes active", interval=0.5)
        wait_for(lambda: len(_lines(ticks)) == 1, 20, "tick's run of T2")
        wait_for(
            lambda: [r["status"] for r in _scheduled_rows(mariadb_db_url, "tick")] == ["success"],
            20,
            "tick's run of T2 recorded",
        )
        log = second.scheduler_log.read_text()
        assert "not running it twice" in log and "job=held" in log
        gate.touch()  # the first daemon's orphaned run of T1 ends now

        [tick] = _scheduled_rows(mariadb_db_url, "tick")
        assert history._aware(tick["scheduled_run_time"]) == t2
        [held] = _scheduled_rows(mariadb_db_url, "held")
        assert history._aware(held["scheduled_run_time"]) == t1
        assert len(_lines(held_runs)) == 1 and len(_lines(ticks)) == 1
        jobs_now = {j["id"]: j for j in json.loads(second.cli("jobs", "--json").stdout)}
        assert jobs_now["tick"]["next_run_time"] != t2.isoformat()  # moved on: no second run


@pytest.mark.e2e
@pytest.mark.mariadb
def test_a_frozen_active_daemon_is_replaced_and_submits_nothing_when_it_wakes(mariadb_db_url, tmp_path: Path):
    """SIGSTOP stands in for a host cut off without closing its sockets (partition, power loss).

    Its lock connection stays open, so only the connection's own idle timeout frees the lock.
    A fire time then comes due; the woken daemon must find its lock gone and submit nothing
    (whichever comes first: the main thread's check, or the scheduler loop's confirmation before
    a pass, tested on its own in test_daemon_units and test_leader).
    """
    script = tmp_path / "run.py"
    script.write_text(RUN_JOB)
    ticks = tmp_path / "tick.runs"
    jobs = f"""
        [jobs.tick]
        cron = "{FAR_AWAY}"
        command = ["{PY}", "{script}", "{ticks}"]
    """
    with _daemons(2, mariadb_db_url, jobs=jobs) as homes:
        roles = [_role(h) for h in homes]
        old, new = homes if roles[0] == "active" else homes[::-1]
        pid = old.daemon_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            frozen = time.monotonic()
            wait_for(lambda: _role(new) == "active", LOCK_IDLE_TIMEOUT_S + 10, "takeover", interval=0.5)
            took = time.monotonic() - frozen
            set_next_run_times(mariadb_db_url, tick=datetime.now(UTC).replace(microsecond=0))
        finally:
            os.kill(pid, signal.SIGCONT)
        # The idle timeout, not something else, freed it: it counts from the daemon's last touch
        # of its lock connection, which came at most LEADER_INTERVAL before the freeze.
        assert took >= LOCK_IDLE_TIMEOUT_S - LEADER_INTERVAL - 1
        wait_for(
            lambda: "lost the leader lock: stopped submitting" in old.scheduler_log.read_text(),
            10,
            "the woken daemon notices",
            interval=0.2,
        )
        assert _role(old) == "standby"
        assert "job=tick execution=" not in old.scheduler_log.read_text()  # never started a run


def test_unique_guard_one_row_per_scheduled_time_and_runner_skips(tmp_path: Path, caplog):
    engine = make_engine(f"sqlite:///{tmp_path}/h.db")
    create_scheduler_tables(engine)
    first = history.start(engine, "echo", scheduled_run_time=T0, trigger="schedule")
    with pytest.raises(history.AlreadyRecorded):
        history.start(engine, "echo", scheduled_run_time=T0, trigger="schedule")
    with pytest.raises(history.AlreadyRecorded):
        history.record(engine, "echo", "missed", scheduled_run_time=T0)
    # manual runs (no scheduled time) are never refused
    history.start(engine, "echo", scheduled_run_time=None, trigger="manual")
    history.start(engine, "echo", scheduled_run_time=None, trigger="manual")

    echo = JobSpec(id="echo", name="echo", schedule={"minute": "0"}, command=("echo",))
    runner = Runner(
        Settings.from_env({"SCHEDULER_HOME": str(tmp_path)}), Registry(specs={"echo": echo}), engine
    )
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

    from fund_scheduler.daemon.leader import lock_name

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

    from fund_scheduler_migrations import runner

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
    assert runner.upgrade(engine, "0004") == "0004"
    with engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT id, scheduled_run_time FROM job_executions ORDER BY id")).all()
    assert [r[0] for r in rows] == [1, 4, 5]
    engine.dispose()
