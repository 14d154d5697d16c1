"""Catch-up: what to do about fire times that passed without a run.

:func:`plan_catch_up` decides (pure; ``now`` is passed in). It serves twice: at start, for the
time the daemon was down (:func:`catch_up_missed` applies it to every stored job and moves each
job's next run time), and in every pass of the scheduler loop for a job found late (a stalled
loop, a forward step of the wall clock: :mod:`fund_scheduler.daemon.loop`). Either way
:func:`record_unrun` writes what did not run.

Policy (coalesce on, the default): of all fire times from the stored next run time up to ``now``,
the latest one that is still within the grace time runs once; every one older than the grace
time is *missed*: recorded in the history with a warning, never silently dropped. Fire times
within grace that are older than the one that runs are merged into it: each is recorded
``coalesced``, its error naming the run that covered it (``covered by the run of <time>``), with
one log line per job. Without coalescing every fire time within grace runs.

A fire time on a day that is no session of the job's exchange calendar (a stored next run time
planned before the calendar learnt of a closure) is neither run nor recorded: it is *skipped*,
logged, and the job moves to its next fire time on a session. Closed days are never ``missed``.

Interval jobs follow the same policy: after downtime one run (the newest fire time within grace),
never one per interval. A one-off job (date trigger) has a single fire time: within grace it runs
once, else it is recorded missed; either way it is then done (removed from the job store, which
keeps it aside as done, see :mod:`fund_scheduler.store.jobstore`), as is any job whose trigger
has no fire time left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from fund_common.runstatus import RunStatus
from fund_scheduler.jobs.triggers import after
from fund_scheduler.store import history

logger = logging.getLogger("scheduler.daemon")

#: At most this many missed fire times of one job are recorded (the newest), with a warning.
MISSED_ROWS_LIMIT = 50
#: A restart's catch-up logs a line per job up to this many jobs with missed or coalesced fire
#: times; beyond, one summary line (each fire time is in the history all the same).
LOG_JOBS_LIMIT = 100

MAX_FIRE_TIMES = 10_000

DOWN = "daemon was not running at the scheduled time (older than the grace time)"


@dataclass(frozen=True)
class CatchUpPlan:
    due: list[datetime]  # every fire time in [stored next run, now]
    run: list[datetime]  # fire times to run now (one when coalescing)
    missed: list[datetime]  # fire times older than the grace time
    next_run_time: datetime | None  # what the job store should hold afterwards
    truncated: bool = False  # more than MAX_FIRE_TIMES passed; the oldest were not enumerated
    coalesced: list[datetime] = field(default_factory=list)  # within grace, merged into run[-1]
    #: Due fire times on a closed day of the job's calendar, with the reason: not run, not recorded.
    skipped: list[tuple[datetime, str]] = field(default_factory=list)
    #: The trigger's first fire time after the last due one (None: it has none, or none was
    #: enumerated): the next run time once ``due`` is done with, found while enumerating.
    after_due: datetime | None = None

    @property
    def moves_only(self) -> bool:
        """True when nothing is due but a skipped fire time: only the next run time changes."""
        return not self.due and bool(self.skipped)


def due_fire_times(
    trigger: Any, first: datetime, now: datetime
) -> tuple[list[datetime], bool, datetime | None]:
    """Fire times of ``trigger`` from ``first`` (a fire time) up to and including ``now``, whether
    there were more than :data:`MAX_FIRE_TIMES` (truncated), and the first fire time after them
    (None when truncated or the trigger has none).

    Compared and stepped in UTC: aware datetimes sharing a tzinfo compare and add by wall time,
    which ignores DST and loops on the repeated hour of a fall-back night.
    """
    times: list[datetime] = []
    fire = first
    limit = now.astimezone(UTC)
    while fire is not None and fire.astimezone(UTC) <= limit:
        if len(times) >= MAX_FIRE_TIMES:
            return times, True, None
        times.append(fire)
        fire = trigger.get_next_fire_time(fire, after(fire))
    return times, False, fire


def plan_catch_up(
    trigger: Any,
    stored_next_run: datetime | None,
    now: datetime,
    grace_seconds: float | None,
    coalesce: bool = True,
) -> CatchUpPlan:
    """Decide which passed fire times run now and which are recorded as missed."""
    if stored_next_run is None or stored_next_run.astimezone(UTC) > now.astimezone(UTC):
        return CatchUpPlan([], [], [], stored_next_run)
    due, truncated, after_due = due_fire_times(trigger, stored_next_run, now)
    skipped = _closed(trigger, due)
    if skipped:
        due = [fire for fire in due if fire not in {when for when, _ in skipped}]
        if not due:
            return CatchUpPlan([], [], [], trigger.get_next_fire_time(stored_next_run, now), skipped=skipped)
        after_due = trigger.get_next_fire_time(due[-1], now)  # the last due one was left out
    if truncated:  # down for ages on a frequent trigger: record what was enumerated, start afresh
        return CatchUpPlan(due, [], due, trigger.get_next_fire_time(None, now), truncated)
    grace = timedelta(seconds=grace_seconds) if grace_seconds is not None else None
    # ``due`` is ascending, so the fire times within grace are a suffix (compared in UTC).
    first_within = next(
        (i for i, t in enumerate(due) if grace is None or now.astimezone(UTC) - t.astimezone(UTC) <= grace),
        len(due),
    )
    missed, within = due[:first_within], due[first_within:]
    run = within[-1:] if coalesce else within
    next_run = run[0] if run else after_due
    coalesced = within[:-1] if coalesce else []
    return CatchUpPlan(due, run, missed, next_run, coalesced=coalesced, skipped=skipped, after_due=after_due)


def _closed(trigger: Any, fire_times: list[datetime]) -> list[tuple[datetime, str]]:
    """The fire times on a closed day of ``trigger``'s calendar, with the reason (none without one)."""
    closure_at = getattr(trigger, "closure_at", None)
    if closure_at is None:
        return []
    reasons = ((fire, closure_at(fire)) for fire in fire_times)
    return [(fire, reason) for fire, reason in reasons if reason is not None]


def log_skipped(job_id: str, plan: CatchUpPlan) -> None:
    """One line per skipped fire time of ``plan`` (a closed day: not run, not recorded)."""
    for fire_time, reason in plan.skipped:
        logger.info(
            "job=%s fire time %s not run: %s (the calendar changed since it was planned); next run %s",
            job_id,
            fire_time.isoformat(),
            reason,
            plan.next_run_time.isoformat() if plan.next_run_time else "none",
        )


#: ``record(job_id, status, scheduled_run_time=..., error=...)``: writes one final history row.
Record = Callable[..., object]


def record_unrun(
    record: Record,
    job_id: str,
    plan: CatchUpPlan,
    why_missed: str,
    covering: list[datetime] | None = None,
    *,
    log: bool = True,
) -> None:
    """Record ``plan``'s missed fire times (the newest :data:`MISSED_ROWS_LIMIT`) and its
    coalesced ones (each, ``covered by the run of <covering>``), with one log line per kind
    (none without ``log``)."""
    for fire_time in plan.missed[-MISSED_ROWS_LIMIT:]:
        record(job_id, RunStatus.MISSED, scheduled_run_time=fire_time, error=why_missed)
    if plan.missed and log:
        more = len(plan.missed) - MISSED_ROWS_LIMIT
        logger.warning(
            "job=%s missed %d run(s) (%s; oldest %s, newest %s)%s",
            job_id,
            len(plan.missed),
            why_missed,
            plan.missed[0].isoformat(),
            plan.missed[-1].isoformat(),
            f"; only the newest {MISSED_ROWS_LIMIT} recorded" if more > 0 else "",
        )
    covered_by = (covering or plan.run)[-1:]
    if not plan.coalesced or not covered_by:
        return
    note = f"covered by the run of {covered_by[0].isoformat()}"
    for fire_time in plan.coalesced:
        record(job_id, RunStatus.COALESCED, scheduled_run_time=fire_time, error=note)
    if not log:
        return
    logger.warning(
        "job=%s %d fire time(s) coalesced into the run of %s (oldest %s)",
        job_id,
        len(plan.coalesced),
        covered_by[0].isoformat(),
        plan.coalesced[0].isoformat(),
    )


def catch_up_missed(
    scheduler: Any,
    engine: Engine,
    now: datetime,
    on_finished: Callable[[dict], None] | None = None,
) -> dict[str, int]:
    """Apply :func:`plan_catch_up` to every stored job of ``scheduler``; record missed runs; return
    the number missed per job.

    In bulk, so that a restart after long downtime with thousands of jobs takes seconds, not
    minutes, before the scheduler resumes: every job is planned first, then the missed and
    coalesced rows are written in one transaction (:func:`~fund_scheduler.store.history.record_many`:
    a fire time another daemon recorded is left out) and the new next run times stored in
    another (a job store's ``update_next_run_times``; job by job for a store without it).
    ``on_finished`` (e.g. :meth:`Runner.notify_finished`) then gets each recorded row.
    """
    counts: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    moved: list[Any] = []
    finished: list[str] = []

    def record(job_id: str, status: RunStatus, *, scheduled_run_time: datetime, error: str) -> None:
        rows.append(
            {"job_id": job_id, "status": status, "scheduled_run_time": scheduled_run_time, "error": error}
        )

    plans = [
        (job, plan_catch_up(job.trigger, job.next_run_time, now, job.misfire_grace_time, job.coalesce))
        for job in scheduler.get_jobs()
    ]
    late = [job.id for job, plan in plans if plan.missed or plan.coalesced]
    log_each = len(late) <= LOG_JOBS_LIMIT
    if not log_each:
        logger.warning(
            "%d jobs have fire times that passed while the daemon was down (%s, ...): each is recorded "
            "in the history as missed or coalesced (`history --status missed`)",
            len(late),
            ", ".join(late[:20]),
        )
    for job, plan in plans:
        log_skipped(job.id, plan)
        if plan.moves_only:
            job.next_run_time = plan.next_run_time
            moved.append(job)
            continue
        if not plan.due:
            continue
        record_unrun(record, job.id, plan, DOWN, log=log_each)
        if plan.run:
            logger.info(
                "job=%s run of %s is within the grace time: running it now", job.id, plan.run[-1].isoformat()
            )
        counts[job.id] = len(plan.missed)
        if plan.next_run_time is None:
            logger.info("job=%s has no fire time left: done", job.id)
            finished.append(job.id)
        else:
            job.next_run_time = plan.next_run_time
            moved.append(job)
    written = history.record_many(engine, rows, now)
    _store_next_run_times(scheduler, moved)
    for job_id in finished:
        scheduler.remove_job(job_id)
    if on_finished is not None:
        for row in written:
            on_finished(row)
    return counts


def _store_next_run_times(scheduler: Any, jobs: list[Any]) -> None:
    """Store ``jobs``' next run times, in one transaction per job store that can."""
    by_store: dict[str, list[Any]] = {}
    for job in jobs:
        by_store.setdefault(job._jobstore_alias, []).append(job)
    for alias, stored in by_store.items():
        store_next_run_times(scheduler._lookup_jobstore(alias), stored)


def store_next_run_times(store: Any, jobs: list[Any]) -> None:
    """Store the next run times set on ``jobs`` in ``store``: in one transaction when it can
    (:meth:`~fund_scheduler.store.jobstore.JsonJobStore.update_next_run_times`), else one update
    each."""
    if hasattr(store, "update_next_run_times"):
        store.update_next_run_times(jobs)
        return
    for job in jobs:
        store.update_job(job)
