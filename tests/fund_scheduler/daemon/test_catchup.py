"""Catch-up after downtime: the pure plan with fixed datetimes, then applied to a real job store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.executors.base import BaseExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from fund_scheduler.daemon import catchup
from fund_scheduler.daemon.catchup import (
    LOG_JOBS_LIMIT,
    MAX_FIRE_TIMES,
    MISSED_ROWS_LIMIT,
    catch_up_missed,
    plan_catch_up,
)
from fund_scheduler.jobs.triggers import build_cron, crontab_to_fields
from fund_scheduler.store import history
from fund_scheduler.store.jobstore import JOB_FUNC, JsonJobStore
from tests.support.schema import create_scheduler_tables, scheduler_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600
DAILY_0200 = build_cron(crontab_to_fields("0 2 * * *"), SHANGHAI)
HOURLY = build_cron(crontab_to_fields("0 * * * *"), SHANGHAI)


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=SHANGHAI)


def test_nothing_due_yet() -> None:
    plan = plan_catch_up(DAILY_0200, sh(7, 2), now=sh(6, 23), grace_seconds=HOUR)
    assert (plan.due, plan.run, plan.missed) == ([], [], [])
    assert plan.next_run_time == sh(7, 2)


def test_paused_job_is_left_alone() -> None:
    plan = plan_catch_up(DAILY_0200, None, now=sh(6, 23), grace_seconds=HOUR)
    assert (plan.due, plan.run, plan.missed, plan.next_run_time) == ([], [], [], None)


def test_fire_time_exactly_now_runs() -> None:
    plan = plan_catch_up(DAILY_0200, sh(6, 2), now=sh(6, 2), grace_seconds=HOUR)
    assert (plan.due, plan.run, plan.missed, plan.next_run_time) == ([sh(6, 2)], [sh(6, 2)], [], sh(6, 2))


def test_one_missed_within_grace_runs_once() -> None:
    plan = plan_catch_up(DAILY_0200, sh(6, 2), now=sh(6, 2, 30), grace_seconds=HOUR)
    assert plan.due == [sh(6, 2)]
    assert plan.run == [sh(6, 2)]
    assert plan.missed == []
    assert plan.next_run_time == sh(6, 2)  # the scheduler runs it as soon as it resumes


def test_grace_boundary_is_inclusive() -> None:
    assert plan_catch_up(DAILY_0200, sh(6, 2), now=sh(6, 3), grace_seconds=HOUR).run == [sh(6, 2)]
    late = plan_catch_up(DAILY_0200, sh(6, 2), now=sh(6, 3) + timedelta(microseconds=1), grace_seconds=HOUR)
    assert (late.run, late.missed) == ([], [sh(6, 2)])


def test_one_older_than_grace_is_missed_and_next_run_is_in_the_future() -> None:
    plan = plan_catch_up(DAILY_0200, sh(6, 2), now=sh(6, 4), grace_seconds=HOUR)
    assert plan.run == []
    assert plan.missed == [sh(6, 2)]
    assert plan.next_run_time == sh(7, 2)


def test_down_three_days_all_missed() -> None:
    plan = plan_catch_up(DAILY_0200, sh(4, 2), now=sh(6, 12), grace_seconds=HOUR)
    assert plan.missed == [sh(4, 2), sh(5, 2), sh(6, 2)]
    assert plan.run == []
    assert plan.next_run_time == sh(7, 2)
    assert not plan.truncated


@pytest.mark.parametrize("coalesce", [True, False])
def test_down_three_days_last_one_within_grace(coalesce: bool) -> None:
    plan = plan_catch_up(DAILY_0200, sh(4, 2), now=sh(6, 2, 30), grace_seconds=HOUR, coalesce=coalesce)
    assert plan.due == [sh(4, 2), sh(5, 2), sh(6, 2)]
    assert plan.missed == [sh(4, 2), sh(5, 2)]
    assert plan.run == [sh(6, 2)]
    assert plan.next_run_time == sh(6, 2)


def test_coalesce_merges_the_runs_within_grace() -> None:
    plan = plan_catch_up(HOURLY, sh(6, 9), now=sh(6, 12, 30), grace_seconds=3 * HOUR, coalesce=True)
    assert plan.due == [sh(6, 9), sh(6, 10), sh(6, 11), sh(6, 12)]
    assert plan.missed == [sh(6, 9)]
    assert plan.run == [sh(6, 12)]
    assert plan.next_run_time == sh(6, 12)


def test_without_coalesce_every_run_within_grace_runs() -> None:
    plan = plan_catch_up(HOURLY, sh(6, 9), now=sh(6, 12, 30), grace_seconds=3 * HOUR, coalesce=False)
    assert plan.missed == [sh(6, 9)]
    assert plan.run == [sh(6, 10), sh(6, 11), sh(6, 12)]
    assert plan.next_run_time == sh(6, 10)  # the scheduler then runs 10:00, 11:00 and 12:00


def test_no_grace_limit_means_nothing_is_missed() -> None:
    plan = plan_catch_up(DAILY_0200, sh(1, 2), now=sh(6, 12), grace_seconds=None)
    assert plan.missed == []
    assert plan.run == [sh(6, 2)]


def test_now_in_another_zone_is_the_same_instant() -> None:
    now = sh(6, 2, 30).astimezone(UTC)  # 2026-05-05 18:30 UTC
    plan = plan_catch_up(DAILY_0200, sh(4, 2), now=now, grace_seconds=HOUR)
    assert (plan.missed, plan.run) == ([sh(4, 2), sh(5, 2)], [sh(6, 2)])


def test_fall_back_night_terminates_and_counts_each_instant_once() -> None:
    # 01:30 happens twice in New York on 2026-11-01. The stored time comes back from the JSON
    # store with a fixed offset, as in production.
    trigger = build_cron(crontab_to_fields("30 1 * * *"), NEW_YORK)
    stored = datetime(2026, 10, 31, 1, 30, tzinfo=timezone(timedelta(hours=-4)))
    now = datetime(2026, 11, 2, 12, tzinfo=NEW_YORK)
    plan = plan_catch_up(trigger, stored, now, grace_seconds=HOUR)
    assert not plan.truncated
    assert [t.astimezone(UTC) for t in plan.missed] == [
        datetime(2026, 10, 31, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT; the repeated 01:30 EST is no fire time
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),
    ]
    assert plan.next_run_time.astimezone(UTC) == datetime(2026, 11, 3, 6, 30, tzinfo=UTC)


def test_fall_back_grace_is_measured_in_real_time() -> None:
    # Now is 01:45 EST, 1h45 after 01:00 EDT and 45 min after 01:00 EST (same zone object, so
    # wall-clock subtraction would wrongly say 45 min for both). An every-hour job fires at both.
    trigger = build_cron(crontab_to_fields("0 * * * *"), NEW_YORK)
    first = trigger.get_next_fire_time(None, datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK))
    now = datetime(2026, 11, 1, 1, 45, fold=1, tzinfo=NEW_YORK)
    plan = plan_catch_up(trigger, first, now, grace_seconds=HOUR)
    assert [t.astimezone(UTC) for t in plan.missed] == [datetime(2026, 11, 1, 5, tzinfo=UTC)]
    assert [t.astimezone(UTC) for t in plan.run] == [datetime(2026, 11, 1, 6, tzinfo=UTC)]


def test_down_for_ages_on_a_frequent_trigger_is_truncated() -> None:
    start = datetime(2026, 5, 6, tzinfo=UTC)
    every_second = IntervalTrigger(seconds=1, start_date=start, timezone=UTC)
    now = start + timedelta(seconds=MAX_FIRE_TIMES + 500.5)
    plan = plan_catch_up(every_second, start, now, grace_seconds=60)
    assert plan.truncated
    assert plan.run == []
    assert len(plan.missed) == MAX_FIRE_TIMES
    assert plan.missed[-1] == start + timedelta(seconds=MAX_FIRE_TIMES - 1)
    assert plan.next_run_time == start + timedelta(seconds=MAX_FIRE_TIMES + 501)  # starts afresh


# -- applied by the daemon to a real job store ---------------------------------------------------


class IdleExecutor(BaseExecutor):
    """Runs nothing. (APScheduler 3.11's loop runs one more ``_process_jobs`` after ``shutdown()``,
    with the state already "stopped", not "paused", so due jobs of a paused scheduler get
    submitted once.)"""

    def _do_submit_job(self, job, run_times) -> None:
        pass


@pytest.fixture
def paused(tmp_path: Path) -> Iterator[tuple[BackgroundScheduler, object]]:
    engine = scheduler_db(f"sqlite:///{tmp_path}/scheduler.db")
    create_scheduler_tables(engine)
    scheduler = BackgroundScheduler(
        jobstores={"default": JsonJobStore(engine)}, executors={"default": IdleExecutor()}, timezone=SHANGHAI
    )
    scheduler.start(paused=True)
    yield scheduler, engine
    scheduler.remove_all_jobs()  # shutdown() lets the loop process due jobs once more
    scheduler.shutdown(wait=False)
    engine.dispose()


def add(scheduler: BackgroundScheduler, job_id: str, trigger, next_run_time, grace=HOUR, coalesce=True):
    scheduler.add_job(
        JOB_FUNC,
        trigger=trigger,
        id=job_id,
        next_run_time=next_run_time,
        misfire_grace_time=grace,
        coalesce=coalesce,
    )


def test_catch_up_missed_records_rows_and_sets_next_run(paused, caplog: pytest.LogCaptureFixture) -> None:
    scheduler, engine = paused
    now = sh(6, 2, 30)
    add(scheduler, "late_daily", DAILY_0200, sh(4, 2))  # 2 missed, today's 02:00 runs
    add(scheduler, "long_gone", DAILY_0200, sh(1, 2), grace=60)  # 6 missed, nothing runs
    add(scheduler, "hourly", HOURLY, sh(6, 1), grace=2 * HOUR, coalesce=False)  # both run
    add(scheduler, "future", DAILY_0200, sh(7, 2))
    add(scheduler, "paused", DAILY_0200, sh(1, 2))
    scheduler.pause_job("paused")
    caplog.set_level(logging.INFO, logger="scheduler.daemon")

    counts = catch_up_missed(scheduler, engine, now)

    assert counts == {"late_daily": 2, "long_gone": 6, "hourly": 0}
    next_runs = {job.id: job.next_run_time for job in scheduler.get_jobs()}
    assert next_runs == {
        "late_daily": sh(6, 2),
        "long_gone": sh(7, 2),
        "hourly": sh(6, 1),
        "future": sh(7, 2),
        "paused": None,
    }
    rows = history.recent(engine, limit=100)
    assert {r["status"] for r in rows} == {"missed"}
    assert {r["trigger"] for r in rows} == {"schedule"}
    missed = {}
    for row in rows:
        missed.setdefault(row["job_id"], []).append(row["scheduled_run_time"])
    assert sorted(missed["late_daily"]) == [sh(4, 2), sh(5, 2)]
    assert sorted(missed["long_gone"]) == [sh(d, 2) for d in range(1, 7)]
    assert set(missed) == {"late_daily", "long_gone"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("job=late_daily missed 2 run(s)" in w for w in warnings)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("job=late_daily run of 2026-05-06T02:00:00+08:00 is within the grace time" in i for i in infos)

    # Applying the plan again changes nothing: the catch-up is idempotent.
    assert catch_up_missed(scheduler, engine, now) == {"hourly": 0, "late_daily": 0}
    assert history.count_for_job(engine, "late_daily") == 2


def test_catch_up_records_at_most_the_newest_missed_rows(paused) -> None:
    scheduler, engine = paused
    every_minute = build_cron(crontab_to_fields("* * * * *"), SHANGHAI)
    add(scheduler, "chatty", every_minute, sh(6, 0), grace=30)
    counts = catch_up_missed(scheduler, engine, sh(6, 3))
    assert counts == {"chatty": 180}  # 00:00 .. 02:59; 03:00 is now, within grace: it runs
    rows = history.recent(engine, job_id="chatty", limit=1000)
    assert len(rows) == MISSED_ROWS_LIMIT
    assert sorted(r["scheduled_run_time"] for r in rows)[-1] == sh(6, 2, 59)
    assert sorted(r["scheduled_run_time"] for r in rows)[0] == sh(6, 2, 59 - MISSED_ROWS_LIMIT + 1)
    assert scheduler.get_job("chatty").next_run_time == sh(6, 3)


def test_catch_up_records_the_fire_times_merged_into_the_run(paused, caplog: pytest.LogCaptureFixture):
    scheduler, engine = paused
    add(scheduler, "hourly", HOURLY, sh(6, 0), grace=3 * HOUR)  # 00:00, 01:00, 02:00 within grace
    caplog.set_level(logging.INFO, logger="scheduler.daemon")
    assert catch_up_missed(scheduler, engine, sh(6, 2, 30)) == {"hourly": 0}
    rows = history.recent(engine, job_id="hourly", limit=10)
    assert sorted((r["scheduled_run_time"], r["status"], r["error"]) for r in rows) == [
        (sh(6, 0), "coalesced", "covered by the run of 2026-05-06T02:00:00+08:00"),
        (sh(6, 1), "coalesced", "covered by the run of 2026-05-06T02:00:00+08:00"),
    ]
    assert scheduler.get_job("hourly").next_run_time == sh(6, 2)  # runs as the scheduler resumes
    assert [r.getMessage() for r in caplog.records if "coalesced" in r.getMessage()] == [
        "job=hourly 2 fire time(s) coalesced into the run of 2026-05-06T02:00:00+08:00 "
        "(oldest 2026-05-06T00:00:00+08:00)"
    ]


def test_a_catch_up_of_many_jobs_writes_in_bulk_skips_what_is_recorded_and_logs_one_line(
    paused, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler, engine = paused
    jobs = LOG_JOBS_LIMIT + 50
    for i in range(jobs):
        add(scheduler, f"job{i:03d}", DAILY_0200, sh(5, 2), grace=60)  # 05-05 and 05-06 missed
    history.record(engine, "job000", "missed", scheduled_run_time=sh(5, 2), error="by another daemon")
    told: list[dict] = []
    caplog.set_level(logging.INFO, logger="scheduler.daemon")

    counts = catch_up_missed(scheduler, engine, sh(6, 2, 30), on_finished=told.append)

    assert counts == {f"job{i:03d}": 2 for i in range(jobs)}
    assert len(told) == 2 * jobs - 1  # the fire time recorded before is left out, not doubled
    assert {(r["status"], r["error"]) for r in told} == {("missed", catchup.DOWN)}
    assert all(r["id"] and r["run_date"] for r in told)
    assert history.count_for_job(engine, "job000") == 2 and history.count_for_job(engine, "job149") == 2
    assert {job.next_run_time for job in scheduler.get_jobs()} == {sh(7, 2)}  # stored in one go
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"{jobs} jobs have fire times that passed")
