"""Bring the persisted job store in line with the registry's specs at start (and on reload).

New specs are added; a stored job whose trigger or defaults differ from its spec is replaced
(its next run recomputed from now); stored jobs no longer defined, or disabled, are removed and
logged. A paused job stays paused whatever changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.base import BaseScheduler

from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.jobs.triggers import trigger_to_dict
from fund_scheduler.store.jobstore import JOB_FUNC

logger = logging.getLogger("scheduler.reconcile")


@dataclass
class ReconcileReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def job_options(spec: JobSpec, default_grace: int) -> dict[str, Any]:
    return {
        "name": spec.name,
        "misfire_grace_time": spec.misfire_grace_time or default_grace,
        "coalesce": spec.coalesce,
        "max_instances": spec.max_instances,
        "executor": "default",
    }


def reconcile(scheduler: BaseScheduler, registry: Registry, default_grace: int) -> ReconcileReport:
    """Apply the registry to ``scheduler``'s job store; return what changed."""
    report = ReconcileReport()
    stored = {job.id: job for job in scheduler.get_jobs()}
    wanted = {spec.id: spec for spec in registry.enabled()}
    for job_id, spec in wanted.items():
        trigger = spec.trigger(scheduler.timezone)
        options = job_options(spec, default_grace)
        job = stored.get(job_id)
        if job is None:
            scheduler.add_job(JOB_FUNC, trigger=trigger, id=job_id, replace_existing=True, **options)
            report.added.append(job_id)
            logger.info("job=%s added: %s", job_id, spec.name)
            continue
        changed = [k for k, v in options.items() if getattr(job, k) != v]
        trigger_changed = trigger_to_dict(job.trigger) != trigger_to_dict(trigger)
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
    for job_id in stored.keys() - wanted.keys():
        scheduler.remove_job(job_id)
        report.removed.append(job_id)
        defined = registry.specs.get(job_id)
        why = f"disabled ({defined.why_disabled})" if defined else "no longer defined"
        logger.warning("job=%s removed from the job store: %s", job_id, why)
    return report
