"""Jobs on an exchange calendar in the scheduler: across XSHG's National Day 2026 the loop runs
nothing, records nothing and alerts nothing; catch-up at start never calls a closed day
``missed``; a stored next run time on a day the calendar closed later is neither run nor
recorded, and the keeper moves it. Each pass runs on an injected clock (no loop thread, no sleep),
on a real job store and history (SQLite)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.executors.base import BaseExecutor

from fund_common.runstatus import RunStatus
from fund_scheduler.daemon.calendar_keeper import CalendarKeeper
from fund_scheduler.daemon.catchup import catch_up_missed, plan_catch_up
from fund_scheduler.daemon.loop import GuardedBackgroundScheduler
from fund_scheduler.jobs.triggers import build_cron, crontab_to_fields
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler.store.jobstore import JOB_FUNC, JsonJobStore
from tests.support.calendars import in_book, xshg_2026
from tests.support.schema import scheduler_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(month: int, day: int, hour: int = 19, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


class Runs(BaseExecutor):
    """Records each submitted fire time as a ``success`` row at once."""

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine
        self.fired: list[datetime] = []

    def _do_submit_job(self, job, run_times) -> None:
        for run_time in run_times:
            self.fired.append(run_time)
            history.record(self.engine, job.id, RunStatus.SUCCESS, scheduled_run_time=run_time, error=None)
        self._run_job_success(job.id, [])


class Passes(GuardedBackgroundScheduler):
    """The guarded scheduler without its loop thread: the test calls each pass."""

    def _main_loop(self) -> None:
        return None


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[tuple[Passes, list[datetime], Runs, list]]:
    engine = scheduler_db(f"sqlite:///{tmp_path}/s.db")
    wall = [sh(9, 30, 18)]
    runs = Runs(engine)
    scheduler = Passes(
        jobstores={"default": JsonJobStore(engine)}, executors={"default": runs}, timezone=SHANGHAI
    )
    scheduler.clock = lambda: wall[0]
    scheduler.monotonic = lambda: (wall[0] - sh(9, 30, 18)).total_seconds()
    unrun: list = []
    scheduler.record_unrun = lambda job, plan: unrun.append((job.id, plan))
    scheduler.start()
    yield scheduler, wall, runs, unrun
    scheduler.shutdown(wait=False)
    engine.dispose()


def daily(cron: str = "0 19 * * 1-5"):
    return build_cron(crontab_to_fields(cron), SHANGHAI, "XSHG")


def add(scheduler, next_run_time: datetime, trigger=None) -> None:
    scheduler.add_job(
        JOB_FUNC,
        trigger=trigger or daily(),
        id="collect",
        next_run_time=next_run_time,
        misfire_grace_time=3600,
        coalesce=True,
    )


def statuses(engine) -> dict[datetime, str]:
    return {r["scheduled_run_time"]: r["status"] for r in history.recent(engine, job_id="collect", limit=100)}


def test_national_day_passes_without_a_run_a_row_or_an_alert(loop) -> None:
    scheduler, wall, runs, unrun = loop
    with in_book(xshg_2026()):
        add(scheduler, sh(9, 30))
        while wall[0] < sh(10, 8, 23):  # a pass every 20 minutes, 30 September to 8 October
            scheduler._process_jobs()
            wall[0] += timedelta(minutes=20)
    assert [fire.astimezone(SHANGHAI) for fire in runs.fired] == [sh(9, 30), sh(10, 8)]
    assert statuses(runs.engine) == {
        sh(9, 30).astimezone(UTC): RunStatus.SUCCESS,
        sh(10, 8).astimezone(UTC): RunStatus.SUCCESS,
    }
    assert unrun == []  # nothing missed, nothing coalesced: no row and so no alert
    assert scheduler.get_job("collect").next_run_time == sh(10, 9)


def test_a_stored_next_run_on_a_day_closed_since_is_neither_run_nor_recorded(
    loop, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler, wall, runs, unrun = loop
    caplog.set_level(logging.INFO, logger="scheduler.daemon")
    with in_book(xshg_2026()):
        add(scheduler, sh(10, 1))  # planned while the calendar did not know the holiday yet
        wall[0] = sh(10, 1, 19, 0) + timedelta(seconds=1)
        scheduler._process_jobs()
    assert runs.fired == [] and unrun == [] and statuses(runs.engine) == {}
    assert scheduler.get_job("collect").next_run_time == sh(10, 8)
    assert (
        "job=collect fire time 2026-10-01T19:00:00+08:00 not run: XSHG closed: National Day "
        "(the calendar changed since it was planned); next run 2026-10-08T19:00:00+08:00"
    ) in caplog.text


def test_catch_up_at_start_never_calls_a_closed_day_missed(tmp_path: Path) -> None:
    engine = scheduler_db(f"sqlite:///{tmp_path}/s.db")
    scheduler = Passes(jobstores={"default": JsonJobStore(engine)}, timezone=SHANGHAI)
    scheduler.start(paused=True)
    try:
        with in_book(xshg_2026()):
            add(scheduler, sh(9, 30))  # down from before 30 September's run to 8 October 19:30
            counts = catch_up_missed(scheduler, engine, sh(10, 8, 19, 30))
        assert counts == {"collect": 1}  # 30 September only: older than the grace time
        assert statuses(engine) == {sh(9, 30).astimezone(UTC): RunStatus.MISSED}
        assert scheduler.get_job("collect").next_run_time == sh(10, 8)  # runs now, within grace
    finally:
        scheduler.remove_all_jobs()
        scheduler.shutdown(wait=False)
        engine.dispose()


def test_a_plan_whose_only_due_time_is_closed_moves_the_job_on() -> None:
    with in_book(xshg_2026()):
        plan = plan_catch_up(daily(), sh(10, 5), sh(10, 5, 19, 1), 3600)
    assert (plan.due, plan.run, plan.missed) == ([], [], [])
    assert plan.moves_only and plan.next_run_time == sh(10, 8)
    assert [why for _, why in plan.skipped] == ["XSHG closed: National Day"]


def test_the_keeper_replans_jobs_when_the_calendar_changes(tmp_path: Path) -> None:
    engine = scheduler_db(f"sqlite:///{tmp_path}/s.db")
    scheduler = Passes(jobstores={"default": JsonJobStore(engine)}, timezone=SHANGHAI)
    scheduler.start(paused=True)
    settings = Settings.from_env(
        {"SCHEDULER_HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/s.db"}
    )
    keeper = CalendarKeeper(engine, settings, scheduler, clock=lambda: sh(9, 30, 20))
    without_holiday = xshg_2026()
    without_holiday = type(without_holiday)("XSHG", without_holiday.first, without_holiday.last)
    try:
        with in_book(without_holiday):
            add(scheduler, daily().get_next_fire_time(None, sh(9, 30, 20)))
            assert scheduler.get_job("collect").next_run_time == sh(10, 1)
        with in_book(xshg_2026()):  # the calendar learns of National Day
            assert keeper.replan() == ["collect"]
            assert scheduler.get_job("collect").next_run_time == sh(10, 8)
        with in_book(without_holiday):  # and forgets it again: the first of October comes first
            assert keeper.replan() == ["collect"]
            assert scheduler.get_job("collect").next_run_time == sh(10, 1)
            assert keeper.replan() == []
    finally:
        scheduler.remove_all_jobs()
        scheduler.shutdown(wait=False)
        engine.dispose()
