"""The scheduler loop: APScheduler's BackgroundScheduler, guarded, with our own pass.

APScheduler 3.11's loop thread is used as it is; each pass (``_process_jobs``) is this module's,
so that every fire time is accounted for and the clock can be injected:

* **every fire time accounted for**: a job found late (the loop stalled, the wall clock stepped
  forward) is planned like a catch-up at start (:func:`~fund_scheduler.daemon.catchup.plan_catch_up`):
  with coalescing, the newest fire time within the grace time runs once, the older ones within
  grace are handed to :attr:`GuardedBackgroundScheduler.record_unrun` as *coalesced* (covered by
  that run) and those past the grace time as *missed*; where 3.11 merged them silently. A run
  refused because the previous one still runs takes its coalesced fire times with it (all
  ``skipped``, through ``EVENT_JOB_MAX_INSTANCES``). A stored next run time on a closed day of the
  job's exchange calendar (the calendar changed after it was planned) is not run and not recorded:
  the job moves to its next fire time on a session.
* **wall-clock steps**: each pass compares the wall clock (:attr:`clock`) with the monotonic one
  (:attr:`monotonic`); a difference of :data:`CLOCK_STEP` seconds or more is a step, logged. After
  a step *back*, interval jobs are moved back by the step (the next run comes when it was due in
  real time; the schedule is re-anchored there), and cron jobs keep their next run time: the next
  wall time not fired yet (a wall time already run is not run again; the history's unique
  (job, scheduled time) index is the last guard). :attr:`on_clock_step` is told (the executor
  forgets the run times it submitted). After a step *forward*, each job is late and catches up
  once, as above.
* **no pass after shutdown**: 3.11 runs one more pass after ``shutdown()``, submitting due jobs to
  the stopped executors and moving their next run time on, so a run due at that instant would be
  lost without a trace. Skipping the pass leaves it due: the next start runs or records it.
* **database errors do not kill the loop**: a database error in the pass (reading due jobs,
  storing next run times) would end 3.11's loop thread for good. It is logged once (``job store
  unavailable``) and the loop retries every :data:`JOBSTORE_RETRY_INTERVAL` seconds (the executor
  never runs a run time twice).
* **a heartbeat**: each pass records :attr:`GuardedBackgroundScheduler.heartbeat` and the wait is
  capped at :data:`HEARTBEAT_INTERVAL`, so ``/health`` tells a stuck or dead loop from an idle one.

:attr:`GuardedBackgroundScheduler.may_submit`, when set, is asked before each pass; False skips
the pass (this daemon is not, or no longer surely, the active one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from threading import TIMEOUT_MAX
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.executors.base import MaxInstancesReachedError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_STOPPED
from apscheduler.triggers.interval import IntervalTrigger

from fund_scheduler.daemon.catchup import CatchUpPlan, log_skipped, plan_catch_up, store_next_run_times
from fund_scheduler.store.engine import describe_error, is_database_error

__all__ = [
    "CLOCK_STEP",
    "HEARTBEAT_INTERVAL",
    "JOBSTORE_RETRY_INTERVAL",
    "LEADER_INTERVAL",
    "GuardedBackgroundScheduler",
]

logger = logging.getLogger("scheduler.daemon")

HEARTBEAT_INTERVAL = 60.0  # longest wait of the scheduler loop between two passes (seconds)
JOBSTORE_RETRY_INTERVAL = 10.0  # wait of the scheduler loop after a database error (seconds)
LEADER_INTERVAL = 3.0  # how often the leader lock is checked (active) or retried (standby)
CLOCK_STEP = 2.0  # seconds the wall clock may drift from the monotonic one between passes

#: ``record_unrun(job, plan, covering)``: record ``plan.missed`` and ``plan.coalesced`` of ``job``.
RecordUnrun = Callable[[Any, CatchUpPlan], None]


def _wall_now() -> datetime:
    return datetime.now(UTC)


class GuardedBackgroundScheduler(BackgroundScheduler):
    """BackgroundScheduler whose passes account for every fire time; see the module docstring."""

    heartbeat: float | None = None
    database_error: str | None = None  # the last job-store error while the database is away
    may_submit: Callable[[], bool] | None = None
    #: The wall clock and the monotonic clock of the passes (injected by tests).
    clock: Callable[[], datetime] = staticmethod(_wall_now)
    monotonic: Callable[[], float] = staticmethod(time.monotonic)
    record_unrun: RecordUnrun | None = None
    on_clock_step: Callable[[float], None] | None = None  # called with the step in seconds
    _clocks: tuple[datetime, float] | None = None  # (wall, monotonic) at the previous pass

    def _process_jobs(self):
        if self.state == STATE_STOPPED:
            return None
        self.heartbeat = time.monotonic()
        if self.may_submit is not None and not self.may_submit():
            return LEADER_INTERVAL
        try:
            wait = self._pass()
        except Exception as exc:
            if not is_database_error(exc):
                raise
            first = self.database_error is None
            self.database_error = describe_error(exc)
            (logger.error if first else logger.debug)(
                "job store unavailable (%s); the scheduler retries in %.0fs",
                self.database_error,
                JOBSTORE_RETRY_INTERVAL,
            )
            return JOBSTORE_RETRY_INTERVAL
        if self.database_error is not None:
            logger.info("job store available again")
            self.database_error = None
        return HEARTBEAT_INTERVAL if wait is None else min(wait, HEARTBEAT_INTERVAL)

    def _pass(self) -> float | None:
        """Submit every due job; return the seconds until the next is due (None: none)."""
        if self.state == STATE_PAUSED:
            return None
        now = self.clock()
        self._watch_clock(now)
        wakeup: datetime | None = None
        events: list[JobSubmissionEvent] = []
        with self._jobstores_lock:
            for alias, store in self._jobstores.items():
                try:
                    due = store.get_due_jobs(now)
                except Exception as exc:
                    if is_database_error(exc):
                        raise
                    logger.warning("job store %r: due jobs not read (%s); retrying", alias, exc)
                    retry = now + timedelta(seconds=self.jobstore_retry_interval)
                    wakeup = retry if wakeup is None else min(wakeup, retry)
                    continue
                moved: list = []  # the jobs whose next run time to store, in one write
                for job in due:
                    events.extend(self._submit_due(job, alias, store, now, moved))
                store_next_run_times(store, moved)
                store_next = store.get_next_run_time()
                if store_next is not None and (wakeup is None or store_next < wakeup):
                    wakeup = store_next
        for event in events:
            self._dispatch_event(event)
        if wakeup is None:
            return None
        return min(max((wakeup - self.clock()).total_seconds(), 0.0), TIMEOUT_MAX)

    def _submit_due(self, job, alias: str, store, now: datetime, moved: list) -> list[JobSubmissionEvent]:
        """Plan ``job``'s passed fire times, submit the run, record the rest; its next run time
        set on it and the job added to ``moved`` (to store), or the finished job removed."""
        try:
            executor = self._lookup_executor(job.executor)
        except KeyError:
            logger.error("job=%s names no executor %r: removed from the job store", job.id, job.executor)
            self.remove_job(job.id, alias)
            return []
        plan = plan_catch_up(job.trigger, job.next_run_time, now, job.misfire_grace_time, job.coalesce)
        log_skipped(job.id, plan)
        if plan.moves_only:
            self._store_next(job, alias, plan.next_run_time, moved)
            return []
        if not plan.due:
            return []
        events: list[JobSubmissionEvent] = []
        if plan.run:
            try:
                executor.submit_job(job, plan.run)
            except MaxInstancesReachedError:
                refused = [*plan.coalesced, *plan.run]
                plan = replace(plan, run=[], coalesced=[])  # none runs: the event carries them
                events.append(JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, job.id, alias, refused))
            except Exception:
                logger.exception("job=%s could not be submitted", job.id)
            else:
                events.append(JobSubmissionEvent(EVENT_JOB_SUBMITTED, job.id, alias, plan.run))
        if self.record_unrun is not None and (plan.missed or plan.coalesced):
            self.record_unrun(job, plan)
        following = plan.next_run_time if plan.truncated else plan.after_due
        self._store_next(job, alias, following, moved)
        return events

    def _store_next(self, job, alias: str, following: datetime | None, moved: list) -> None:
        """Set ``job``'s next run time and add it to ``moved``; without one the job is finished
        and removed."""
        if following is None:
            self.remove_job(job.id, alias)
        else:
            job._modify(next_run_time=following)
            moved.append(job)

    def _watch_clock(self, now: datetime) -> None:
        """Log a step of the wall clock against the monotonic clock since the last pass; after a
        step back, move interval jobs back by the step."""
        mono = self.monotonic()
        previous, self._clocks = self._clocks, (now, mono)
        if previous is None:
            return
        step = (now - previous[0]).total_seconds() - (mono - previous[1])
        if abs(step) < CLOCK_STEP:
            return
        if step > 0:
            logger.warning(
                "wall clock stepped forward by %.1fs (against the monotonic clock): "
                "late jobs catch up once, older fire times are recorded missed",
                step,
            )
        else:
            moved = self._move_interval_jobs(timedelta(seconds=step))
            logger.warning(
                "wall clock stepped back by %.1fs (against the monotonic clock): %d interval job(s) "
                "moved back with it; cron jobs wait for their next wall time not yet run",
                -step,
                moved,
            )
        if self.on_clock_step is not None:
            self.on_clock_step(step)

    def _move_interval_jobs(self, step: timedelta) -> int:
        """Move each scheduled interval job's next run time (and its schedule) by ``step``."""
        moved = 0
        with self._jobstores_lock:
            for store in self._jobstores.values():
                for job in store.get_all_jobs():
                    trigger = job.trigger
                    if job.next_run_time is None or not isinstance(trigger, IntervalTrigger):
                        continue
                    following = job.next_run_time + step
                    job._modify(
                        next_run_time=following,
                        trigger=IntervalTrigger(
                            seconds=trigger.interval.total_seconds(),
                            start_date=following,
                            end_date=trigger.end_date,
                            timezone=trigger.timezone,
                            jitter=trigger.jitter,
                        ),
                    )
                    store.update_job(job)
                    moved += 1
        return moved

    @property
    def loop_alive(self) -> bool:
        """True while the scheduler's loop thread runs (False once shut down or crashed)."""
        thread = getattr(self, "_thread", None)
        return self.state != STATE_STOPPED and thread is not None and thread.is_alive()

    def heartbeat_age(self) -> float | None:
        """Seconds since the loop's last pass (None before the first)."""
        return None if self.heartbeat is None else time.monotonic() - self.heartbeat
