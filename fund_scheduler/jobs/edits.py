"""A runtime job change, planned and checked before anything is stored.

``job add|set|remove`` (the CLI, the control socket, the HTTP API) each become one :class:`JobEdit`:
the job's whole stored change after the edit (``fields`` with the names of ``jobs.toml``; None
drops the job's change) and whether the job is ``removed``. :func:`checked` applies the edit to
every stored change and returns the registry it leads to, or raises ConfigError naming each new
problem: a change is refused whole.

The daemon (:meth:`~fund_scheduler.daemon.daemon.Daemon.change_job`) and the CLI without a
running daemon store an edit the same way; this module reads and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fund_scheduler.errors import ConfigError, SchedulerError
from fund_scheduler.jobs.registry import Registry, apply_changes
from fund_scheduler.jobs.triggers import CRON_FIELDS

__all__ = ["SCHEDULE_KEYS", "JobEdit", "checked", "plan_add", "plan_remove", "plan_set"]

#: The fields that say when a job runs: a change of one replaces the others.
SCHEDULE_KEYS = frozenset({"cron", "interval", "at", *CRON_FIELDS})


@dataclass(frozen=True)
class JobEdit:
    """One runtime change of ``job_id``: ``action`` (``job_add``, ``job_set``, ``job_remove``),
    the job's whole change after it (``fields``; None and not ``removed``: no change left)."""

    job_id: str
    action: str
    fields: dict[str, Any] | None
    removed: bool = False

    def applied_to(
        self, changes: Mapping[str, Mapping[str, Any]], by: str | None
    ) -> dict[str, dict[str, Any]]:
        """``changes`` (the stored ones, by job id) with this edit made by ``by``."""
        result = {job_id: dict(change) for job_id, change in changes.items()}
        if self.fields is None and not self.removed:
            result.pop(self.job_id, None)
        else:
            result[self.job_id] = {
                "fields": dict(self.fields or {}),
                "removed": self.removed,
                "changed_by": by,
            }
        return result


def plan_add(registry: Registry, job_id: str, fields: Mapping[str, Any]) -> JobEdit:
    """Create command job ``job_id`` from ``fields``; SchedulerError when the id exists."""
    if job_id in registry.specs:
        raise SchedulerError(f"job {job_id!r} exists; change it with `job set`")
    return JobEdit(job_id, "job_add", dict(fields))


def plan_set(
    registry: Registry,
    changes: Mapping[str, Mapping[str, Any]],
    job_id: str,
    fields: Mapping[str, Any],
    *,
    reset: bool = False,
) -> JobEdit:
    """Change ``job_id``'s ``fields`` on top of its stored change (a field set to None drops its
    change; a new schedule replaces the changed one); ``reset`` drops every change of the job (a
    removed job comes back). UnknownJobError for a job nothing defines."""
    if reset:
        if job_id not in changes:
            registry.get(job_id)
            raise SchedulerError(f"job {job_id!r} has no runtime change to reset")
        return JobEdit(job_id, "job_set", None)
    registry.get(job_id)
    current = dict((changes.get(job_id) or {}).get("fields", {}))
    if any(key in fields for key in SCHEDULE_KEYS):
        current = {k: v for k, v in current.items() if k not in SCHEDULE_KEYS}
    current.update(fields)
    merged = {k: v for k, v in current.items() if v is not None}
    return JobEdit(job_id, "job_set", merged or None)


def plan_remove(registry: Registry, base: Registry, job_id: str) -> JobEdit:
    """Delete ``job_id``: one created at runtime is forgotten, one of the code or ``jobs.toml``
    (in ``base``) is removed by a stored change."""
    registry.get(job_id)
    return JobEdit(job_id, "job_remove", None, removed=job_id in base.specs)


def checked(
    base: Registry,
    changes: Mapping[str, Mapping[str, Any]],
    edit: JobEdit,
    by: str | None,
    default_tz: ZoneInfo,
) -> tuple[Registry, dict[str, dict[str, Any]]]:
    """The registry ``edit`` leads to (``base`` with ``changes`` and the edit on top) and the
    changes it stores; ConfigError naming every problem the edit brings."""
    after = edit.applied_to(changes, by)
    candidate = apply_changes(base, after, default_tz)
    new = [p for p in candidate.problems if p not in base.problems]
    if new:
        raise ConfigError("; ".join(new))
    return candidate, after
