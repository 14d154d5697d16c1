"""Bring the persisted job store in line with the registry's specs at start (and on reload).

New specs are added; a stored job whose trigger or defaults differ from its spec is replaced
(its next run recomputed from now); a paused job stays paused whatever changed. A stored job no
longer defined (its module gone or failing to import) or disabled is *set aside*, never deleted:
its state is kept in the job store's set-aside table with the reason, and when its definition
returns it is restored, paused if it was paused. Only the operator's ``forget-job`` deletes it.

A one-off job (``at``) whose time has come is *done*: the job store keeps it aside as such
(:meth:`~fund_scheduler.store.jobstore.JsonJobStore.done_jobs`) and it is not added again while
its spec names the same time; a new ``at`` makes it a new one-off. An interval job keeps its
stored anchor (its rhythm) while its interval, timezone and limits are unchanged.

:func:`job_store_problems` says what an operator must look at: broken job modules, jobs set
aside because nothing defines them, stored rows rejected as unreadable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.base import BaseScheduler

from fund_common.envreader import Message
from fund_common.i18n import N_
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.jobs.triggers import same_schedule
from fund_scheduler.store.jobstore import DONE, JOB_FUNC, JsonJobStore

logger = logging.getLogger("scheduler.reconcile")

#: How a set-aside reason starts when the job is merely disabled (not an operator problem).
DISABLED = "disabled"


@dataclass
class ReconcileReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    #: One-off jobs whose time has come: left out.
    done: list[str] = field(default_factory=list)

    def summary(self) -> str:
        names = ("added", "updated", "unchanged", "set_aside", "restored") + (("done",) if self.done else ())
        return ", ".join(f"{len(getattr(self, name))} {name.replace('_', ' ')}" for name in names)


def job_options(spec: JobSpec, default_grace: int) -> dict[str, Any]:
    return {
        "name": spec.name,
        "misfire_grace_time": spec.misfire_grace_time or default_grace,
        "coalesce": spec.coalesce,
        "max_instances": spec.max_instances,
        "executor": "default",
    }


def reconcile(
    scheduler: BaseScheduler, store: JsonJobStore, registry: Registry, default_grace: int
) -> ReconcileReport:
    """Apply the registry to ``scheduler``'s job ``store``; return what changed."""
    report = ReconcileReport()
    stored = {job.id: job for job in scheduler.get_jobs()}
    wanted = {spec.id: spec for spec in registry.enabled()}
    done = store.done_jobs()
    for job_id, spec in wanted.items():
        trigger = spec.trigger(scheduler.timezone)
        options = job_options(spec, default_grace)
        job = stored.get(job_id)
        if job is None:
            if _is_done(done.get(job_id), trigger):
                report.done.append(job_id)
                continue
            kept = store.take_back(job_id)
            scheduler.add_job(JOB_FUNC, trigger=trigger, id=job_id, replace_existing=True, **options)
            if kept is None or str(kept["reason"]).startswith(DONE):
                report.added.append(job_id)
                logger.info("job=%s added: %s", job_id, spec.name)
                continue
            if kept["paused"]:
                scheduler.pause_job(job_id)
            report.restored.append(job_id)
            logger.warning(
                "job=%s restored from the set-aside jobs (%s since %s)%s",
                job_id,
                kept["reason"],
                kept["set_aside_at"],
                "; stays paused" if kept["paused"] else "",
            )
            continue
        changed = [k for k, v in options.items() if getattr(job, k) != v]
        trigger_changed = not same_schedule(job.trigger, trigger)
        if not changed and not trigger_changed:
            report.unchanged.append(job_id)
            continue
        paused = job.next_run_time is None
        if changed:
            scheduler.modify_job(job_id, **options)
        if trigger_changed:
            scheduler.reschedule_job(job_id, trigger=trigger)
            if paused:
                scheduler.pause_job(job_id)
        report.updated.append(job_id)
        logger.info(
            "job=%s updated (%s)%s",
            job_id,
            ", ".join(changed + (["trigger"] if trigger_changed else [])),
            "; stays paused" if paused else "",
        )
    for job_id in sorted(stored.keys() - wanted.keys()):
        why = _why_not_wanted(registry, job_id)
        with _store_lock(scheduler):  # not under a loop pass that is about to update the job
            store.set_aside(job_id, why)
        report.set_aside.append(job_id)
        logger.warning(
            "job=%s set aside: %s; its state is kept and restored when it is defined again "
            "(`forget-job %s` deletes it)",
            job_id,
            why,
            job_id,
        )
    return report


def _is_done(done: Mapping[str, Any] | None, trigger: Any) -> bool:
    """True when ``done`` (the job store's done entry of a job) is the one-off ``trigger`` fires."""
    run_date = getattr(trigger, "run_date", None)
    return done is not None and run_date is not None and done["at"] == run_date


def _why_not_wanted(registry: Registry, job_id: str) -> str:
    defined: JobSpec | None = registry.specs.get(job_id)
    if defined is not None:
        return f"{DISABLED} ({defined.why_disabled})"
    if registry.broken:
        return f"not defined: job module(s) {', '.join(registry.broken)} failed to import"
    return "no longer defined by any job module"


def _store_lock(scheduler: BaseScheduler) -> Any:
    """APScheduler 3.11's lock around its job stores (held by each loop pass)."""
    return scheduler._jobstores_lock


def job_store_problems(
    registry: Registry,
    set_aside: Iterable[Mapping[str, Any]],
    rejected: Iterable[Mapping[str, Any]],
) -> list[str]:
    """One line per thing an operator must act on (``status`` warnings, ``/health`` degraded):
    broken job modules, jobs set aside that nothing defines, stored rows rejected as unreadable.
    A job set aside because it is disabled is not one (``status`` lists it as disabled), nor a
    one-off that is done. The set-aside and rejected lines are :class:`~fund_common.envreader.Message`
    (English ``str``; ``shown()`` in the language in effect)."""
    lines: list[str] = list(registry.broken_lines())
    for row in set_aside:
        if row["id"] in registry.specs or str(row["reason"]).startswith((DISABLED, DONE)):
            continue
        if row.get("paused"):
            template = N_(
                "job {job} set aside (paused): {reason}; define it again to restore it, or `forget-job {job}`"
            )
        else:
            template = N_(
                "job {job} set aside: {reason}; define it again to restore it, or `forget-job {job}`"
            )
        lines.append(Message(template, job=row["id"], reason=row["reason"]))
    for row in rejected:
        lines.append(
            Message(
                N_(
                    "stored job {job} rejected as unreadable: {reason} "
                    "(kept in scheduler_jobs_rejected; `forget-job {job}` clears it)"
                ),
                job=row["id"],
                reason=row["reason"],
            )
        )
    return lines
