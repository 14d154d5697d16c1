"""The APScheduler executor that hands each due run to the :class:`~fund_scheduler.run.runner.Runner`.

Runs are executed on a thread pool; each thread waits for the job's child process (or runs a
light job in-thread). The executor turns the runner's result into APScheduler events:
``EVENT_JOB_EXECUTED`` for a success, ``EVENT_JOB_ERROR`` (with :class:`RunFailed`) otherwise,
``EVENT_JOB_MISSED`` for a run time older than the job's grace time.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from traceback import format_tb
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.executors.base import BaseExecutor, MaxInstancesReachedError

from fund_common.runstatus import RunStatus
from fund_scheduler.run.runner import ExecutionResult, Runner

logger = logging.getLogger("scheduler.executor")

#: At most this many runs on workers waited for at once (each waiter a sleeping thread).
REMOTE_WAITERS = 256


class RunFailed(Exception):
    """A run ended in a status other than ``success``; carries the :class:`ExecutionResult`."""

    def __init__(self, result: ExecutionResult):
        self.result = result
        super().__init__(
            f"job {result.job_id} execution {result.execution_id} {result.status}: {result.error or ''}"
        )


def dispatch(
    runner: Runner | None = None,
    job=None,
    run_time: datetime | None = None,
    trigger: str = "schedule",
    on_started=None,
    run_date: date | None = None,
    with_dependents: bool = False,
    asked: Mapping[str, Any] | None = None,
) -> ExecutionResult:
    """The callable every stored job points to: run ``job`` through ``runner``.

    The executor supplies every argument; the defaults only let APScheduler accept the
    reference when the job is added.
    """
    if runner is None or job is None:
        raise TypeError("dispatch() is called by RunnerExecutor with a runner and a job")
    if run_date is None and not with_dependents and not asked:  # a scheduled run: the call every runner takes
        return runner.run(job.id, scheduled_run_time=run_time, trigger=trigger, on_started=on_started)
    return runner.run(
        job.id,
        scheduled_run_time=run_time,
        trigger=trigger,
        on_started=on_started,
        run_date=run_date,
        with_dependents=with_dependents,
        asked=asked,
    )


class RunnerExecutor(BaseExecutor):
    """Submits runs to a thread pool; each run goes through the job's ``func`` (dispatch)."""

    def __init__(self, runner: Runner, max_workers: int = 4):
        super().__init__()
        self.runner = runner
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        #: Threads that wait for runs on workers (they hold no process here; created as needed).
        self._remote_pool: ThreadPoolExecutor | None = None
        self._submitted: dict[str, datetime] = {}

    def start(self, scheduler, alias):
        super().start(scheduler, alias)
        self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="job")

    def shutdown(self, wait=True):
        for pool in (self._pool, self._remote_pool):
            if pool is not None:
                pool.shutdown(wait=wait)

    def submit_job(self, job, run_times):
        """Submit the scheduled ``run_times`` of ``job`` not submitted before.

        APScheduler submits a due job and then stores its next run time; when that store fails
        (the database went away) the stored next run time stays old, and once the database is
        back the same run times come due again. The newest run time submitted per job is kept in
        memory and anything not newer is dropped, so such a run never runs twice.
        """
        with self._lock:
            last = self._submitted.get(job.id)
            fresh = [t for t in run_times if last is None or t > last]
            if not fresh:
                logger.info("job=%s run of %s already submitted; not run again", job.id, run_times[-1])
                return
            try:
                super().submit_job(job, fresh)
            finally:
                # A run refused for max_instances was recorded as skipped: handled as well.
                self._submitted[job.id] = max(fresh)

    def forget_submitted(self) -> None:
        """Forget the run times submitted so far (the wall clock stepped back: earlier run times
        come due again; the history's unique (job, scheduled time) index still refuses a repeat)."""
        with self._lock:
            self._submitted.clear()

    def _do_submit_job(self, job, run_times):
        self._submit(job, run_times, "schedule", None)

    def submit_now(
        self,
        job,
        trigger: str,
        on_started: Callable[[int], None] | None = None,
        *,
        run_date: date | None = None,
        with_dependents: bool = False,
        asked: Mapping[str, Any] | None = None,
    ) -> Future:
        """Run ``job`` now outside its schedule, respecting max_instances; ``run_date``,
        ``with_dependents`` and ``asked`` go to :meth:`Runner.run`.

        Raises MaxInstancesReachedError when as many runs as allowed are already going.
        """
        with self._lock:
            if self._instances[job.id] >= job.max_instances:
                raise MaxInstancesReachedError(job)
            self._instances[job.id] += 1
        try:
            extra = {"run_date": run_date, "with_dependents": with_dependents, "asked": asked}
            return self._submit(job, [None], trigger, on_started, extra)
        except BaseException:
            with self._lock:
                self._instances[job.id] -= 1
            raise

    def _submit(self, job, run_times, trigger, on_started, extra: dict | None = None) -> Future:
        def work():
            events = []
            for run_time in run_times:
                if run_time is not None and job.misfire_grace_time is not None:
                    late = datetime.now(UTC) - run_time
                    if late > timedelta(seconds=job.misfire_grace_time):
                        logger.warning("job %s: run of %s missed by %s", job.id, run_time, late)
                        events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, "default", run_time))
                        continue
                event_time = run_time or datetime.now(UTC)
                try:
                    result = job.func(self.runner, job, run_time, trigger, on_started, **(extra or {}))
                    if result.status != RunStatus.SUCCESS:
                        raise RunFailed(result)
                except Exception:  # noqa: BLE001 - every failure becomes an event, never a dead loop
                    exc, tb = sys.exc_info()[1:]
                    events.append(
                        JobExecutionEvent(
                            EVENT_JOB_ERROR,
                            job.id,
                            "default",
                            event_time,
                            exception=exc,
                            traceback="".join(format_tb(tb)),
                        )
                    )
                else:
                    events.append(
                        JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, "default", event_time, retval=result)
                    )
            return events

        def work_and_report():
            # Reported here, in the run's own thread: a done-callback added after the submit
            # would run in the submitting thread when the run ended first (and a listener that
            # started the run, holding its lock, would wait for itself).
            try:
                events = work()
            except BaseException:  # report and release the instance slot
                self._run_job_error(job.id, *sys.exc_info()[1:])
                raise
            self._run_job_success(job.id, events)
            return events

        assert self._pool is not None, "executor not started"
        return self._pool_for(job.id).submit(work_and_report)

    def _pool_for(self, job_id: str) -> ThreadPoolExecutor:
        """The local pool (SCHEDULER_MAX_WORKERS threads), or for a job run on workers the pool
        of threads that only wait (:data:`REMOTE_WAITERS`): a six-hour remote run never holds
        a local job's thread."""
        assert self._pool is not None
        if getattr(self.runner, "remote", None) is None:
            return self._pool
        spec = self.runner.registry.specs.get(job_id)
        if spec is None or self.runner.queue_of(spec) is None:
            return self._pool
        with self._lock:
            if self._remote_pool is None:
                self._remote_pool = ThreadPoolExecutor(REMOTE_WAITERS, thread_name_prefix="remote")
            return self._remote_pool


def result_of(events: list | None) -> ExecutionResult | None:
    """The :class:`ExecutionResult` carried by a run's executor events (None when there is none)."""
    for event in reversed(events or []):
        if getattr(event, "retval", None) is not None:
            return event.retval
        if isinstance(getattr(event, "exception", None), RunFailed):
            return event.exception.result
    return None
