"""``/health``: is the daemon doing its job?

In order: ``unhealthy`` when the scheduler's loop thread is dead (checked on the thread, so a
crashed loop is noticed while the process lives) or its heartbeat is older than
:data:`HEARTBEAT_STALE_SECONDS` (the loop passes at least once a minute); ``degraded`` when
``SELECT 1`` fails or takes longer than the check's limit (the daemon stays up and recovers by
itself when the database is back), a dashboard panel contributed by a job package raises, or
the job store needs the operator (a job module that fails to import, a job set aside because
nothing defines it, a stored row rejected as unreadable), or an exchange calendar has a problem
(not loaded: weekdays used; its known range ends within 60 days), or a log cannot be written
(``scheduler.log``, or a job's log at its last run: ``cannot write <path>: <reason>``), or a
check job is in breach (``<job>: <its summary>``, e.g. a data-freshness SLA missed); else
``healthy``. A standby daemon is healthy. The panels' own freshness rows (``stale``) do not
change the status; the check jobs decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fund_common.envreader import shown
from fund_common.i18n import gettext as _
from fund_scheduler.jobs.panels import error_line

__all__ = ["HEARTBEAT_STALE_SECONDS", "assess", "health_report"]

HEARTBEAT_STALE_SECONDS = 120.0


def assess(
    *,
    scheduler_alive: bool,
    heartbeat_age: float | None,
    database_ok: bool,
    failed_panels: Iterable[str] = (),
    problems: Iterable[str] = (),
    breaches: Iterable[str] = (),
    stale_after: float = HEARTBEAT_STALE_SECONDS,
) -> tuple[str, list[str]]:
    """The health status and the reasons for it (a pure function of the checks' results)."""
    unhealthy: list[str] = []
    degraded = list(problems)
    if not scheduler_alive:
        unhealthy.append(_("the scheduler loop is not running"))
    elif heartbeat_age is not None and heartbeat_age > stale_after:
        unhealthy.append(
            _("the scheduler loop has not passed for {age}s (limit {limit}s)").format(
                age=f"{heartbeat_age:.0f}", limit=f"{stale_after:g}"
            )
        )
    if not database_ok:
        degraded.append(_("the database is unreachable"))
    degraded += [_("dashboard panel {name} failed").format(name=name) for name in failed_panels]
    degraded += list(breaches)
    if unhealthy:
        return "unhealthy", unhealthy + degraded
    return ("degraded" if degraded else "healthy"), degraded


def health_report(ops: Any) -> dict[str, Any]:
    """The ``/health`` answer from ``ops`` (an :class:`~fund_scheduler.daemon.operations.Operations`)."""
    alive, age = ops.loop_state()
    database = ops.check_database()
    report: dict[str, Any] = {
        "status": "healthy",
        "scheduler_running": alive,
        "role": ops.role,
        "heartbeat_age_seconds": None if age is None else round(age, 3),
        "database": database,
        "jobs": 0,
        "last_success": {},
        "panels": [],
        "checks": [],
        "problems": [],
    }
    if database["ok"]:
        try:
            report["jobs"] = ops.status()["jobs"]
            report["last_success"] = {job_id: None for job_id in ops.job_ids()} | ops.last_success()
            report["panels"] = ops.panels()
            report["checks"] = ops.checks()
            report["problems"] += [shown(p) for p in ops.job_store_problems()]
        except Exception as exc:  # noqa: BLE001 - the database went away between the checks
            report["problems"].append(_("history unavailable: {reason}").format(reason=error_line(exc)))
    else:
        report["problems"] += [shown(p) for p in ops.job_store_problems(read_database=False)]
    report["problems"] += [shown(p) for p in (*ops.log_problems(), *ops.calendar_problems())]
    report["status"], report["problems"] = assess(
        scheduler_alive=alive,
        heartbeat_age=age,
        database_ok=database["ok"],
        failed_panels=[p["name"] for p in report["panels"] if not p["ok"]],
        problems=report["problems"],
        breaches=[f"{c['job_id']}: {c['summary']}" for c in report["checks"] if c["state"] == "breach"],
    )
    return report
