"""Interval and one-off jobs across restarts: reconcile and catch-up on a real job store and history
(SQLite, ``now`` passed in), then a real daemon started twice on one home (real child processes):
the one-off runs once and is done for good, the interval job keeps its rhythm and catches up with
one run."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.executors.base import BaseExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from fund_scheduler.daemon.catchup import catch_up_missed
from fund_scheduler.daemon.daemon import Daemon
from fund_scheduler.daemon.operations import Operations
from fund_scheduler.daemon.parts import build_parts
from fund_scheduler.daemon.reconcile import job_store_problems, reconcile
from fund_scheduler.jobs import command_job
from fund_scheduler.jobs.registry import Registry, load_registry
from fund_scheduler.jobs.triggers import trigger_to_dict
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler.store.jobstore import JsonJobStore
from fund_scheduler_migrations.runner import upgrade
from tests.support.harness import SchedulerHome, set_next_run_times, wait_for
from tests.support.schema import scheduler_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
GRACE = 3600


class IdleExecutor(BaseExecutor):
    def _do_submit_job(self, job, run_times) -> None:
        pass


@pytest.fixture
def open_scheduler(tmp_path: Path) -> Iterator:
    """Paused schedulers on one SQLite file, each with its own engine (like daemon restarts)."""
    started: list[BackgroundScheduler] = []

    def open_() -> tuple[BackgroundScheduler, JsonJobStore]:
        store = JsonJobStore(scheduler_db(f"sqlite:///{tmp_path}/s.db"))
        scheduler = BackgroundScheduler(
            jobstores={"default": store}, executors={"default": IdleExecutor()}, timezone=SHANGHAI
        )
        scheduler.start(paused=True)
        started.append(scheduler)
        return scheduler, store

    yield open_
    started[-1].remove_all_jobs()  # shutdown() lets the loop process due jobs once more
    for scheduler in started:
        scheduler.shutdown(wait=False)


def specs(**schedules: dict) -> Registry:
    return Registry(
        specs={
            job_id: command_job(id=job_id, name=job_id, command=["true"], **s)
            for job_id, s in schedules.items()
        }
    )


def rows_of(engine, job_id: str) -> list[tuple[datetime, str]]:
    return sorted(
        (r["scheduled_run_time"], r["status"]) for r in history.recent(engine, job_id=job_id, limit=500)
    )


# -- reconcile and catch-up ------------------------------------------------------------------------


def test_an_interval_job_keeps_its_anchor_across_reconciles(open_scheduler) -> None:
    registry = specs(poll={"interval": "15m"})
    scheduler, store = open_scheduler()
    assert reconcile(scheduler, store, registry, GRACE).added == ["poll"]
    first = scheduler.get_job("poll")

    again, store = open_scheduler()  # a restart: the spec's new trigger has another anchor
    report = reconcile(again, store, registry, GRACE)
    assert (report.unchanged, report.updated) == (["poll"], [])
    kept = again.get_job("poll")
    assert trigger_to_dict(kept.trigger) == trigger_to_dict(first.trigger)
    assert kept.next_run_time == first.next_run_time

    changed, store = open_scheduler()
    assert reconcile(changed, store, specs(poll={"interval": "20m"}), GRACE).updated == ["poll"]
    assert changed.get_job("poll").trigger.interval == timedelta(minutes=20)


def test_interval_catch_up_runs_once_not_every_interval(open_scheduler) -> None:
    scheduler, store = open_scheduler()
    reconcile(scheduler, store, specs(poll={"interval": "15m"}), GRACE)
    now = datetime.now(UTC)
    down_since = now - timedelta(minutes=50)  # fire times at -50, -35, -20, -5 min passed while down
    scheduler.modify_job("poll", next_run_time=down_since)

    assert catch_up_missed(scheduler, store.engine, now) == {"poll": 0}

    assert scheduler.get_job("poll").next_run_time == now - timedelta(minutes=5)  # the one run
    covered = [(down_since + timedelta(minutes=m), "coalesced") for m in (0, 15, 30)]
    assert rows_of(store.engine, "poll") == covered


def test_a_one_off_past_the_grace_is_recorded_missed_then_done_and_never_added_again(open_scheduler) -> None:
    at = datetime(2026, 12, 24, 18, tzinfo=SHANGHAI)
    registry = specs(xmas={"at": "2026-12-24T18:00"})
    scheduler, store = open_scheduler()
    assert reconcile(scheduler, store, registry, GRACE).added == ["xmas"]
    assert scheduler.get_job("xmas").next_run_time == at

    assert catch_up_missed(scheduler, store.engine, at + timedelta(hours=2)) == {"xmas": 1}

    assert scheduler.get_job("xmas") is None
    assert rows_of(store.engine, "xmas") == [(at, "missed")]
    assert store.done_jobs()["xmas"]["at"] == at
    assert job_store_problems(Registry(specs={}), store.set_aside_rows(), []) == []  # not a problem
    for _restart in range(2):
        scheduler, store = open_scheduler()
        report = reconcile(scheduler, store, registry, GRACE)
        assert (report.done, report.added, report.restored) == (["xmas"], [], [])
        assert scheduler.get_jobs() == []
        assert catch_up_missed(scheduler, store.engine, at + timedelta(days=1)) == {}
    assert rows_of(store.engine, "xmas") == [(at, "missed")]

    # A new time makes it a new one-off.
    later = specs(xmas={"at": "2027-01-01T09:00"})
    scheduler, store = open_scheduler()
    assert reconcile(scheduler, store, later, GRACE).added == ["xmas"]
    assert scheduler.get_job("xmas").next_run_time == datetime(2027, 1, 1, 9, tzinfo=SHANGHAI)
    assert store.done_jobs() == {}


def test_a_one_off_within_the_grace_is_left_due(open_scheduler) -> None:
    at = datetime(2026, 12, 24, 18, tzinfo=SHANGHAI)
    scheduler, store = open_scheduler()
    reconcile(scheduler, store, specs(xmas={"at": "2026-12-24T18:00:00+08:00"}), GRACE)
    assert catch_up_missed(scheduler, store.engine, at + timedelta(minutes=10)) == {"xmas": 0}
    assert scheduler.get_job("xmas").next_run_time == at  # runs as the scheduler resumes
    assert rows_of(store.engine, "xmas") == []


# -- a real daemon, started twice ---------------------------------------------------------------------


class Home:
    """A SCHEDULER_HOME with jobs.toml and no bundled jobs; :meth:`start` builds and starts a daemon."""

    def __init__(self, root: Path, jobs_toml: str):
        package = root / "no_bundled_jobs"
        package.mkdir()
        (package / "__init__.py").write_text('"""No jobs: the test defines its own in jobs.toml."""\n')
        (root / "jobs.toml").write_text(jobs_toml)
        self.env = {
            "SCHEDULER_HOME": str(root),
            "SCHEDULER_JOBS_CONFIG": str(root / "jobs.toml"),
            "SCHEDULER_JOBS_PACKAGES": "no_bundled_jobs",
            "SCHEDULER_RUN_ON_FIRST_START": "false",
            "SCHEDULER_TIMEZONE": "Asia/Shanghai",
            "SCHEDULER_HTTP_PORT": "0",
        }
        self.settings = Settings.from_env(self.env)

    def start(self) -> Daemon:
        registry = load_registry(self.settings.jobs_packages, self.settings.jobs_config, SHANGHAI, self.env)
        assert not registry.problems, registry.problems
        daemon = Daemon(
            build_parts(self.settings, registry), clock=lambda: datetime.now(UTC), migrate=upgrade
        )
        daemon.start()
        return daemon


def stop(daemon: Daemon) -> None:
    daemon.request_stop("test over")
    daemon.shutdown()
    daemon.close()


def test_the_one_off_that_ran_never_runs_again_and_the_interval_job_keeps_its_rhythm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    at = (datetime.now(SHANGHAI) - timedelta(minutes=10)).replace(microsecond=0)  # passed while down
    home = Home(
        tmp_path,
        f'[jobs.poll]\ninterval = "15m"\ncommand = ["true"]\n\n'
        f'[jobs.once]\nat = "{at.isoformat()}"\ncommand = ["true"]\n',
    )
    first = home.start()
    try:
        engine = first.engine
        wait_for(lambda: first.scheduler.get_job("once") is None, 30, "the one-off ran and was removed")
        wait_for(lambda: rows_of(engine, "once") == [(at, "success")], 30, "the one-off's run recorded")
        poll = first.scheduler.get_job("poll")
        stored_trigger = trigger_to_dict(poll.trigger)
        rows = {row["id"]: row for row in Operations(first).jobs()}
        assert rows["once"]["done_at"] == at and rows["once"]["next_run_time"] is None
        assert rows["poll"]["trigger"] == "every 15m"
    finally:
        stop(first)

    # Down for 50 minutes as far as poll is concerned: four of its fire times passed.
    down_since = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=50)
    set_next_run_times(home.settings.database_url, poll=down_since)

    caplog.clear()
    caplog.set_level(logging.INFO, logger="scheduler.daemon")
    second = home.start()
    reconciled = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job store reconciled")]
    assert reconciled == [
        "job store reconciled: 0 added, 0 updated, 1 unchanged, 0 set aside, 0 restored, 1 done"
    ]
    try:
        engine = second.engine
        wait_for(
            lambda: (down_since + timedelta(minutes=45), "success") in rows_of(engine, "poll"), 30, "poll ran"
        )
        wait_for(lambda: second.runner.active_count == 0, 30, "no run going")
        assert second.scheduler.get_job("once") is None
        poll = second.scheduler.get_job("poll")
        assert trigger_to_dict(poll.trigger) == stored_trigger  # same anchor: same rhythm
        assert poll.next_run_time == down_since + timedelta(minutes=60)
        rows = {row["id"]: row for row in Operations(second).jobs()}
        assert (rows["once"]["done_at"], rows["once"]["trigger"]) == (
            at,
            f"once at {at.strftime('%Y-%m-%d %H:%M')} +08:00",
        )
    finally:
        stop(second)
    assert rows_of(engine, "once") == [(at, "success")]  # ran once, never again
    assert rows_of(engine, "poll") == [
        *[(down_since + timedelta(minutes=m), "coalesced") for m in (0, 15, 30)],
        (down_since + timedelta(minutes=45), "success"),
    ]

    # The CLI (no daemon running: read from the database) shows the one-off done, with its time.
    with SchedulerHome(tmp_path, extra_env={**home.env, "PYTHONPATH": str(tmp_path)}) as cli_home:
        listed = cli_home.cli("jobs")
        assert listed.returncode == 0, listed.stderr
        line = next(x for x in listed.stdout.splitlines() if x.startswith("once"))
        assert f"done ({at.strftime('%Y-%m-%d %H:%M:%S')} CST)" in line and line.rstrip().endswith("done")
        as_json = {row["id"]: row for row in json.loads(cli_home.cli("jobs", "--json").stdout)}
        assert as_json["once"]["done_at"] == at.isoformat()
        assert as_json["poll"]["trigger"] == "every 15m"
        upcoming = cli_home.cli("next", "once")
        assert "none (a one-off whose time has passed)" in upcoming.stdout
