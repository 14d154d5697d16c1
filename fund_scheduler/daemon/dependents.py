"""The dependency rules of :mod:`fund_scheduler.daemon.chain` at work in a daemon.

:class:`Dependents` is the runner's gate (a dependent's fire time is its deadline: run, or record
``blocked`` / ``coalesced`` instead) and starts the dependents after an upstream's success. One
lock orders the two: a decision and the row it leads to (the gate's fire time, the dependency
run's ``running`` row) happen under it, so a deadline and an upstream's success that meet never
run a dependent twice for one business date.

:func:`run_chain_here` is the same chain without a daemon: ``run-job JOB --with-dependents`` in
the command's own process, one step after the other.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from fund_common.runstatus import RunStatus
from fund_scheduler.daemon.chain import (
    CASCADING_TRIGGERS,
    Start,
    at_deadline,
    chain_order,
    chain_steps,
    dependents_due,
    dependents_of,
)
from fund_scheduler.errors import SchedulerError
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.run.runner import ExecutionResult, Runner
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler.store.engine import describe_error, is_database_error

__all__ = ["Dependents", "chain_view", "due_after", "run_chain_here"]

logger = logging.getLogger("scheduler.chain")


def cascades(result: ExecutionResult) -> bool:
    """Whether ``result`` starts its dependents: a success of a scheduled, startup or dependency
    run, or of a manual run asked ``--with-dependents``."""
    if result.status != RunStatus.SUCCESS or result.run_date is None:
        return False
    return result.trigger in CASCADING_TRIGGERS or result.with_dependents


#: What a dependency run inherits of the run that started it (who asked, the backfill).
INHERITED = ("requested_by", "backfill_id")


def inherited(result: ExecutionResult) -> dict[str, Any]:
    """The :data:`INHERITED` part of ``result``'s request, for the dependency runs it starts."""
    return {key: result.asked[key] for key in INHERITED if result.asked.get(key) is not None}


def due_after(
    engine: Engine, specs: Iterable[JobSpec], job_id: str, run_date: date, newer_than: int | None = None
) -> list[Start]:
    """:func:`~fund_scheduler.daemon.chain.dependents_due` after ``job_id`` succeeded for
    ``run_date``, reading that date's rows; each decision not to start is logged.

    ``newer_than``: the execution id of a backfill's run: the dependents' rows up to it are from
    before the backfill, so a date they already ran for runs again (a plain ``--with-dependents``
    chain leaves a step that already succeeded for the date alone)."""
    specs = list(specs)
    dependents = dependents_of(specs, job_id)
    if not dependents:
        return []
    ids = [job_id, *(s.id for s in dependents), *(u for s in dependents for u in s.after)]
    rows = history.rows_for_date(engine, ids, run_date)
    if newer_than is not None:
        for spec in dependents:
            rows[spec.id] = [row for row in rows[spec.id] if row["id"] > newer_than]
    decisions = dependents_due(specs, job_id, rows)
    for decision in decisions:
        if not decision.start:
            logger.info(
                "job=%s not started after job=%s succeeded for %s: %s",
                decision.job_id,
                job_id,
                run_date,
                decision.why,
            )
    return [d for d in decisions if d.start]


class ChainDaemon(Protocol):
    """What :class:`Dependents` uses of :class:`fund_scheduler.daemon.daemon.Daemon`."""

    settings: Settings
    registry: Registry
    engine: Engine

    def run_now(
        self,
        job_id: str,
        trigger: str = "manual",
        *,
        run_date: date | None = None,
        with_dependents: bool = False,
        asked: dict[str, Any] | None = None,
    ) -> Any: ...


class Dependents:
    """The runner's :class:`~fund_scheduler.run.runner.Gate` and the dependency starts of one
    daemon."""

    def __init__(self, daemon: ChainDaemon):
        self._daemon = daemon
        self._lock = threading.Lock()

    def holding(self) -> AbstractContextManager[object]:
        return self._lock

    def hold_back(
        self, spec: JobSpec, scheduled_run_time: datetime, run_date: date
    ) -> tuple[str, str] | None:
        """The deadline rule (:func:`~fund_scheduler.daemon.chain.at_deadline`) for this fire time;
        with the database away the run goes ahead (and is recorded failed as any run then is)."""
        daemon = self._daemon
        try:
            rows = history.rows_for_date(daemon.engine, [spec.id, *spec.after], run_date)
        except Exception as exc:
            if not is_database_error(exc):
                raise
            logger.error(
                "job=%s deadline not checked: database unavailable (%s)", spec.id, describe_error(exc)
            )
            return None
        zone = spec.zone(daemon.settings.timezone)
        return at_deadline(spec, rows[spec.id], rows, run_date, zone)

    def after_run(self, result: ExecutionResult) -> None:
        """Start the dependents ``result`` (a finished run) calls for, for its business date."""
        if not cascades(result):
            return
        assert result.run_date is not None
        daemon = self._daemon
        newer_than = result.execution_id if result.asked.get("backfill_id") else None
        with self._lock:
            specs = daemon.registry.enabled()
            for start in due_after(daemon.engine, specs, result.job_id, result.run_date, newer_than):
                logger.info(
                    "job=%s runs after job=%s succeeded for %s (%s)",
                    start.job_id,
                    result.job_id,
                    result.run_date,
                    start.why,
                )
                try:
                    daemon.run_now(
                        start.job_id,
                        trigger="dependency",
                        run_date=result.run_date,
                        with_dependents=result.with_dependents,
                        asked=inherited(result),
                    )
                except SchedulerError as exc:
                    logger.warning("job=%s dependency run not started: %s", start.job_id, exc)


def run_chain_here(runner: Runner, first: ExecutionResult) -> list[ExecutionResult]:
    """After ``first`` (a run in this process), run its dependents for its business date here,
    one after the other (breadth first: each success may start the next step); the results."""
    results: list[ExecutionResult] = []
    queue = [first]
    while queue:
        done = queue.pop(0)
        if not cascades(done):
            continue
        assert done.run_date is not None
        newer_than = done.execution_id if done.asked.get("backfill_id") else None
        specs = runner.registry.enabled()
        for start in due_after(runner.engine, specs, done.job_id, done.run_date, newer_than):
            result = runner.run(
                start.job_id,
                trigger="dependency",
                run_date=done.run_date,
                with_dependents=done.with_dependents,
                asked=inherited(done),
            )
            results.append(result)
            queue.append(result)
    return results


def chain_view(
    registry: Registry, engine: Engine, default_tz: ZoneInfo, now: datetime
) -> list[dict[str, Any]]:
    """:func:`~fund_scheduler.daemon.chain.chain_steps` of ``registry``'s chains for today's
    business date (``now``'s local date in the default timezone), from the history."""
    specs = list(registry.specs.values())
    steps = chain_order(specs)
    if not steps:
        return []
    today = now.astimezone(default_tz).date()
    triggers = {spec.id: spec.trigger(default_tz) for spec in steps}
    zones = {spec.id: spec.zone(default_tz) for spec in steps}
    rows = history.rows_for_date(engine, [spec.id for spec in steps], today)
    return chain_steps(specs, triggers, zones, rows, today)
