"""Backfills: one run of a job per date its schedule fires on (the sessions of its exchange
calendar) in a range of past dates, in date order, each with its chain when asked.

:meth:`Backfills.plan` checks the request (dates, parameters) and stores the backfill with one
``backfill`` request per date in ``run_requests`` (or, for a dry run, only lists the dates). The
active daemon's request thread calls :meth:`Backfills.advance`: for each running backfill it
settles the date under way and starts the next one, so a backfill lives in the database and a
restart (or a fail-over) resumes it where it was:

* a date is under way while its run, a run of its chain or a pending retry of them is going
  (the runs this daemon started are also counted in memory until their dependents have started,
  so the gap between a run's end and its dependents' start is never taken for the end);
* a date is ``done`` when the newest row of every job that ran for it in this backfill is a
  success; ``failed`` otherwise, and the backfill stops there (its later dates ``cancelled``)
  unless ``continue_on_failure``; a run cut short by a daemon stop (``interrupted``) runs again;
* the next date starts when its job has room (``max_instances``): queued, never ``skipped``.

Runs carry trigger ``backfill``, the backfill's id, its parameters and who asked; their chain
inherits the id. :meth:`Backfills.cancel` cancels the dates not started and ends the runs going.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import date, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from fund_common.i18n import N_
from fund_common.runstatus import UNFINISHED, RunStatus
from fund_scheduler.daemon.chain import first_fire_on
from fund_scheduler.daemon.dispatcher import DispatchDaemon, Refused, start_request
from fund_scheduler.errors import SchedulerError
from fund_scheduler.jobs.params import ParamError, check_run_date, validate_params
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.settings import Settings
from fund_scheduler.store import history, requests

__all__ = ["MAX_DAYS", "Backfills", "backfill_dates"]

logger = logging.getLogger("scheduler.backfill")

MAX_DAYS = 3660  # the longest range a backfill may cover (ten years)
#: The statuses that settle a job's part of a date as fine.
SETTLED_OK = frozenset({RunStatus.SUCCESS, RunStatus.COALESCED})


def backfill_dates(spec: JobSpec, default_tz: ZoneInfo, start: date, end: date) -> list[date]:
    """The dates from ``start`` to ``end`` (inclusive) on which ``spec``'s schedule fires (with an
    exchange calendar: its sessions)."""
    trigger = spec.trigger(default_tz)
    zone = spec.zone(default_tz)
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [day for day in days if first_fire_on(trigger, day, zone) is not None]


class BackfillDaemon(DispatchDaemon, Protocol):
    """What :class:`Backfills` uses of :class:`fund_scheduler.daemon.daemon.Daemon`."""

    settings: Settings
    registry: Registry

    def cancel_execution(self, execution_id: int, by: str) -> bool: ...


class Backfills:
    """Plans, advances, describes and cancels the backfills of one daemon."""

    def __init__(self, daemon: BackfillDaemon):
        self._daemon = daemon
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}  # by backfill id: runs whose dependents may start

    # -- asking ---------------------------------------------------------------------------------
    def plan(
        self,
        job_id: str,
        start: date,
        end: date,
        *,
        params: Mapping[str, Any] | None = None,
        with_dependents: bool = False,
        continue_on_failure: bool = False,
        dry_run: bool = False,
        requested_by: str | None = None,
    ) -> dict[str, Any]:
        """Store a backfill of ``job_id`` over ``start``..``end`` (nothing stored for a dry
        run); ``{"backfill_id", "job_id", "run_dates", "params", ...}``. Raises UnknownJobError,
        ParamError (a bad range or parameter) or SchedulerError (a disabled job, no date)."""
        daemon = self._daemon
        spec = daemon.registry.get(job_id)
        if not spec.enabled:
            raise SchedulerError(N_("job {job!r} is disabled: {why}"), job=job_id, why=spec.why_disabled)
        if start > end:
            raise ParamError(
                N_("job {job}: --from {start} is after --to {end}"), job=job_id, start=start, end=end
            )
        zone = spec.zone(daemon.settings.timezone)
        check_run_date(job_id, end, daemon.clock().astimezone(zone).date())
        if (end - start).days >= MAX_DAYS:
            raise ParamError(
                N_("job {job}: a backfill covers at most {days} days"), job=job_id, days=MAX_DAYS
            )
        values = validate_params(spec.params, params, job_id)
        dates = backfill_dates(spec, daemon.settings.timezone, start, end)
        if not dates:
            raise SchedulerError(
                N_("job {job}: its schedule fires on no date from {start} to {end}"),
                job=job_id,
                start=start,
                end=end,
            )
        answer = {
            "backfill_id": None,
            "job_id": job_id,
            "run_dates": dates,
            "params": values,
            "with_dependents": with_dependents,
            "continue_on_failure": continue_on_failure,
            "dry_run": dry_run,
        }
        if dry_run:
            return answer
        backfill_id = f"bf-{daemon.clock():%Y%m%d}-{secrets.token_hex(4)}"
        requests.add_backfill(
            daemon.engine,
            backfill_id,
            job_id=job_id,
            run_dates=dates,
            now=daemon.clock(),
            params=values,
            with_dependents=with_dependents,
            continue_on_failure=continue_on_failure,
            requested_by=requested_by,
        )
        logger.info(
            "backfill %s of job=%s: %d run(s) from %s to %s asked by %s",
            backfill_id,
            job_id,
            len(dates),
            dates[0],
            dates[-1],
            requested_by or "the daemon",
        )
        return {**answer, "backfill_id": backfill_id}

    def track(self, asked: Mapping[str, Any] | None, done: Future) -> None:
        """Count a run of a backfill as in flight until ``done``'s callbacks (those added before
        this one: the dependents it starts) have run."""
        backfill_id = (asked or {}).get("backfill_id")
        if not backfill_id:
            return
        with self._lock:
            self._in_flight[backfill_id] = self._in_flight.get(backfill_id, 0) + 1

        def landed(_future: Future) -> None:
            with self._lock:
                self._in_flight[backfill_id] -= 1

        done.add_done_callback(landed)

    def cancel(self, backfill_id: str, by: str) -> dict[str, Any]:
        """Cancel a running backfill: its dates not started, then its runs going (process group
        ended). Raises SchedulerError for an unknown or finished backfill."""
        daemon = self._daemon
        found = requests.get_backfill(daemon.engine, backfill_id)
        if found is None:
            raise SchedulerError(N_("no backfill {id!r}"), id=backfill_id)
        cancelled = requests.cancel_backfill(daemon.engine, backfill_id, daemon.clock(), by)
        if cancelled is None:
            raise SchedulerError(N_("backfill {id} already {state}"), id=backfill_id, state=found["state"])
        ended = [
            row["id"]
            for row in history.rows_of_backfill(daemon.engine, backfill_id)
            if row["status"] in UNFINISHED and daemon.cancel_execution(row["id"], by)
        ]
        logger.warning(
            "backfill %s cancelled by %s: %d date(s) not started, %d run(s) ended",
            backfill_id,
            by,
            cancelled,
            len(ended),
        )
        return {"backfill_id": backfill_id, "cancelled_dates": cancelled, "cancelled_executions": ended}

    # -- reading --------------------------------------------------------------------------------
    def progress(self, backfill_id: str) -> dict[str, Any] | None:
        """The backfill's row with its dates (state, execution, status), counts and an ETA
        (seconds: the mean duration of its settled dates times the dates left)."""
        engine = self._daemon.engine
        found = requests.get_backfill(engine, backfill_id)
        if found is None:
            return None
        dates = [r for r in requests.requests_of(engine, backfill_id) if r["trigger"] == "backfill"]
        rows = history.rows_of_backfill(engine, backfill_id)
        statuses = {row["id"]: row for row in rows}
        runs = []
        for request in dates:
            row = statuses.get(request["execution_id"]) if request["execution_id"] else None
            runs.append(
                {
                    "run_date": request["run_date"],
                    "state": request["state"],
                    "execution_id": request["execution_id"],
                    "status": row["status"] if row else None,
                    "note": request["note"],
                }
            )
        counts = {state: sum(1 for r in dates if r["state"] == state) for state in requests.REQUEST_STATES}
        settled = counts["done"] + counts["failed"]
        left = counts["pending"] + counts["started"]
        eta = _mean_step(rows, dates) * left if found["state"] == "running" and settled else None
        return {**found, "runs": runs, "counts": counts, "settled": settled, "eta_seconds": eta}

    # -- the request thread's pass ---------------------------------------------------------------
    def advance(self) -> int:
        """Settle and start the dates of every running backfill; how many runs started."""
        return sum(self._advance(backfill) for backfill in requests.running_backfills(self._daemon.engine))

    def _advance(self, backfill: dict[str, Any]) -> int:
        daemon = self._daemon
        engine = daemon.engine
        backfill_id = backfill["id"]
        dates = [r for r in requests.requests_of(engine, backfill_id) if r["trigger"] == "backfill"]
        current = next((r for r in dates if r["state"] == "started"), None)
        if current is not None:
            settled = self._settle(backfill, current)
            if settled is None:
                return 0  # still under way
            if settled == "failed" and not backfill["continue_on_failure"]:
                self._stop_at(backfill, current)
                return 0
        dates = [r for r in requests.requests_of(engine, backfill_id) if r["trigger"] == "backfill"]
        following = next((r for r in dates if r["state"] == "pending"), None)
        if following is not None:
            return self._start(backfill, following)
        if not any(r["state"] == "started" for r in dates):
            failed = [r for r in dates if r["state"] == "failed"]
            state = "failed" if failed else "done"
            error = (
                f"{len(failed)} date(s) failed: {', '.join(str(r['run_date']) for r in failed)}"
                if failed
                else None
            )
            if requests.finish_backfill(engine, backfill_id, state, daemon.clock(), error=error):
                logger.info("backfill %s %s%s", backfill_id, state, f": {error}" if error else "")
        return 0

    def _settle(self, backfill: dict[str, Any], current: dict[str, Any]) -> str | None:
        """``done``/``failed`` for the date under way once it is over (recorded), None while it
        goes on (or when it was released to run again)."""
        daemon = self._daemon
        engine, backfill_id = daemon.engine, backfill["id"]
        with self._lock:
            if self._in_flight.get(backfill_id, 0) > 0:
                return None
        rows = [
            r for r in history.rows_of_backfill(engine, backfill_id) if r["run_date"] == current["run_date"]
        ]
        if any(r["status"] in UNFINISHED for r in rows):
            return None
        if any(r["backfill_id"] == backfill_id for r in requests.pending_retries(engine)):
            return None
        newest: dict[str, dict[str, Any]] = {}
        for row in rows:  # newest first
            newest.setdefault(row["job_id"], row)
        if not newest or any(r["status"] == RunStatus.INTERRUPTED for r in newest.values()):
            # never started, or cut short by a daemon stop: the date runs again
            requests.release(engine, current["id"], daemon.clock(), note="run again after a daemon stop")
            return None
        bad = [r for r in newest.values() if r["status"] not in SETTLED_OK]
        state = "failed" if bad else "done"
        note = "; ".join(f"{r['job_id']} {r['status']} (execution {r['id']})" for r in bad) or None
        requests.set_state(engine, current["id"], "started", state, daemon.clock(), note)
        logger.log(
            logging.ERROR if bad else logging.INFO,
            "backfill %s: %s %s%s",
            backfill_id,
            current["run_date"],
            state,
            f": {note}" if note else "",
        )
        return state

    def _stop_at(self, backfill: dict[str, Any], failed: dict[str, Any]) -> None:
        daemon = self._daemon
        error = f"stopped at the failure of {failed['run_date']} (--continue-on-failure goes on)"
        now = daemon.clock()
        for request in requests.requests_of(daemon.engine, backfill["id"]):
            if request["trigger"] == "backfill":
                requests.cancel_request(daemon.engine, request["id"], now, f"backfill {error}")
        requests.finish_backfill(daemon.engine, backfill["id"], "failed", now, error=error)
        logger.error("backfill %s %s", backfill["id"], error)

    def _start(self, backfill: dict[str, Any], request: dict[str, Any]) -> int:
        daemon = self._daemon
        try:
            execution_id = start_request(daemon, request, "backfill")
        except Refused as refused:  # the job is gone or disabled: the date fails
            note = f"not started: {refused}"
            requests.set_state(daemon.engine, request["id"], "started", "failed", daemon.clock(), note)
            logger.error("backfill %s: %s %s", backfill["id"], request["run_date"], note)
            if not backfill["continue_on_failure"]:
                self._stop_at(backfill, request)
            return 0
        if execution_id is None:
            return 0
        logger.info(
            "backfill %s: job=%s for %s started as execution %s",
            backfill["id"],
            request["job_id"],
            request["run_date"],
            execution_id,
        )
        return 1


def _mean_step(rows: list[dict[str, Any]], dates: list[dict[str, Any]]) -> float:
    """The mean seconds a settled date took: from its first row's start to its last row's end."""
    spans = []
    for request in dates:
        if request["state"] not in ("done", "failed"):
            continue
        mine = [
            r for r in rows if r["run_date"] == request["run_date"] and r["finished_at"] and r["started_at"]
        ]
        if mine:
            spans.append(
                (max(r["finished_at"] for r in mine) - min(r["started_at"] for r in mine)).total_seconds()
            )
    return sum(spans) / len(spans) if spans else 0.0
