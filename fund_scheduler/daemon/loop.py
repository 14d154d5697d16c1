"""The scheduler loop: APScheduler's BackgroundScheduler, guarded.

APScheduler 3.11's loop thread (``_process_jobs``) is used as it is, with three guards:

* **no pass after shutdown**: 3.11 runs one more pass after ``shutdown()``, submitting due jobs to
  the stopped executors and moving their next run time on, so a run due at that instant would be
  lost without a trace. Skipping the pass leaves it due: the next start runs or records it.
* **database errors do not kill the loop**: 3.11 guards ``get_due_jobs()`` but not
  ``update_job()``/``remove_job()``; a database error there would end the loop thread for good.
  It is logged once (``job store unavailable``) and the loop retries every
  :data:`JOBSTORE_RETRY_INTERVAL` seconds (the executor never runs a run time twice).
* **a heartbeat**: each pass records :attr:`GuardedBackgroundScheduler.heartbeat` and the wait is
  capped at :data:`HEARTBEAT_INTERVAL`, so ``/health`` tells a stuck or dead loop from an idle one.

:attr:`GuardedBackgroundScheduler.may_submit`, when set, is asked before each pass; False skips
the pass (this daemon is not, or no longer surely, the active one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from fund_scheduler.store.engine import describe_error, is_database_error

__all__ = [
    "HEARTBEAT_INTERVAL",
    "JOBSTORE_RETRY_INTERVAL",
    "LEADER_INTERVAL",
    "GuardedBackgroundScheduler",
]

logger = logging.getLogger("scheduler.daemon")

HEARTBEAT_INTERVAL = 60.0  # longest wait of the scheduler loop between two passes (seconds)
JOBSTORE_RETRY_INTERVAL = 10.0  # wait of the scheduler loop after a database error (seconds)
LEADER_INTERVAL = 3.0  # how often the leader lock is checked (active) or retried (standby)


class GuardedBackgroundScheduler(BackgroundScheduler):
    """BackgroundScheduler that never processes jobs once shut down, with a loop heartbeat."""

    heartbeat: float | None = None
    database_error: str | None = None  # the last job-store error while the database is away
    may_submit: Callable[[], bool] | None = None

    def _process_jobs(self):
        if self.state == STATE_STOPPED:
            return None
        self.heartbeat = time.monotonic()
        if self.may_submit is not None and not self.may_submit():
            return LEADER_INTERVAL
        try:
            wait = super()._process_jobs()
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

    @property
    def loop_alive(self) -> bool:
        """True while the scheduler's loop thread runs (False once shut down or crashed)."""
        thread = getattr(self, "_thread", None)
        return self.state != STATE_STOPPED and thread is not None and thread.is_alive()

    def heartbeat_age(self) -> float | None:
        """Seconds since the loop's last pass (None before the first)."""
        return None if self.heartbeat is None else time.monotonic() - self.heartbeat
