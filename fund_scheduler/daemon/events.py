"""What the daemon does when APScheduler reports on a run.

* **executed** (a run succeeded): start the jobs that run ``after`` it for its business date
  (trigger ``dependency``; the rules: :mod:`fund_scheduler.daemon.chain`), unless the daemon is
  stopping or on standby;
* **error**: a run that ended in another status is already recorded and alerted by the runner;
  anything else (a bug) is logged with its traceback;
* **missed** (a fire time older than the grace time when it came due): recorded ``missed``;
* **max instances** (the previous run still going): recorded ``skipped``;
* **unrun fire times** found by the scheduler loop (:mod:`fund_scheduler.daemon.loop`): missed and
  coalesced ones recorded (:func:`fund_scheduler.daemon.catchup.record_unrun`);
* **a step of the wall clock**: back, the executor forgets the run times it submitted (the
  history's unique index still refuses a fire time run before).

Rows recorded here go through the runner, so alerts and metrics see them like every other row,
and to the spool while the database is away.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
)

from fund_common.runstatus import RunStatus
from fund_scheduler.daemon.catchup import CatchUpPlan, record_unrun
from fund_scheduler.daemon.dependents import Dependents
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.run.executor import RunFailed, RunnerExecutor
from fund_scheduler.run.runner import Runner

__all__ = ["install_listeners"]

logger = logging.getLogger("scheduler.daemon")

LATE = "run time passed by more than the misfire grace time"


class Daemon(Protocol):
    """What the handlers use of :class:`fund_scheduler.daemon.daemon.Daemon`."""

    scheduler: Any
    registry: Registry
    runner: Runner
    executor: RunnerExecutor
    dependents: Dependents
    role: str

    @property
    def stopping(self) -> bool: ...


def install_listeners(daemon: Daemon) -> None:
    """Attach the handlers below to ``daemon``'s scheduler."""
    scheduler = daemon.scheduler
    scheduler.add_listener(lambda event: _on_executed(daemon, event), EVENT_JOB_EXECUTED)
    scheduler.add_listener(_on_error, EVENT_JOB_ERROR)
    scheduler.add_listener(lambda event: _on_missed(daemon, event), EVENT_JOB_MISSED)
    scheduler.add_listener(lambda event: _on_max_instances(daemon, event), EVENT_JOB_MAX_INSTANCES)
    scheduler.record_unrun = lambda job, plan: _on_unrun(daemon, job, plan)
    scheduler.on_clock_step = lambda step: _on_clock_step(daemon, step)


def _on_unrun(daemon: Daemon, job, plan: CatchUpPlan) -> None:
    record_unrun(daemon.runner.record, job.id, plan, LATE)


def _on_clock_step(daemon: Daemon, step: float) -> None:
    if step < 0:
        daemon.executor.forget_submitted()


def _on_executed(daemon: Daemon, event) -> None:
    if daemon.stopping or daemon.role != "active":
        return  # no dependency runs once stopping or on standby
    if event.retval is not None:
        daemon.dependents.after_run(event.retval)


def _on_error(event) -> None:
    if not isinstance(event.exception, RunFailed):
        logger.error(
            "job=%s run could not be completed: %r\n%s",
            event.job_id,
            event.exception,
            event.traceback or "",
        )


def _on_missed(daemon: Daemon, event) -> None:
    daemon.runner.record(
        event.job_id,
        RunStatus.MISSED,
        scheduled_run_time=event.scheduled_run_time,
        error=LATE,
    )
    logger.warning(
        "job=%s run of %s missed (older than the grace time)", event.job_id, event.scheduled_run_time
    )


def _on_max_instances(daemon: Daemon, event) -> None:
    for run_time in event.scheduled_run_times:
        daemon.runner.record(
            event.job_id,
            RunStatus.SKIPPED,
            scheduled_run_time=run_time,
            error="previous run still going (max_instances reached)",
        )
    logger.warning("job=%s run skipped: the previous run is still going", event.job_id)
