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

from fund_scheduler.daemon.reconcile import job_store_problems, reconcile
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


def store_of(scheduler: BackgroundScheduler) -> JsonJobStore:
    return scheduler._jobstores["default"]


def opened(open_scheduler) -> tuple[BackgroundScheduler, JsonJobStore]:
    scheduler = open_scheduler()
    return scheduler, store_of(scheduler)


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
    report = reconcile(scheduler, store_of(scheduler), reg, GRACE)
    assert sorted(report.added) == ["collect", "weekly"]
    assert (report.updated, report.unchanged, report.set_aside) == ([], [], [])

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
    reconcile(scheduler, store_of(scheduler), reg, GRACE)
    # A daemon that was down leaves a next run time in the past; catch-up needs it kept.
    stale = datetime(2026, 5, 4, 19, tzinfo=SHANGHAI)
    scheduler.modify_job("collect", next_run_time=stale)

    scheduler = open_scheduler()
    report = reconcile(scheduler, store_of(scheduler), reg, GRACE)
    assert sorted(report.unchanged) == ["collect", "weekly"]
    assert (report.added, report.updated, report.set_aside) == ([], [], [])
    assert scheduler.get_job("collect").next_run_time == stale


def test_changed_schedule_is_updated_with_a_new_next_run(open_scheduler, caplog) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, store_of(scheduler), registry(spec("collect")), GRACE)
    scheduler.modify_job("collect", next_run_time=datetime(2026, 5, 4, 19, tzinfo=SHANGHAI))

    caplog.set_level(logging.INFO, logger="scheduler.reconcile")
    scheduler = open_scheduler()
    report = reconcile(scheduler, store_of(scheduler), registry(spec("collect", "30 18 * * 1-5")), GRACE)
    assert report.updated == ["collect"]
    job = open_scheduler().get_job("collect")
    assert trigger_to_dict(job.trigger)["fields"]["hour"] == "18"
    assert job.next_run_time in next_fire("30 18 * * 1-5")
    assert "job=collect updated (trigger)" in caplog.text


def test_changed_timezone_is_a_changed_trigger(open_scheduler) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, store_of(scheduler), registry(spec("collect")), GRACE)
    report = reconcile(scheduler, store_of(scheduler), registry(spec("collect", timezone="UTC")), GRACE)
    assert report.updated == ["collect"]
    assert scheduler.get_job("collect").next_run_time in next_fire("0 19 * * mon-fri", ZoneInfo("UTC"))


def test_changed_options_are_updated_and_next_run_kept(open_scheduler, caplog) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, store_of(scheduler), registry(spec("collect")), GRACE)
    before = scheduler.get_job("collect").next_run_time

    caplog.set_level(logging.INFO, logger="scheduler.reconcile")
    scheduler = open_scheduler()
    changed = spec("collect", max_instances=3, name="Renamed", misfire_grace_time=60)
    report = reconcile(scheduler, store_of(scheduler), registry(changed), GRACE)
    assert report.updated == ["collect"]
    job = open_scheduler().get_job("collect")
    assert (job.max_instances, job.name, job.misfire_grace_time) == (3, "Renamed", 60)
    assert job.next_run_time == before
    assert "job=collect updated (name, misfire_grace_time, max_instances)" in caplog.text

    # A different default grace time counts as a change for specs without their own.
    other = open_scheduler()
    reconcile(other, store_of(other), registry(spec("plain")), GRACE)
    assert reconcile(other, store_of(other), registry(spec("plain")), 120).updated == ["plain"]
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
    reconcile(scheduler, store_of(scheduler), registry(spec("collect")), GRACE)
    scheduler.pause_job("collect")

    caplog.set_level(logging.INFO, logger="scheduler.reconcile")
    scheduler = open_scheduler()
    assert reconcile(scheduler, store_of(scheduler), registry(changed), GRACE).updated == ["collect"]
    job = open_scheduler().get_job("collect")
    assert job.next_run_time is None
    assert trigger_to_dict(job.trigger) == trigger_to_dict(changed.trigger(SHANGHAI))
    assert job.max_instances == changed.max_instances
    assert "stays paused" in caplog.text


def test_job_no_longer_defined_is_set_aside_and_restored_paused(open_scheduler, caplog) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, store_of(scheduler), registry(spec("collect"), spec("retired")), GRACE)
    scheduler.pause_job("retired")

    caplog.set_level(logging.WARNING, logger="scheduler.reconcile")
    caplog.clear()  # the first reconcile's lines (kept when an earlier test left the root at INFO)
    scheduler = open_scheduler()
    report = reconcile(scheduler, store_of(scheduler), registry(spec("collect")), GRACE)
    assert report.set_aside == ["retired"]
    assert report.unchanged == ["collect"]
    assert [job.id for job in open_scheduler().get_jobs()] == ["collect"]
    (record,) = [r for r in caplog.records if r.name == "scheduler.reconcile"]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("job=retired set aside: no longer defined by any job module;")
    (kept,) = store_of(scheduler).set_aside_rows()
    assert (kept["id"], kept["paused"]) == ("retired", True)
    assert job_store_problems(registry(spec("collect")), [kept], []) == [
        "job retired set aside (paused): no longer defined by any job module; "
        "define it again to restore it, or `forget-job retired`"
    ]

    # Defined again: restored, still paused; the set-aside row is gone.
    scheduler = open_scheduler()
    report = reconcile(scheduler, store_of(scheduler), registry(spec("collect"), spec("retired")), GRACE)
    assert report.restored == ["retired"] and report.added == []
    assert open_scheduler().get_job("retired").next_run_time is None
    assert store_of(scheduler).set_aside_rows() == []


def test_a_broken_module_sets_its_jobs_aside_and_says_so(open_scheduler) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, store_of(scheduler), registry(spec("collect"), spec("nav")), GRACE)
    broken = Registry(specs={"collect": spec("collect")}, broken={"jobs.nav": "SyntaxError: oops"})
    scheduler = open_scheduler()
    assert reconcile(scheduler, store_of(scheduler), broken, GRACE).set_aside == ["nav"]
    (kept,) = store_of(scheduler).set_aside_rows()
    assert kept["reason"] == "not defined: job module(s) jobs.nav failed to import"
    assert job_store_problems(broken, [kept], []) == [
        "job module 'jobs.nav' cannot be imported: SyntaxError: oops",
        "job nav set aside: not defined: job module(s) jobs.nav failed to import; "
        "define it again to restore it, or `forget-job nav`",
    ]
    # The module imports again: the job comes back active, with a next run.
    scheduler = open_scheduler()
    reconcile(scheduler, store_of(scheduler), registry(spec("collect"), spec("nav")), GRACE)
    assert open_scheduler().get_job("nav").next_run_time in next_fire("0 19 * * mon-fri")


def test_forget_deletes_the_set_aside_and_rejected_rows_only(open_scheduler) -> None:
    scheduler = open_scheduler()
    store = store_of(scheduler)
    reconcile(scheduler, store, registry(spec("collect"), spec("retired")), GRACE)
    reconcile(scheduler, store, registry(spec("collect")), GRACE)
    assert store.forget("retired") == (1, 0)
    assert store.forget("retired") == (0, 0)
    assert store.forget("collect") == (0, 0)
    assert [job.id for job in scheduler.get_jobs()] == ["collect"]
    # Without the set-aside row, the definition's return is a plain add.
    assert reconcile(scheduler, store, registry(spec("collect"), spec("retired")), GRACE).added == ["retired"]


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
def test_disabled_spec_is_set_aside_and_restored_with_its_pause(
    open_scheduler, caplog, disabled: JobSpec, why: str
) -> None:
    scheduler = open_scheduler()
    reconcile(scheduler, store_of(scheduler), registry(spec("collect"), spec("other")), GRACE)
    scheduler.pause_job("collect")

    caplog.set_level(logging.WARNING, logger="scheduler.reconcile")
    scheduler = open_scheduler()
    report = reconcile(scheduler, store_of(scheduler), registry(disabled, spec("other")), GRACE)
    assert report.set_aside == ["collect"]
    assert [job.id for job in open_scheduler().get_jobs()] == ["other"]
    assert f"job=collect set aside: {why};" in caplog.text
    # Disabled on purpose: status lists it as disabled; it is not a problem for the operator.
    assert job_store_problems(registry(disabled), store_of(scheduler).set_aside_rows(), []) == []

    # Enabled again: restored, paused as the operator left it.
    report = reconcile(*opened(open_scheduler), registry(spec("collect"), spec("other")), GRACE)
    assert report.restored == ["collect"]
    assert open_scheduler().get_job("collect").next_run_time is None
