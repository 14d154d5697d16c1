"""Retries: a failed or timed-out run of a job with ``retries`` comes back as a new attempt.

:class:`RetryPlanner` sees every finished row first (before the alerts): when the job has
attempts left it stores a ``retry`` request in ``run_requests``, due after
:func:`retry_delay`, and marks the row with ``retry_at`` so that no failure alert goes out for
it (only the last attempt is alerted). The request waits in the database, not in a thread: a
daemon restart or a fail-over keeps it, and the active daemon's
:class:`~fund_scheduler.daemon.dispatcher.RequestDispatcher` starts it when due. Each attempt is
its own row (trigger ``retry``, ``attempt`` N, ``first_execution_id`` the first attempt's id)
for the same business date and parameters, asked by the same operator, in the same backfill.
A retry's success starts the dependents as the first attempt's would have.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from fund_common.runstatus import RunStatus
from fund_scheduler.daemon.chain import CASCADING_TRIGGERS
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.store import history, requests
from fund_scheduler.store.engine import describe_error, is_database_error

__all__ = ["RETRIED", "RetryPlanner", "retry_delay"]

logger = logging.getLogger("scheduler.retries")

#: The statuses a retry follows: the job's own failures (a timeout counts as one).
RETRIED = frozenset({RunStatus.FAILED, RunStatus.TIMEOUT})
#: A run on a worker that was lost (killed, frozen, cut off: ``interrupted`` by the leader or by
#: its restarted worker) is retried too; a local run interrupted by a daemon's stop is not.
RETRIED_REMOTE = RETRIED | {RunStatus.INTERRUPTED}
#: The jitter: each delay is scaled by a factor drawn from this range (then capped).
JITTER = (0.75, 1.25)


def retry_delay(spec: JobSpec, attempt: int, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1`` after attempt ``attempt`` failed:
    ``retry_backoff * 2**(attempt-1)`` with jitter, at most ``retry_backoff_max``."""
    base = spec.retry_backoff * 2 ** (attempt - 1)
    return min(base * rng.uniform(*JITTER), spec.retry_backoff_max)


class PlannerDaemon(Protocol):
    """What :class:`RetryPlanner` uses of :class:`fund_scheduler.daemon.daemon.Daemon`."""

    registry: Registry
    engine: Engine
    role: str
    clock: Callable[[], datetime]


class RetryPlanner:
    """Stores the next attempt of each failed run with attempts left (see the module doc)."""

    def __init__(self, daemon: PlannerDaemon, rng: random.Random | None = None):
        self._daemon = daemon
        self.rng = rng or random.Random()
        #: Called after a retry is stored (the dispatcher wakes for its due time).
        self.on_planned: Callable[[], None] | None = None

    def observe(self, row: dict[str, Any]) -> None:
        """Hook for ``Runner.on_finished`` (placed first): plan a retry of ``row`` when due one;
        a planned retry sets ``row["retry_at"]``."""
        daemon = self._daemon
        spec = daemon.registry.specs.get(row.get("job_id") or "")
        retried = RETRIED_REMOTE if row.get("executor") == history.REMOTE else RETRIED
        if row.get("status") not in retried or row.get("id") is None or spec is None:
            return
        attempt = int(row.get("attempt") or 1)
        if attempt > spec.retries or daemon.role != "active":
            return
        now = daemon.clock()
        due = now + timedelta(seconds=retry_delay(spec, attempt, self.rng))
        try:
            requests.add(
                daemon.engine,
                job_id=spec.id,
                trigger="retry",
                due_at=due,
                now=now,
                run_date=row.get("run_date"),
                params=row.get("params") or {},
                attempt=attempt + 1,
                first_execution_id=row.get("first_execution_id") or row["id"],
                backfill_id=row.get("backfill_id"),
                with_dependents=self._cascades(row),
                requested_by=row.get("requested_by"),
            )
        except Exception as exc:
            if not is_database_error(exc):
                raise
            logger.error(
                "job=%s execution=%s: retry not planned, database unavailable (%s)",
                spec.id,
                row["id"],
                describe_error(exc),
            )
            return
        row["retry_at"] = due
        logger.warning(
            "job=%s execution=%s %s (attempt %d of %d): retry at %s",
            spec.id,
            row["id"],
            row["status"],
            attempt,
            spec.retries + 1,
            due.isoformat(timespec="seconds"),
        )
        if self.on_planned is not None:
            self.on_planned()

    def _cascades(self, row: dict[str, Any]) -> bool:
        """Whether the retried run would have started its dependents after a success."""
        if row.get("trigger") in CASCADING_TRIGGERS:
            return True
        asked = requests.request_of_execution(self._daemon.engine, row["id"])
        return bool(asked and asked["with_dependents"])
