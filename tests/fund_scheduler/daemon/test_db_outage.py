"""Surviving the database, without a server: the guarded scheduler loop, the watchdog, the spool."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import OperationalError

from fund_scheduler.daemon import loop
from fund_scheduler.daemon.daemon import EXIT_LOOP_DIED, Daemon
from fund_scheduler.daemon.loop import GuardedBackgroundScheduler
from fund_scheduler.daemon.parts import build_parts
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.run.executor import RunnerExecutor
from fund_scheduler.run.runner import ExecutionResult
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler.store.engine import is_database_error, make_engine
from fund_scheduler.store.jobstore import JOB_FUNC, JsonJobStore
from fund_scheduler.store.spool import Spool, apply_entry
from tests.support.harness import wait_for
from tests.support.schema import create_scheduler_tables, scheduler_db


class FlakyStore(JsonJobStore):
    """A job store whose writes of next run times (one job's, or a pass's in one transaction)
    fail like MySQL gone away while ``error`` is set."""

    error: Exception | None = None

    def update_job(self, job):
        if self.error is not None:
            raise self.error
        super().update_job(job)

    def update_next_run_times(self, jobs):
        if self.error is not None:
            raise self.error
        super().update_next_run_times(jobs)


class CountingRunner:
    def __init__(self):
        self.runs: list[datetime | None] = []

    def run(self, job_id, *, scheduled_run_time=None, trigger="schedule", on_started=None):
        self.runs.append(scheduled_run_time)
        return ExecutionResult(job_id, len(self.runs), "success", 0, None, 0.0)


def _gone_away() -> OperationalError:
    return OperationalError("UPDATE scheduler_jobs", {}, Exception("(2013, 'Lost connection during query')"))


def _scheduler(tmp_path, store, runner):
    return GuardedBackgroundScheduler(
        jobstores={"default": store},
        executors={"default": RunnerExecutor(runner)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=UTC,
    )


def test_a_database_error_in_update_job_neither_kills_the_loop_nor_runs_twice(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(loop, "JOBSTORE_RETRY_INTERVAL", 0.2)
    store = FlakyStore(scheduler_db(f"sqlite:///{tmp_path}/s.db"))
    runner = CountingRunner()
    scheduler = _scheduler(tmp_path, store, runner)
    scheduler.start(paused=True)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    scheduler.add_job(JOB_FUNC, trigger=IntervalTrigger(hours=1, timezone=UTC), id="j", next_run_time=due)
    store.error = _gone_away()
    caplog.set_level(logging.DEBUG, logger="scheduler.daemon")
    try:
        scheduler.resume()
        wait_for(lambda: runner.runs, 5, "the due run")
        passes = scheduler.heartbeat
        # Several passes see the stored (old) next run time due again: none runs it again.
        wait_for(lambda: scheduler.heartbeat != passes, 5, "another loop pass")
        time.sleep(0.6)
        assert scheduler.loop_alive
        assert runner.runs == [due]
        assert store.lookup_job("j").next_run_time == due  # the update never reached the store
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "job store unavailable (Exception: (2013" in errors[0].getMessage()
        assert scheduler.database_error is not None

        store.error = None  # the database is back: the next pass stores the next run time
        wait_for(lambda: store.lookup_job("j").next_run_time > due, 5, "next run time stored")
        assert runner.runs == [due] and scheduler.database_error is None and scheduler.loop_alive
        assert any("job store available again" in r.getMessage() for r in caplog.records)
    finally:
        scheduler.shutdown(wait=False)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_scheduler_loop_stops_the_daemon_with_a_non_zero_status(tmp_path, caplog):
    store = FlakyStore(scheduler_db(f"sqlite:///{tmp_path}/s.db"))
    scheduler = _scheduler(tmp_path, store, CountingRunner())
    scheduler.start(paused=True)
    scheduler.add_job(
        JOB_FUNC, trigger=IntervalTrigger(hours=1, timezone=UTC), id="j", next_run_time=datetime.now(UTC)
    )
    store.error = RuntimeError("not a database error")
    try:
        scheduler.resume()
        wait_for(lambda: not scheduler.loop_alive, 5, "the loop thread to die")
        assert scheduler.running  # what APScheduler reports: the reason for the watchdog
        parts = build_parts(Settings.from_env({"SCHEDULER_HOME": str(tmp_path)}), Registry({}))
        parts.scheduler = scheduler
        daemon = Daemon(parts)
        daemon._check_loop()
        assert daemon.stopping and daemon._exit_status == EXIT_LOOP_DIED
        assert any(r.levelno == logging.CRITICAL for r in caplog.records)
    finally:
        scheduler.shutdown(wait=False)


def test_spooled_rows_replay_once_and_a_spooled_finish_closes_its_row(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/h.db")
    create_scheduler_tables(engine)
    spool = Spool(tmp_path / "spool")
    execution_id = history.start(engine, "a", scheduled_run_time=None, trigger="manual")
    stamp = datetime.now(UTC).replace(microsecond=0)
    spool.record(
        {
            "job_id": "b",
            "scheduled_run_time": stamp,
            "started_at": stamp,
            "finished_at": stamp,
            "duration": 0.0,
            "status": "failed",
            "error": "database unavailable, run not started",
            "host": "h1",
            "trigger": "schedule",
        }
    )
    spool.finish(
        execution_id, {"status": "success", "finished_at": stamp + timedelta(seconds=5), "exit_code": 0}
    )
    entries = spool.pending()
    assert [e["op"] for e in entries] == ["record", "finish"]
    apply_entry(engine, entries[0])  # as if the flusher died after writing the first entry
    assert spool.flush(engine) == 2
    assert spool.pending() == [] and not spool.path.exists()
    rows = history.recent(engine)
    assert [r["job_id"] for r in rows].count("b") == 1
    b = next(r for r in rows if r["job_id"] == "b")
    assert b["status"] == "failed" and b["scheduled_run_time"] == stamp and b["host"] == "h1"
    a = history.get(engine, execution_id)
    assert a["status"] == "success" and a["exit_code"] == 0 and a["duration"] is not None


def test_database_errors_are_told_from_other_errors():
    assert is_database_error(_gone_away())
    assert not is_database_error(RuntimeError("x"))
