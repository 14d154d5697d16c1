"""A runtime job change, planned and checked before anything is stored.

``job add|set|remove`` (the CLI, the control socket, the HTTP API) each ask for one
:class:`EditRequest`; :func:`plan` turns it, against the registry and the stored changes, into a
:class:`JobEdit`: the job's whole stored change after the edit (``fields`` with the names of
``jobs.toml``; None drops the job's change) and whether the job is ``removed``. :func:`checked`
returns the registry the edit leads to, or raises ConfigError naming each new problem: a change
is refused whole.

The daemon (:meth:`~fund_scheduler.daemon.daemon.Daemon.change_job`) and the CLI without a
running daemon store an edit the same way
(:func:`~fund_scheduler.store.job_changes.save_edit`); this module reads and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from fund_scheduler.errors import ConfigError, SchedulerError
from fund_scheduler.jobs.registry import Registry, apply_changes
from fund_scheduler.jobs.triggers import CRON_FIELDS

__all__ = ["ACTIONS", "SCHEDULE_KEYS", "EditRequest", "JobEdit", "checked", "plan"]

#: What can be asked, each one audited action.
ACTIONS = ("job_add", "job_set", "job_remove")
#: The fields that say when a job runs: a change of one replaces the others.
SCHEDULE_KEYS = frozenset({"cron", "interval", "at", *CRON_FIELDS})


@dataclass(frozen=True)
class EditRequest:
    """What an operator asks: ``action`` (one of :data:`ACTIONS`) of ``job_id`` with ``fields``
    (add, set) or ``reset`` (set: drop every runtime change of the job)."""

    action: str
    job_id: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    reset: bool = False

    def asked(self) -> dict[str, Any]:
        """The request as the audit log keeps a refusal that came before any edit."""
        return {"fields": dict(self.fields), **({"reset": True} if self.reset else {})}


@dataclass(frozen=True)
class JobEdit:
    """One runtime change of ``job_id``: the job's whole change after it (``fields``; None and not
    ``removed``: no change left)."""

    job_id: str
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


def plan(
    request: EditRequest, base: Registry, changes: Mapping[str, Mapping[str, Any]], default_tz: ZoneInfo
) -> JobEdit:
    """The edit ``request`` makes on top of ``base`` (code and ``jobs.toml``) and the stored
    ``changes``. Add: a command job (SchedulerError when the id exists). Set: the fields on top of
    the job's stored change (a field set to None drops its change; a new schedule replaces the
    changed one); ``reset`` drops them all (a removed job comes back). Remove: a job created at
    runtime is forgotten, one of ``base`` is removed by a stored change. UnknownJobError for a job
    nothing defines."""
    job_id = request.job_id
    if request.action not in ACTIONS:
        raise SchedulerError(f"not a job change: {request.action!r}")
    now = apply_changes(base, changes, default_tz)
    if request.action == "job_add":
        if job_id in now.specs:
            raise SchedulerError(f"job {job_id!r} exists; change it with `job set`")
        return JobEdit(job_id, dict(request.fields))
    if request.action == "job_remove":
        now.get(job_id)
        return JobEdit(job_id, None, removed=job_id in base.specs)
    if request.reset:
        if job_id not in changes:
            now.get(job_id)
            raise SchedulerError(f"job {job_id!r} has no runtime change to reset")
        return JobEdit(job_id, None)
    now.get(job_id)
    current = dict((changes.get(job_id) or {}).get("fields", {}))
    if any(key in request.fields for key in SCHEDULE_KEYS):
        current = {k: v for k, v in current.items() if k not in SCHEDULE_KEYS}
    current.update(request.fields)
    merged = {k: v for k, v in current.items() if v is not None}
    return JobEdit(job_id, merged or None)


def checked(
    base: Registry,
    changes: Mapping[str, Mapping[str, Any]],
    edit: JobEdit,
    by: str | None,
    default_tz: ZoneInfo,
) -> Registry:
    """The registry ``edit`` leads to (``base`` with ``changes`` and the edit on top); ConfigError
    naming every problem the edit brings."""
    candidate = apply_changes(base, edit.applied_to(changes, by), default_tz)
    new = [p for p in candidate.problems if p not in base.problems]
    if new:
        raise ConfigError("; ".join(new))
    return candidate
