"""Reconciling the registry into a real (paused) scheduler's JSON job store on SQLite."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.executors.base import BaseExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from fund_scheduler.daemon.reconcile import reconcile
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.jobs.triggers import build_cron, crontab_to_fields, trigger_to_dict
from fund_scheduler.store.jobstore import JOB_FUNC, JsonJobStore
from tests.support.schema import scheduler_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
GRACE = 3600


class IdleExecutor(BaseExecutor):
    def _do_submit_job(self, job, run_times) -> None:
        pass


@pytest.fixture
def open_scheduler(tmp_path: Path) -> Iterator[Callable[[], BackgroundScheduler]]:
    """Paused schedulers on one SQLite file, each with its own engine (like daemon restarts).

    Earlier ones are only shut down at the end: APScheduler 3.11's loop runs ``_process_jobs``
    once more after ``shutdown()`` (the state is then "stopped", not "paused"), which would
    advance the next run time of a due job between two "restarts".
    """
    started: list[BackgroundScheduler] = []

    def open_() -> BackgroundScheduler:
        scheduler = BackgroundScheduler(
            jobstores={"default": JsonJobStore(scheduler_db(f"sqlite:///{tmp_path}/s.db"))},
            executors={"default": IdleExecutor()},
            timezone=SHANGHAI,
        )
        scheduler.start(paused=True)
        started.append(scheduler)
        return scheduler

    yield open_
    if started:
        started[-1].remove_all_jobs()
    for scheduler in started:
        scheduler.shutdown(wait=False)


def spec(job_id: str, cron: str = "0 19 * * mon-fri", **options) -> JobSpec:
    options.setdefault("name", f"{job_id} job")
    return JobSpec(id=job_id, schedule=crontab_to_fields(cron), func=f"jobs.{job_id}:{job_id}", **options)


def registry(*specs: JobSpec) -> Registry:
    return Registry(specs={s.id: s for s in specs})


def next_fire(cron: str, tz: ZoneInfo = SHANGHAI) -> set[datetime]:
    """The trigger's next fire time from now (two candidates, in case a fire time passes meanwhile)."""
    trigger = build_cron(crontab_to_fields(cron), tz)
    first = trigger.get_next_fire_time(None, datetime.now(tz))
    return {first, trigger.get_next_fire_time(first, first)}


def test_first_reconcile_adds_enabled_specs(open_scheduler) -> None:
    scheduler = open_scheduler()
    reg = registry(
        spec("collect"),
        spec("weekly", "0 2 * * 0", timezone="UTC", misfire_grace_time=600, max_instances=2, coalesce=False),
        spec("off", enabled=False),
        spec("no_command", enabled=False, disabled_reason="no command configured"),
    )
    report = reconcile(scheduler, reg, GRACE)
    assert sorted(report.added) == ["collect", "weekly"]
    assert (report.updated, report.unchanged, report.removed) == ([], [], [])

    jobs = {job.id: job for job in open_scheduler().get_jobs()}  # read back from the database
    assert set(jobs) == {"collect", "weekly"}
    collect, weekly = jobs["collect"], jobs["weekly"]
    assert collect.func_ref == JOB_FUNC
    assert (collect.args, collect.kwargs) == ((), {})
    assert trigger_to_dict(collect.trigger) == trigger_to_dict(
        build_cron(crontab_to_fields("0 19 * * mon-fri"), SHANGHAI)
    )
    assert collect.next_run_time in next_fire("0 19 * * mon-fri")
    assert (collect.name, collect.misfire_grace_time, collect.coalesce, collect.max_instances) == (
        "collect job",
        GRACE,
        True,
        1,
    )
    assert collect.executor == "default"
    assert str(weekly.trigger.timezone) == "UTC"
    assert weekly.next_run_time in next_fire("0 2 * * sun", ZoneInfo("UTC"))
    assert (weekly.misfire_grace_time, weekly.coalesce, weekly.max_instances) == (600, False, 2)


def test_second_reconcile_changes_nothing_and_keeps_next_run(open_scheduler) -> None:
    reg = registry(spec("collect"), spec("weekly", "0 2 * * 0"))
    scheduler = open_scheduler()
    reconcile(scheduler, reg, GRACE)
    # A daemon that was down leaves a next run time in the past; catch-up needs it kept.
    stale = datetime(2026, 5, 4, 19, tzinfo=SHANGHAI)
    scheduler.modify_job("collect", next_run_time=stale)

    scheduler = open_scheduler()
    report = reconcile(scheduler, reg, GRACE)
    assert sorted(report.unchanged) == ["collect", "weekly"]
    assert (report.added, report.updated, report.removed) == ([], [], [])
    assert scheduler.get_job("collect").next_run_time == stale


def test_changed_schedule_is_updated_with_a_new_next_run(open_scheduler, caplog) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, registry(spec("collect")), GRACE)
    scheduler.modify_job("collect", next_run_time=datetime(2026, 5, 4, 19, tzinfo=SHANGHAI))

    caplog.set_level(logging.INFO, logger="scheduler.reconcile")
    scheduler = open_scheduler()
    report = reconcile(scheduler, registry(spec("collect", "30 18 * * 1-5")), GRACE)
    assert report.updated == ["collect"]
    job = open_scheduler().get_job("collect")
    assert trigger_to_dict(job.trigger)["fields"]["hour"] == "18"
    assert job.next_run_time in next_fire("30 18 * * 1-5")
    assert "job=collect updated (trigger)" in caplog.text


def test_changed_timezone_is_a_changed_trigger(open_scheduler) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, registry(spec("collect")), GRACE)
    report = reconcile(scheduler, registry(spec("collect", timezone="UTC")), GRACE)
    assert report.updated == ["collect"]
    assert scheduler.get_job("collect").next_run_time in next_fire("0 19 * * mon-fri", ZoneInfo("UTC"))


def test_changed_options_are_updated_and_next_run_kept(open_scheduler, caplog) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, registry(spec("collect")), GRACE)
    before = scheduler.get_job("collect").next_run_time

    caplog.set_level(logging.INFO, logger="scheduler.reconcile")
    scheduler = open_scheduler()
    changed = spec("collect", max_instances=3, name="Renamed", misfire_grace_time=60)
    report = reconcile(scheduler, registry(changed), GRACE)
    assert report.updated == ["collect"]
    job = open_scheduler().get_job("collect")
    assert (job.max_instances, job.name, job.misfire_grace_time) == (3, "Renamed", 60)
    assert job.next_run_time == before
    assert "job=collect updated (name, misfire_grace_time, max_instances)" in caplog.text

    # A different default grace time counts as a change for specs without their own.
    other = open_scheduler()
    reconcile(other, registry(spec("plain")), GRACE)
    assert reconcile(other, registry(spec("plain")), 120).updated == ["plain"]
    assert other.get_job("plain").misfire_grace_time == 120


@pytest.mark.parametrize(
    "changed",
    [
        spec("collect", "30 18 * * 1-5"),
        spec("collect", max_instances=2),
        spec("collect", "0 8 * * *", coalesce=False),
    ],
    ids=["schedule", "options", "both"],
)
def test_paused_job_stays_paused(open_scheduler, caplog, changed: JobSpec) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, registry(spec("collect")), GRACE)
    scheduler.pause_job("collect")

    caplog.set_level(logging.INFO, logger="scheduler.reconcile")
    scheduler = open_scheduler()
    assert reconcile(scheduler, registry(changed), GRACE).updated == ["collect"]
    job = open_scheduler().get_job("collect")
    assert job.next_run_time is None
    assert trigger_to_dict(job.trigger) == trigger_to_dict(changed.trigger(SHANGHAI))
    assert job.max_instances == changed.max_instances
    assert "stays paused" in caplog.text


def test_job_no_longer_defined_is_removed_and_logged(open_scheduler, caplog) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, registry(spec("collect"), spec("retired")), GRACE)

    caplog.set_level(logging.WARNING, logger="scheduler.reconcile")
    scheduler = open_scheduler()
    report = reconcile(scheduler, registry(spec("collect")), GRACE)
    assert report.removed == ["retired"]
    assert report.unchanged == ["collect"]
    assert [job.id for job in open_scheduler().get_jobs()] == ["collect"]
    (record,) = [r for r in caplog.records if r.name == "scheduler.reconcile"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "job=retired removed from the job store: no longer defined"


@pytest.mark.parametrize(
    ("disabled", "why"),
    [
        (spec("collect", enabled=False), "disabled (enabled = false)"),
        (
            spec("collect", enabled=False, disabled_reason="no command configured"),
            "disabled (no command configured)",
        ),
    ],
)
def test_disabled_spec_is_removed(open_scheduler, caplog, disabled: JobSpec, why: str) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, registry(spec("collect"), spec("other")), GRACE)
    scheduler.pause_job("collect")  # paused or not, a disabled job leaves the store

    caplog.set_level(logging.WARNING, logger="scheduler.reconcile")
    scheduler = open_scheduler()
    report = reconcile(scheduler, registry(disabled, spec("other")), GRACE)
    assert report.removed == ["collect"]
    assert [job.id for job in open_scheduler().get_jobs()] == ["other"]
    assert f"job=collect removed from the job store: {why}" in caplog.text

    # Enabled again: added back, with a fresh next run.
    report = reconcile(open_scheduler(), registry(spec("collect"), spec("other")), GRACE)
    assert report.added == ["collect"]
