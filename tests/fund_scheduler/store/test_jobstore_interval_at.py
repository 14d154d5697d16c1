"""Interval and one-off (date) triggers through the JSON job store on SQLite: both round-trip, and
a one-off removed once its time has come is kept aside as done."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from fund_scheduler.jobs.triggers import build_date, build_interval, trigger_to_dict
from fund_scheduler.store.jobstore import JOB_FUNC, JsonJobStore
from tests.support.schema import scheduler_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
ANCHOR = datetime(2030, 1, 2, 9, 0, tzinfo=SHANGHAI)
AT = datetime(2030, 12, 24, 18, 0, tzinfo=SHANGHAI)


class IdleExecutor(BaseExecutor):
    def _do_submit_job(self, job, run_times) -> None:
        pass


@pytest.fixture
def open_store(tmp_path: Path) -> Iterator[Callable[[], tuple[BackgroundScheduler, JsonJobStore]]]:
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
    started[-1].remove_all_jobs()
    for scheduler in started:
        scheduler.shutdown(wait=False)


def test_interval_and_date_triggers_round_trip_as_json(open_store) -> None:
    scheduler, store = open_store()
    every = build_interval(900, SHANGHAI, ANCHOR)
    once = build_date(AT, SHANGHAI)
    scheduler.add_job(JOB_FUNC, trigger=every, id="poll", name="Poll")
    scheduler.add_job(JOB_FUNC, trigger=once, id="xmas", name="Xmas")

    with store.engine.begin() as connection:
        states = {r.id: json.loads(r.job_state) for r in connection.execute(select(store.jobs_t))}
    assert states["poll"]["trigger"] == {
        "type": "interval",
        "seconds": 900.0,
        "timezone": "Asia/Shanghai",
        "start_date": "2030-01-02T09:00:00+08:00",
        "end_date": None,
        "jitter": None,
    }
    assert states["xmas"]["trigger"] == {"type": "date", "run_date": "2030-12-24T18:00:00+08:00"}

    again, _ = open_store()  # a new engine: read back from the database
    jobs = {job.id: job for job in again.get_jobs()}
    assert isinstance(jobs["poll"].trigger, IntervalTrigger)
    assert isinstance(jobs["xmas"].trigger, DateTrigger)
    assert trigger_to_dict(jobs["poll"].trigger) == trigger_to_dict(every)
    assert trigger_to_dict(jobs["xmas"].trigger) == trigger_to_dict(once)
    assert jobs["poll"].next_run_time == ANCHOR
    assert jobs["xmas"].next_run_time == AT
    fire = jobs["poll"].trigger.get_next_fire_time(ANCHOR, ANCHOR + timedelta(minutes=1))
    assert fire == ANCHOR + timedelta(minutes=15)
    assert jobs["xmas"].trigger.get_next_fire_time(AT, AT) is None


def test_a_removed_one_off_is_kept_aside_as_done_and_an_interval_job_is_deleted(open_store) -> None:
    scheduler, store = open_store()
    scheduler.add_job(JOB_FUNC, trigger=build_interval(60, SHANGHAI, ANCHOR), id="poll", name="Poll")
    scheduler.add_job(JOB_FUNC, trigger=build_date(AT, SHANGHAI), id="xmas", name="Xmas")
    before = datetime.now(UTC)

    scheduler.remove_job("xmas")  # what the loop does once the trigger has no fire time left
    scheduler.remove_job("poll")

    assert scheduler.get_jobs() == []
    done = store.done_jobs()
    assert list(done) == ["xmas"]
    assert done["xmas"]["at"] == AT
    assert before - timedelta(seconds=1) <= done["xmas"]["since"] <= datetime.now(UTC) + timedelta(seconds=1)
    (row,) = store.set_aside_rows()
    assert (row["id"], row["reason"]) == ("xmas", "done: one-off of 2030-12-24T18:00:00+08:00")
    with pytest.raises(JobLookupError):
        store.remove_job("poll")
    # A read-only store (the CLI's views) reads the same.
    assert JsonJobStore(store.engine, read_only=True).done_jobs() == done
