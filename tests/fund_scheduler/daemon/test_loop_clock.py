"""The scheduler loop's passes on an injected clock: coalesced fire times recorded, steps of the
wall clock detected and survived. The loop thread is left out: the test runs each pass itself,
on a real job store and history (SQLite)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.executors.base import BaseExecutor
from apscheduler.triggers.interval import IntervalTrigger

from fund_common.runstatus import RunStatus
from fund_scheduler.daemon.catchup import MISSED_ROWS_LIMIT, record_unrun
from fund_scheduler.daemon.loop import GuardedBackgroundScheduler
from fund_scheduler.jobs.triggers import build_cron, crontab_to_fields
from fund_scheduler.store import history
from fund_scheduler.store.jobstore import JOB_FUNC, JsonJobStore
from tests.support.schema import scheduler_db

T0 = datetime(2026, 5, 6, 10, tzinfo=UTC)


class Clocks:
    """A wall clock and a monotonic clock the test moves: ``advance`` both, ``step`` the wall."""

    def __init__(self) -> None:
        self.wall = T0
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds

    def step(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)


class HistoryExecutor(BaseExecutor):
    """Runs each submitted fire time at once: a ``success`` row, or nothing when it has one."""

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine
        self.submitted: list[tuple[str, datetime]] = []

    def _do_submit_job(self, job, run_times) -> None:
        for run_time in run_times:
            self.submitted.append((job.id, run_time))
            with contextlib.suppress(history.AlreadyRecorded):
                history.record(
                    self.engine, job.id, RunStatus.SUCCESS, scheduled_run_time=run_time, error=None
                )
        self._run_job_success(job.id, [])


class PassByPass(GuardedBackgroundScheduler):
    """The guarded scheduler without its loop thread: the test calls each pass."""

    def _main_loop(self) -> None:
        return None


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[tuple[PassByPass, Clocks, HistoryExecutor, object]]:
    engine = scheduler_db(f"sqlite:///{tmp_path}/s.db")
    clocks = Clocks()
    executor = HistoryExecutor(engine)
    scheduler = PassByPass(
        jobstores={"default": JsonJobStore(engine)}, executors={"default": executor}, timezone=UTC
    )
    scheduler.clock = lambda: clocks.wall
    scheduler.monotonic = lambda: clocks.mono
    steps: list[float] = []
    scheduler.on_clock_step = steps.append

    def record(job_id, status, *, scheduled_run_time, error) -> None:
        with contextlib.suppress(history.AlreadyRecorded):
            history.record(engine, job_id, status, scheduled_run_time=scheduled_run_time, error=error)

    scheduler.record_unrun = lambda job, plan: record_unrun(record, job.id, plan, "late")
    scheduler.steps = steps  # type: ignore[attr-defined]
    scheduler.start()
    yield scheduler, clocks, executor, engine
    scheduler.shutdown(wait=False)
    engine.dispose()


def every(seconds: int) -> IntervalTrigger:
    return IntervalTrigger(seconds=seconds, start_date=T0, timezone=UTC)


def add(scheduler, job_id: str, trigger, grace: int = 3600) -> None:
    scheduler.add_job(
        JOB_FUNC, trigger=trigger, id=job_id, next_run_time=T0, misfire_grace_time=grace, coalesce=True
    )


def rows(engine, job_id: str) -> dict[datetime, tuple[str, str | None]]:
    found = history.recent(engine, job_id=job_id, limit=10_000)
    times = [r["scheduled_run_time"] for r in found]
    assert len(times) == len(set(times))  # never two rows for one fire time
    return {r["scheduled_run_time"]: (r["status"], r["error"]) for r in found}


def test_a_late_pass_records_each_coalesced_fire_time(loop, caplog: pytest.LogCaptureFixture) -> None:
    scheduler, clocks, executor, engine = loop
    add(scheduler, "tick", every(10))
    scheduler._process_jobs()
    clocks.advance(45)  # the loop was held up: 10, 20, 30 and 40 s passed without a pass
    caplog.set_level(logging.INFO, logger="scheduler.daemon")
    scheduler._process_jobs()

    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    assert executor.submitted == [("tick", at(0)), ("tick", at(40))]
    covered = (RunStatus.COALESCED, "covered by the run of 2026-05-06T10:00:40+00:00")
    assert rows(engine, "tick") == {
        at(0): (RunStatus.SUCCESS, None),
        at(10): covered,
        at(20): covered,
        at(30): covered,
        at(40): (RunStatus.SUCCESS, None),
    }
    lines = [r.getMessage() for r in caplog.records if "coalesced" in r.getMessage()]
    assert lines == [
        "job=tick 3 fire time(s) coalesced into the run of 2026-05-06T10:00:40+00:00 "
        "(oldest 2026-05-06T10:00:10+00:00)"
    ]
    assert scheduler.get_job("tick").next_run_time == at(50)
    assert scheduler.steps == []  # held up, not stepped


def test_a_backward_step_keeps_interval_jobs_on_schedule_and_runs_no_fire_time_twice(
    loop, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler, clocks, executor, engine = loop
    add(scheduler, "every_10s", every(10))
    add(scheduler, "every_minute", build_cron(crontab_to_fields("* * * * *"), UTC))
    for _ in range(13):  # 10:00:00 .. 10:02:00
        scheduler._process_jobs()
        clocks.advance(10)
    before = len(executor.submitted)
    caplog.set_level(logging.INFO, logger="scheduler.daemon")
    clocks.step(-7200.25)  # NTP steps the wall clock back two hours
    for _ in range(732):  # two hours and two minutes of real time, a pass every 10 s
        scheduler._process_jobs()
        clocks.advance(10)

    assert scheduler.steps == [pytest.approx(-7200.25)]
    assert any("wall clock stepped back by 7200.2s" in r.getMessage() for r in caplog.records)
    after = executor.submitted[before:]
    ten = [t for job, t in after if job == "every_10s"]
    assert len(ten) == 732  # every 10 s, through the two hours
    assert all(b - a == timedelta(seconds=10) for a, b in zip(ten, ten[1:], strict=False))
    assert len(rows(engine, "every_10s")) == 13 + 732
    # The cron job's wall times 08:03 .. 10:02 come again: those run before the step (10:00,
    # 10:01, 10:02) do not; it goes on at 10:03 (the last pass is at 10:03:59.75).
    minute = [t for job, t in after if job == "every_minute"]
    assert minute == [T0 + timedelta(minutes=3)]
    assert len(rows(engine, "every_minute")) == 4


def test_a_forward_step_catches_up_once_and_records_the_rest(loop, caplog: pytest.LogCaptureFixture) -> None:
    scheduler, clocks, executor, engine = loop
    add(scheduler, "every_10s", every(10), grace=60)
    scheduler._process_jobs()
    caplog.set_level(logging.INFO, logger="scheduler.daemon")
    clocks.advance(10)
    clocks.step(7200)  # the wall clock jumps two hours ahead
    scheduler._process_jobs()
    scheduler._process_jobs()  # a second pass at the same time runs nothing more

    assert scheduler.steps == [pytest.approx(7200)]
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    assert executor.submitted == [("every_10s", at(0)), ("every_10s", at(7210))]  # caught up once
    found = rows(engine, "every_10s")
    by_status: dict[str, list[datetime]] = {}
    for when, (status, _) in sorted(found.items()):
        by_status.setdefault(status, []).append(when)
    assert by_status[RunStatus.COALESCED] == [at(s) for s in range(7150, 7210, 10)]  # within 60 s
    assert len(by_status[RunStatus.MISSED]) == MISSED_ROWS_LIMIT  # the newest of 714
    assert by_status[RunStatus.MISSED][-1] == at(7140)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("wall clock stepped forward by 7200.0s" in m for m in messages) == 1
    assert any("job=every_10s missed 714 run(s)" in m for m in messages)
    assert scheduler.get_job("every_10s").next_run_time == at(7220)


def test_coalesced_fire_times_of_a_refused_run_are_skipped_with_it(tmp_path: Path) -> None:
    engine = scheduler_db(f"sqlite:///{tmp_path}/s.db")
    clocks = Clocks()

    class Busy(BaseExecutor):
        def _do_submit_job(self, job, run_times) -> None:
            pass  # never finishes: its one instance stays taken

    scheduler = PassByPass(
        jobstores={"default": JsonJobStore(engine)}, executors={"default": Busy()}, timezone=UTC
    )
    scheduler.clock = lambda: clocks.wall
    scheduler.monotonic = lambda: clocks.mono
    refused: list[list[datetime]] = []
    scheduler.add_listener(lambda event: refused.append(event.scheduled_run_times), 2**16)  # max instances
    unrun: list = []
    scheduler.record_unrun = lambda job, plan: unrun.append(plan)
    scheduler.start()
    try:
        add(scheduler, "slow", every(10))
        scheduler._process_jobs()
        clocks.advance(25)
        scheduler._process_jobs()
    finally:
        scheduler.shutdown(wait=False)
        engine.dispose()
    assert refused == [[T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)]]  # both recorded skipped
    assert unrun == []  # nothing is "covered" by a run that did not start
