"""Dependencies with deadlines: the decisions, pure (the history rows are handed in).

A job with ``after = [...]`` is a *dependent*; the jobs it names are its *upstreams*. Every
history row has a business date ``D`` (``run_date``): a scheduled run's (and a missed, coalesced,
blocked or skipped fire time's) is the local date of its fire time in the job's timezone; a
manual or startup run's is today's local date; a dependency run's is the run date of the upstream
run that started it.

1. A dependent runs once per business date ``D``, when its upstreams have succeeded for ``D``
   (``after_mode = "all"``: every one; ``"any"``: one of them). When an upstream's run for ``D``
   succeeds, the mode is satisfied and the dependent has no ``success`` or ``running`` row for
   ``D``, the daemon starts it (trigger ``dependency``, run date ``D``): :func:`dependents_due`.
   A run that did not succeed never starts a dependent. Scheduled, startup and dependency runs
   start dependents; a manual run only when asked to (``run-job JOB --with-dependents``).
2. The dependent's own cron time is its deadline for ``D`` (:func:`at_deadline`):

   * it already has a ``success`` or ``running`` row for ``D``: nothing runs twice; the fire time
     is recorded ``coalesced``, ``covered by execution N``;
   * its upstreams have succeeded for ``D`` (it did not run: e.g. the daemon restarted in
     between): it runs now;
   * otherwise no process runs: the fire time is recorded ``blocked`` (an alerted status), its
     error naming each missing upstream and its last state for ``D``: ``waiting for
     daily_collection: failed at 19:02 (execution 812)``, ``...: running since 19:00``,
     ``...: not run yet for 2026-12-03``.
3. A late upstream: when the upstreams succeed for ``D`` after the dependent was recorded
   ``blocked`` for ``D``, the dependent runs once if ``on_late = "run"`` (the default), not if
   ``"skip"`` (logged). Its success after the ``blocked`` row is alerted ``recovered``.

:func:`chain_steps` is the view every front-end shows: each job of a chain in order (upstreams
first), with today's deadline and where today's run stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from fund_common.i18n import gettext as _
from fund_common.runstatus import RunStatus, label
from fund_scheduler.jobs.spec import JobSpec

__all__ = [
    "CASCADING_TRIGGERS",
    "Start",
    "at_deadline",
    "first_fire_on",
    "chain_order",
    "chain_steps",
    "covering_run",
    "dependents_due",
    "dependents_of",
    "missing_upstreams",
    "mode_satisfied",
    "today_in",
    "upstream_state",
]

#: Rows (newest first) per job id, all of one business date.
Rows = Mapping[str, Sequence[Mapping[str, Any]]]
#: Triggers whose success starts the dependents (a manual run only when asked to).
CASCADING_TRIGGERS = frozenset({"schedule", "dependency", "startup"})
_HAS_RUN = (RunStatus.SUCCESS, RunStatus.RUNNING, RunStatus.QUEUED)


def covering_run(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest ``success``, ``running`` or ``queued`` row of ``rows`` (the job ran for that date)."""
    return next((row for row in rows if row["status"] in _HAS_RUN), None)


def succeeded(rows: Sequence[Mapping[str, Any]]) -> bool:
    return any(row["status"] == RunStatus.SUCCESS for row in rows)


def mode_satisfied(spec: JobSpec, rows: Rows) -> bool:
    """Whether ``spec``'s upstreams have succeeded for the date of ``rows`` (by its after_mode)."""
    done = [succeeded(rows.get(upstream, ())) for upstream in spec.after]
    return any(done) if spec.after_mode == "any" else all(done)


def missing_upstreams(spec: JobSpec, rows: Rows) -> list[str]:
    """The upstreams that have not succeeded for the date of ``rows``, in ``after`` order."""
    return [upstream for upstream in spec.after if not succeeded(rows.get(upstream, ()))]


def _clock(moment: datetime | None, zone: tzinfo) -> str:
    return "?" if moment is None else moment.astimezone(zone).strftime("%H:%M")


def upstream_state(rows: Sequence[Mapping[str, Any]], run_date: date, zone: tzinfo) -> str:
    """An upstream's last state for ``run_date`` in words: ``failed at 19:02 (execution 812)``,
    ``running since 19:00``, ``not run yet for 2026-12-03``."""
    if not rows:
        return f"not run yet for {run_date.isoformat()}"
    newest = rows[0]
    if newest["status"] == RunStatus.QUEUED:
        return f"queued since {_clock(newest['started_at'], zone)}"
    if newest["status"] == RunStatus.RUNNING:
        return f"running since {_clock(newest['started_at'], zone)}"
    when = newest.get("finished_at") or newest.get("started_at")
    execution = f" (execution {newest['id']})" if newest.get("id") is not None else ""
    return f"{newest['status']} at {_clock(when, zone)}{execution}"


def _waiting(spec: JobSpec, rows: Rows, run_date: date, zone: tzinfo) -> str:
    missing = missing_upstreams(spec, rows)
    parts = "; ".join(f"{job}: {upstream_state(rows.get(job, ()), run_date, zone)}" for job in missing)
    return f"waiting for {'any of ' if spec.after_mode == 'any' and len(missing) > 1 else ''}{parts}"


def at_deadline(
    spec: JobSpec, own: Sequence[Mapping[str, Any]], rows: Rows, run_date: date, zone: tzinfo
) -> tuple[str, str] | None:
    """What the dependent ``spec``'s fire time for ``run_date`` does (rule 2): None to run, else
    ``(status, error)`` of the row recorded instead. ``own``: its rows for the date; ``rows``:
    its upstreams'."""
    cover = covering_run(own)
    if cover is not None:
        return RunStatus.COALESCED.value, f"covered by execution {cover['id']}"
    if mode_satisfied(spec, rows):
        return None
    return RunStatus.BLOCKED.value, _waiting(spec, rows, run_date, zone)


@dataclass(frozen=True)
class Start:
    """A dependent the success of an upstream concerns: start it (``start``) or why not."""

    job_id: str
    start: bool
    why: str


def dependents_of(specs: Iterable[JobSpec], job_id: str) -> list[JobSpec]:
    """The enabled specs with ``job_id`` in their ``after``, by id."""
    return sorted((s for s in specs if s.enabled and job_id in s.after), key=lambda s: s.id)


def dependents_due(specs: Iterable[JobSpec], upstream: str, rows: Rows) -> list[Start]:
    """After ``upstream`` succeeded for a date (rules 1 and 3): each dependent, started or not.

    ``rows`` holds that date's rows of the dependents and of all their upstreams."""
    decisions = []
    for spec in dependents_of(specs, upstream):
        own = rows.get(spec.id, ())
        cover = covering_run(own)
        blocked = any(row["status"] == RunStatus.BLOCKED for row in own)
        if cover is not None:
            decisions.append(Start(spec.id, False, f"already {cover['status']} (execution {cover['id']})"))
        elif not mode_satisfied(spec, rows):
            decisions.append(
                Start(spec.id, False, f"still waiting for {', '.join(missing_upstreams(spec, rows))}")
            )
        elif blocked and spec.on_late == "skip":
            decisions.append(Start(spec.id, False, "upstream late (after the deadline) and on_late = skip"))
        else:
            decisions.append(
                Start(spec.id, True, "late upstream, on_late = run" if blocked else "upstream done")
            )
    return decisions


def chain_order(specs: Iterable[JobSpec]) -> list[JobSpec]:
    """The jobs of every chain (a job with ``after`` or named in one), one chain after the other
    (by its first root's id), upstreams before their dependents (by depth, then id). Assumes no
    cycle (the registry refuses one)."""
    by_id = {spec.id: spec for spec in specs}
    edges = {spec.id: [u for u in spec.after if u in by_id] for spec in by_id.values()}
    members = sorted({job for job, ups in edges.items() if ups} | {u for ups in edges.values() for u in ups})
    group = {job: job for job in members}  # union-find: each chain's representative

    def find(job: str) -> str:
        while group[job] != job:
            job = group[job]
        return job

    for job in members:
        for upstream in edges[job]:
            group[find(job)] = find(upstream)
    depth: dict[str, int] = {}

    def depth_of(job: str) -> int:
        if job not in depth:
            depth[job] = 1 + max((depth_of(u) for u in edges[job]), default=-1)
        return depth[job]

    first_root: dict[str, str] = {}
    for job in members:
        if not edges[job]:
            first_root.setdefault(find(job), job)  # members are sorted: the smallest root id
    key = {job: (first_root.get(find(job), find(job)), depth_of(job), job) for job in members}
    return [by_id[job] for job in sorted(members, key=key.__getitem__)]


def first_fire_on(trigger: Any, day: date, zone: tzinfo) -> datetime | None:
    """The trigger's first fire time on ``day`` (local), or None when it does not fire that day."""
    midnight = datetime.combine(day, time(), zone)
    fire = trigger.get_next_fire_time(None, midnight)
    return fire if fire is not None and fire.astimezone(zone).date() == day else None


def _step_state(
    spec: JobSpec, rows: Rows, deadline: datetime | None, zone: tzinfo, today: date
) -> tuple[str, str]:
    """A step's state today and its words, in the reader's language (the page, ``chain``)."""
    own = rows.get(spec.id, ())
    newest = own[0] if own else None
    cover = covering_run(own)
    if cover is not None and cover["status"] == RunStatus.SUCCESS:
        text = _("succeeded at {time} (execution {id})")
        return "succeeded", text.format(time=_clock(cover["finished_at"], zone), id=cover["id"])
    if cover is not None:
        text = _("running since {time} (execution {id})")
        return "running", text.format(time=_clock(cover["started_at"], zone), id=cover["id"])
    if newest is not None and newest["status"] != RunStatus.COALESCED:
        when = newest.get("finished_at") or newest.get("started_at")
        words = {"status": label(newest["status"]), "time": _clock(when, zone), "id": newest.get("id")}
        if words["id"] is None:
            return newest["status"], _("{status} at {time}").format(**words)
        return newest["status"], _("{status} at {time} (execution {id})").format(**words)
    if deadline is None:
        return "no_session", _("not a session") if spec.calendar else _("not scheduled today")
    if spec.after:
        due = _("deadline {time}").format(time=_clock(deadline, zone))
    else:
        due = _("due {time}").format(time=_clock(deadline, zone))
    if spec.after and not mode_satisfied(spec, rows):
        text = _("waiting for {jobs} ({due})")
        return "waiting", text.format(jobs=", ".join(missing_upstreams(spec, rows)), due=due)
    return "not_run", _("not run yet ({due})").format(due=due)


def chain_steps(
    specs: Iterable[JobSpec],
    triggers: Mapping[str, Any],
    zones: Mapping[str, tzinfo],
    rows: Rows,
    today: date,
) -> list[dict[str, Any]]:
    """Each step of the chains in order (:func:`chain_order`) with where ``today``'s run stands:
    ``job``, ``after``, ``after_mode``, ``on_late``, ``dependents``, ``deadline`` (today's fire
    time, None on a day it does not fire) in ``timezone`` (the job's), ``state`` (``succeeded``,
    ``running``, ``waiting``, ``not_run``, ``no_session``, or the newest row's status:
    ``blocked``, ``failed`` ...) and ``text`` (the state in words). ``rows``: today's rows of
    every step; ``triggers`` and ``zones`` by job id."""
    all_specs = list(specs)
    steps = []
    for spec in chain_order(all_specs):
        zone = zones.get(spec.id, UTC)
        deadline = first_fire_on(triggers[spec.id], today, zone) if spec.id in triggers else None
        state, text = _step_state(spec, rows, deadline, zone, today)
        steps.append(
            {
                "job": spec.id,
                "after": list(spec.after),
                "after_mode": spec.after_mode,
                "on_late": spec.on_late,
                "dependents": [d.id for d in dependents_of(all_specs, spec.id)],
                "deadline": deadline,
                "timezone": str(zone),
                "state": state,
                "text": text,
            }
        )
    return steps


def today_in(zone: tzinfo, now: datetime) -> date:
    """The local date of ``now`` in ``zone``."""
    return now.astimezone(zone).date()
