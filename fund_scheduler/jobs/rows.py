"""The one job-row view: a job's spec, its stored state (next run, paused) and its last result,
as one JSON-able dict. The CLI (``jobs``, ``status``), the control socket and the HTTP API all
show these rows.

A row has ``id``, ``name``, ``trigger`` (the technical line of
:func:`~fund_scheduler.jobs.triggers.describe`), ``schedule`` (the same in words, in the language in
effect: :func:`~fund_scheduler.jobs.schedule_words.in_words`), ``timezone``, ``enabled``,
``disabled_reason``, ``next_run_time``, ``paused``, ``target``, ``max_instances``, ``timeout``,
``after``, ``after_mode``, ``on_late``, ``dependents`` (the jobs with this one in their ``after``),
``last_execution`` (the newest history row without its output) and, flattened from it for the
CLI's JSON, ``last_status``, ``last_started_at``, ``last_error``; ``done_at``: a one-off job's
fire time once it is done (None otherwise; its ``next_run_time`` is then None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fund_common.i18n import gettext as _
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.schedule_words import in_words
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.jobs.triggers import describe

__all__ = ["job_rows", "state_word"]


def job_rows(
    registry: Registry,
    stored: Iterable[Any],
    last: Mapping[str, Mapping[str, Any]],
    default_tz: ZoneInfo,
    done: Mapping[str, Mapping[str, Any]] | None = None,
    only: str | None = None,
) -> list[dict[str, Any]]:
    """A row per job of ``registry`` and of ``stored`` (APScheduler jobs), sorted by id
    (``only``: the row of that one job, its dependents still found among all the jobs).

    The stored job (what the scheduler runs) gives the name, trigger, next run and paused state;
    the spec gives the rest and stands in for a job that is not stored (disabled, or no job
    store yet). ``last`` maps a job id to its newest history row; ``done`` the one-off jobs that
    are done to their ``at`` (:meth:`~fund_scheduler.store.jobstore.JsonJobStore.done_jobs`).
    """
    done = done or {}
    dependents: dict[str, list[str]] = {}  # upstream -> the jobs after it (one pass, not one per job)
    for spec in registry.specs.values():
        for upstream in spec.after:
            dependents.setdefault(upstream, []).append(spec.id)
    rows: dict[str, dict[str, Any]] = {}
    specs = registry.specs.values() if only is None else [s for s in (registry.specs.get(only),) if s]
    for spec in specs:
        trigger = spec.trigger(default_tz)
        rows[spec.id] = {
            "id": spec.id,
            "name": _shown_name(spec.name),
            "trigger": describe(trigger),
            "schedule": in_words(trigger),
            "timezone": str(spec.zone(default_tz)),
            "enabled": spec.enabled,
            "disabled_reason": spec.disabled_reason,
            "next_run_time": None,
            "paused": False,
            "target": spec.target,
            "max_instances": spec.max_instances,
            "timeout": spec.timeout,
            "after": list(spec.after),
            "after_mode": spec.after_mode,
            "on_late": spec.on_late,
            "dependents": sorted(dependents.get(spec.id, ())),
            "done_at": _done_at(spec, done.get(spec.id), default_tz),
            "retries": spec.retries,
            "params": [
                {"name": p.name, "type": p.type, "default": p.default, "help": p.help, "required": p.required}
                for p in spec.params
            ],
            "sources": _sources(spec),
        }
    for job in stored:
        row = rows.setdefault(
            job.id,
            {"id": job.id, "enabled": True, "disabled_reason": None, "target": None, "timeout": None},
        )
        row["done_at"] = None
        row.update(
            name=_shown_name(job.name),
            trigger=describe(job.trigger),
            schedule=in_words(job.trigger),
            timezone=str(getattr(job.trigger, "timezone", default_tz)),
            next_run_time=job.next_run_time,
            paused=job.next_run_time is None,
            max_instances=job.max_instances,
        )
    for job_id, row in rows.items():
        newest = last.get(job_id)
        summary = None if newest is None else {k: v for k, v in newest.items() if k != "output_tail"}
        row["last_execution"] = summary
        row["last_status"] = summary["status"] if summary else None
        row["last_started_at"] = summary["started_at"] if summary else None
        row["last_error"] = summary["error"] if summary else None
        row["state"] = state_word(row)
    return [rows[k] for k in sorted(rows)]


def _done_at(spec: JobSpec, done: Mapping[str, Any] | None, default_tz: ZoneInfo) -> datetime | None:
    """The fire time of ``spec``'s one-off when the job store has it done for that very time."""
    if done is None or spec.at is None:
        return None
    at = spec.at if spec.at.tzinfo is not None else spec.at.replace(tzinfo=spec.zone(default_tz))
    return done["at"] if done["at"] == at else None


def _sources(spec: JobSpec) -> dict[str, str]:
    """Where each field that is not the code's comes from: ``jobs.toml`` or ``database (by WHO)``
    (a runtime change; it wins over jobs.toml)."""
    sources = dict.fromkeys(spec.overridden, "jobs.toml")
    sources.update(dict.fromkeys(spec.changed, f"database (by {spec.changed_by or 'the daemon'})"))
    return dict(sorted(sources.items()))


def _shown_name(name: str | None) -> str | None:
    """A job's name in the reader's language: a bundled job's is in the catalogue (marked with
    ``N_``), any other as given (gettext of an unknown text is the text itself)."""
    return _(name) if name else name


def state_word(row: Mapping[str, Any]) -> str:
    """``disabled``, ``done`` (a one-off whose time has come), ``paused`` or ``active``."""
    if not row.get("enabled", True):
        return "disabled"
    if row.get("done_at"):
        return "done"
    return "paused" if row.get("paused") else "active"
