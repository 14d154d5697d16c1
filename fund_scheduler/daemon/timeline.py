"""The timeline of the page: what each job did in the last hours and will do in the next (pure).

:func:`build_timeline` takes the job rows (:func:`fund_scheduler.jobs.rows.job_rows`), the history
rows overlapping the past half of the window
(:func:`fund_scheduler.store.history.rows_overlapping`), the triggers of the jobs that will fire
(stored, not paused) and ``now``; it answers a JSON-able dict::

    {"window": {"start", "now", "end", "hours"},
     "lanes": [{"id", "name", "schedule", "trigger", "timezone", "state", "enabled", "paused",
                "disabled_reason", "after", "removed",
                "runs": [{"execution_id", "status", "tone", "label", "kind", "trigger", "run_date",
                          "start", "end", "scheduled", "at", "duration", "error"}],
                "runs_more",
                "upcoming": [{"at", "kind"}], "upcoming_more", "upcoming_more_at_least"}]}

A run that started a process (or is running) is a ``bar`` from ``start`` to ``end`` (None while it
runs: up to now); a row that never ran (``missed``, ``skipped``, ``blocked``, ``coalesced``) is a
``mark`` at its scheduled time (``at``). The upcoming fire times in ``(now, now + hours]`` are of
kind ``run``, or ``deadline`` for a job that runs after others (its own cron times are its
deadlines: :mod:`fund_scheduler.daemon.chain`). At most :data:`MAX_TICKS` fire times and
:data:`MAX_RUNS` runs (the newest) are listed per lane; ``upcoming_more`` and ``runs_more`` count
the rest (``upcoming_more_at_least``: counting stopped at :data:`COUNT_LIMIT` fire times). A job
that is gone but has runs in the window gets a lane with ``removed`` true, after the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fund_common.runstatus import UNFINISHED, RunStatus, label
from fund_scheduler.jobs.triggers import next_fire_times

__all__ = ["COUNT_LIMIT", "ERROR_CHARS", "HOURS_MAX", "MAX_RUNS", "MAX_TICKS", "build_timeline"]

#: The widest window the page may ask for, in hours each side of now.
HOURS_MAX = 72
#: Fire times listed per lane (an every-10-minutes check job: 144 a day, all shown).
MAX_TICKS = 200
#: Fire times counted per lane beyond which ``upcoming_more`` is a lower bound.
COUNT_LIMIT = 10_000
#: Runs listed per lane (the newest).
MAX_RUNS = 500
#: The first characters of a row's error kept (a blocked row's ``waiting for …``).
ERROR_CHARS = 300

_KNOWN = frozenset(s.value for s in RunStatus)
_BATCH_MAX = 1_000


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _fire_times(trigger: Any, now: datetime, end: datetime) -> tuple[list[datetime], int, bool]:
    """The first :data:`MAX_TICKS` fire times of ``trigger`` in ``(now, end]``, how many more there
    are, and whether counting them stopped at :data:`COUNT_LIMIT`."""
    found: list[datetime] = []
    more = 0
    floor, size = now, 4  # batches growing from a few: a daily job costs one small batch
    while True:
        batch = [fire.astimezone(UTC) for fire in next_fire_times(trigger, floor, size)]
        inside = [fire for fire in batch if fire <= end]
        room = MAX_TICKS - len(found)
        found += inside[:room]
        more += max(len(inside) - room, 0)
        if len(inside) < size:
            return found, more, False
        if len(found) + more >= COUNT_LIMIT:
            return found, more, True
        floor, size = batch[-1], min(size * 2, _BATCH_MAX)


def _run_item(row: Mapping[str, Any]) -> dict[str, Any]:
    status = str(row["status"])
    start, end = _utc(row.get("started_at")), _utc(row.get("finished_at"))
    scheduled = _utc(row.get("scheduled_run_time"))
    known = status in _KNOWN
    is_bar = not known or RunStatus(status).ran or status in UNFINISHED
    error = row.get("error")
    return {
        "execution_id": row.get("id"),
        "status": status,
        "tone": RunStatus(status).tone.value if known else "bad",
        "label": label(status),
        "kind": "bar" if is_bar else "mark",
        "trigger": row.get("trigger"),
        "run_date": row.get("run_date"),
        "start": start,
        "end": None if status in UNFINISHED else end,
        "scheduled": scheduled,
        "at": start if is_bar else (scheduled or start),
        "duration": row.get("duration"),
        "error": error[:ERROR_CHARS] if isinstance(error, str) else None,
    }


def _in_window(item: Mapping[str, Any], start: datetime, now: datetime) -> bool:
    if item["kind"] == "mark":
        return item["at"] is not None and start <= item["at"] <= now
    began, ended = item["start"], item["end"] or now
    return began is not None and began <= now and ended >= start


def _lane(row: Mapping[str, Any], removed: bool = False) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row.get("name") or row["id"],
        "schedule": row.get("schedule"),
        "trigger": row.get("trigger"),
        "timezone": row.get("timezone"),
        "state": "removed" if removed else row.get("state"),
        "enabled": bool(row.get("enabled", True)) and not removed,
        "paused": bool(row.get("paused", False)),
        "disabled_reason": row.get("disabled_reason"),
        "after": list(row.get("after") or ()),
        "removed": removed,
        "runs": [],
        "runs_more": 0,
        "upcoming": [],
        "upcoming_more": 0,
        "upcoming_more_at_least": False,
    }


def build_timeline(
    jobs: Sequence[Mapping[str, Any]],
    runs: Iterable[Mapping[str, Any]],
    now: datetime,
    *,
    hours: int = 24,
    triggers: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The timeline from ``now - hours`` to ``now + hours`` (see the module docstring).

    ``jobs``: job rows; ``runs``: history rows (any order; those outside the window are left out);
    ``triggers``: job id -> the trigger that fires it, for the jobs that will fire (a paused,
    disabled or done job has none: no upcoming fire times)."""
    if not 1 <= hours <= HOURS_MAX:
        raise ValueError(f"hours={hours!r} must be a whole number from 1 to {HOURS_MAX}")
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    start, end = now - timedelta(hours=hours), now + timedelta(hours=hours)
    lanes = {row["id"]: _lane(row) for row in jobs}  # in the rows' order (by id), removed jobs last
    per_job: dict[str, list[dict[str, Any]]] = {}
    for row in runs:
        item = _run_item(row)
        if _in_window(item, start, now):
            per_job.setdefault(str(row["job_id"]), []).append(item)
    gone = sorted(set(per_job) - set(lanes))
    lanes.update({job_id: _lane({"id": job_id}, removed=True) for job_id in gone})
    for job_id, items in per_job.items():
        items.sort(key=lambda i: (i["at"], i["execution_id"] or 0))
        lane = lanes[job_id]
        lane["runs"] = items[-MAX_RUNS:]
        lane["runs_more"] = max(len(items) - MAX_RUNS, 0)
    for job_id, trigger in (triggers or {}).items():
        if job_id not in lanes or trigger is None:
            continue
        lane = lanes[job_id]
        kind = "deadline" if lane["after"] else "run"
        fires, more, at_least = _fire_times(trigger, now, end)
        lane["upcoming"] = [{"at": fire, "kind": kind} for fire in fires]
        lane["upcoming_more"] = more
        lane["upcoming_more_at_least"] = at_least
    return {"window": {"start": start, "now": now, "end": end, "hours": hours}, "lanes": list(lanes.values())}
