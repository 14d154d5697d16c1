"""The daemon's side of check jobs: a finished check run -> its state in ``check_states`` -> alerts.

:class:`CheckWatcher` subscribes to the runner's finished rows (``Runner.on_finished``). For a
row of a ``kind="check"`` job that ended ``success``:

1. read the result from the row's output tail (the ``result: <json>`` line,
   :mod:`fund_scheduler.jobs.results`) and validate it (:mod:`fund_scheduler.jobs.checks`); a
   malformed result is a warning in ``scheduler.log`` naming the job, the execution and what is
   wrong, and changes nothing (the row keeps the status the runner recorded);
2. write the state: ``ok`` or ``breach``, ``since`` kept while the state holds, else now;
3. hand the alert a change of state calls for (:func:`fund_scheduler.alerts.checks.check_alert`:
   ``stale_data``, ``fresh_again``) to the notifier, whose rate limit applies.

A check run that raised, timed out or was skipped is an ordinary run (alerted as such) and
changes no state. The state lives in the database, so a restart or a new active daemon alerts
nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from fund_common.clock import utcnow
from fund_common.runstatus import RunStatus
from fund_scheduler.alerts.checks import check_alert
from fund_scheduler.alerts.notifier import Notifier
from fund_scheduler.errors import UnknownJobError
from fund_scheduler.jobs.checks import CheckResultError, parse_check_result
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.results import ResultMissing, result_in
from fund_scheduler.store import checks as store

__all__ = ["CheckWatcher", "check_rows"]

logger = logging.getLogger("scheduler.checks")


class CheckWatcher:
    """Keeps ``check_states`` and sends the check alerts; ``observe`` is an on_finished hook."""

    def __init__(
        self,
        engine: Engine,
        registry: Callable[[], Registry],
        notifier: Notifier | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.registry = registry
        self.notifier = notifier
        self.clock = clock

    def observe(self, row: dict[str, Any] | None) -> None:
        """Take one finished history row (a check's successful run changes the state)."""
        if not row or row.get("status") != RunStatus.SUCCESS or not self._is_check(row["job_id"]):
            return
        job_id, execution_id = row["job_id"], row.get("id")
        try:
            result = parse_check_result(result_in(row.get("output_tail")))
        except (ResultMissing, CheckResultError) as exc:
            logger.warning(
                "job=%s execution=%s: malformed check result, state unchanged: %s", job_id, execution_id, exc
            )
            return
        now = self.clock()
        previous = store.get_state(self.engine, job_id)
        held = previous is not None and previous["state"] == result.state
        store.save_state(
            self.engine,
            job_id,
            state=result.state,
            since=previous["since"] if held and previous else now,
            checked_at=now,
            summary=result.summary,
            details=result.details,
            execution_id=execution_id,
        )
        alert = check_alert(row, result, previous, now)
        if alert is not None:
            log = logger.warning if alert.kind == "stale_data" else logger.info
            log("job=%s execution=%s %s: %s", job_id, execution_id, alert.kind, result.summary)
            if self.notifier is not None:
                self.notifier.notify(alert)

    def _is_check(self, job_id: str) -> bool:
        try:
            return self.registry().get(job_id).kind == "check"
        except UnknownJobError:
            return False


def check_rows(engine: Engine, registry: Registry) -> list[dict[str, Any]]:
    """The state rows of the registry's enabled check jobs (a check never run yet: ``state``
    None), by job id; a state left by a job no longer defined is not shown."""
    checks = {spec.id: spec for spec in registry.enabled() if spec.kind == "check"}
    if not checks:
        return []
    states = {row["job_id"]: row for row in store.all_states(engine)} if store.exists(engine) else {}
    return [
        states.get(job_id)
        or {
            "job_id": job_id,
            "state": None,
            "since": None,
            "checked_at": None,
            "summary": "not checked yet",
            "details": {},
            "execution_id": None,
        }
        for job_id in sorted(checks)
    ]
