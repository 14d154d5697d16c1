"""Collecting what the weekly report shows, as JSON-serialisable data (dates as ISO strings).

The fund tables are read here (only read; a missing table gives an empty section). The week's
job runs are not: the caller hands them in (the daemon owns its run history), each a mapping
with ``job_id``, ``status`` (a :class:`~fund_common.runstatus.RunStatus` value), ``started_at``
(a datetime, naive meaning UTC, or aware), ``duration`` (seconds, or None) and optionally ``id``
(the execution's id: the run that writes the report passes its own as ``exclude_execution_id``
so that it, still running, is not counted). What a status
means (the worst of a day, which runs have a duration, the success rate) is
:mod:`fund_common.runstatus`'s.

The few words in the data (the unknown fund type's group, a closed day's holiday name) are in
the language in effect when it is collected (:mod:`fund_common.i18n`); codes and keys are not.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from fund_common.calendars import SessionCalendar
from fund_common.calendars.model import holiday_words
from fund_common.clock import as_naive_utc, utcnow_naive
from fund_common.i18n import N_
from fund_common.i18n import gettext as _
from fund_common.runstatus import DISPLAY_ORDER, NOT_RUNS, RAN, UNFINISHED, RunStatus, success_rate, worst
from fundpipe.freshness import dated_freshness
from fundpipe.report.week import week_bounds, week_window, zone
from fundpipe.schema import (
    data_update_log,
    fund_info,
    fund_metrics,
    fund_nav,
    fund_nav_corrections,
    fund_nav_quarantine,
)

__all__ = [
    "LIST_CAP",
    "TOP_N",
    "UNKNOWN_TYPE",
    "count_summary",
    "week_calendar",
    "weekly_report_data",
]

#: Funds listed at each end of the Sharpe ranking of each fund type.
TOP_N = 10
#: Longest list of fund codes (funds without a NAV) and of NAV corrections the report shows.
LIST_CAP = 20
#: The group of the Sharpe ranking for funds without a type (no ``fund_info`` row, or no type);
#: its label is this in the language in effect.
UNKNOWN_TYPE = N_("unknown type")
_RAN = frozenset(s.value for s in RAN)
_SHARPE_COLUMNS = (
    "sharpe_ratio",
    "annual_return",
    "annual_volatility",
    "max_drawdown",
    "sortino_ratio",
    "n_obs",
)


def weekly_report_data(
    engine: sa.Engine,
    as_of: dt.date,
    calendar: SessionCalendar,
    *,
    runs: Iterable[Mapping[str, Any]] | None = None,
    tz: dt.tzinfo | str | None = None,
    now: dt.datetime | None = None,
    exclude_execution_id: int | None = None,
) -> dict[str, Any]:
    """Everything the report of ``as_of``'s ISO week shows.

    ``runs``: the job runs to show (see the module docstring); those that did not start inside
    the week (:func:`~fundpipe.report.week.week_window` in ``tz``, default UTC) are left out, and
    each falls on the day of ``tz`` it started in. The run whose ``id`` is
    ``exclude_execution_id`` (the run writing the report) is left out too. None means no run
    history: the run sections say so. ``now`` (naive UTC or aware; default the current time) is
    the generation time.

    ``calendar`` is the trading calendar: the week's sessions and closed days, and the sessions
    the data is behind, are its.

    Keys: ``title``, ``week_start``, ``week_end``, ``as_of``, ``timezone``, ``generated_at``,
    ``days``, ``calendar`` (see :func:`week_calendar`), ``history_available``, ``jobs`` (per
    job: ``job_id``, ``days`` [{``counts``, ``status``}] x 7, ``totals``, ``durations`` [[local
    ISO time, seconds]], ``median_seconds``, ``max_seconds``), ``totals``, ``freshness``,
    ``loads`` (per day), ``quarantine_rules``, ``sharpe`` (see :func:`_sharpe`), ``coverage``
    (see :func:`_coverage`), ``corrections`` (see :func:`_corrections`).
    """
    where = zone(tz)
    monday, sunday = week_bounds(as_of)
    year, week, _ = as_of.isocalendar()
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    window = week_window(as_of, where)
    if runs is not None and exclude_execution_id is not None:
        runs = [r for r in runs if r.get("id") is None or r["id"] != exclude_execution_id]
    history = None if runs is None else _job_runs(runs, window, monday, where)
    tables = set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            "title": f"{year}-W{week:02d}",
            "week_start": monday.isoformat(),
            "week_end": sunday.isoformat(),
            "as_of": as_of.isoformat(),
            "timezone": str(where),
            "generated_at": as_naive_utc(now or utcnow_naive()).isoformat(timespec="seconds"),
            "days": [d.isoformat() for d in days],
            "calendar": week_calendar(calendar, days),
            "history_available": history is not None,
            "jobs": history or [],
            "totals": count_summary(_sum_counts(history or [])),
            "freshness": _freshness(conn, as_of, calendar, tables),
            "loads": _loads(conn, days, tables),
            "quarantine_rules": _quarantine_rules(conn, days, tables),
            "sharpe": _sharpe(conn, as_of, tables),
            "coverage": _coverage(conn, [d for d in days if d <= as_of and calendar.is_session(d)], tables),
            "corrections": _corrections(conn, window, where, tables),
        }


def week_calendar(calendar: SessionCalendar, days: Sequence[dt.date]) -> dict[str, Any]:
    """The week's trading calendar: ``name``, ``source``, ``sessions`` (how many of ``days``
    are sessions) and ``closed``: each weekday of ``days`` without a session, as ``date`` (ISO)
    and ``name`` (the holiday's, ``holiday`` when the calendar has none; a Chinese public holiday
    and ``holiday`` in the language in effect)."""
    closed = [d for d in days if d in calendar.closed]
    return {
        "name": calendar.name,
        "source": calendar.source,
        "sessions": sum(calendar.is_session(d) for d in days),
        "closed": [{"date": d.isoformat(), "name": holiday_words(calendar.closed.get(d))} for d in closed],
    }


def count_summary(by_status: Mapping[str, int]) -> dict[str, Any]:
    """``runs``, ``success``, ``failed`` (finished, not a success), ``running``, ``by_status`` and
    ``success_rate`` from ``{status: count}``; statuses in display order, unknown ones last."""
    ordered = {s.value: by_status[s.value] for s in DISPLAY_ORDER if by_status.get(s.value)}
    ordered.update({s: n for s, n in sorted(by_status.items()) if s not in ordered and n})
    running = sum(ordered.get(s.value, 0) for s in UNFINISHED)
    success = ordered.get(RunStatus.SUCCESS.value, 0)
    runs = sum(n for status, n in ordered.items() if status not in NOT_RUNS)  # coalesced: no run
    return {
        "runs": runs,
        "success": success,
        "failed": runs - success - running,
        "running": running,
        "by_status": ordered,
        "success_rate": success_rate(ordered),
    }


def _job_runs(
    runs: Iterable[Mapping[str, Any]],
    window: tuple[dt.datetime, dt.datetime],
    monday: dt.date,
    where: dt.tzinfo,
) -> list[dict[str, Any]]:
    """Per job: counts per status and day, and the durations of the runs that ran."""
    start, end = window
    inside = []
    for run in runs:
        started = as_naive_utc(run["started_at"]).replace(tzinfo=dt.UTC)
        if start <= started < end:
            inside.append((started, run))
    inside.sort(key=lambda item: item[0])  # stable: runs given in order stay in order
    grid: dict[str, list[dict[str, int]]] = {}
    durations: dict[str, list[tuple[dt.datetime, float]]] = {}
    for started, run in inside:
        job_id, status, duration = str(run["job_id"]), str(run["status"]), run.get("duration")
        local = started.astimezone(where).replace(tzinfo=None)
        cell = grid.setdefault(job_id, [{} for _ in range(7)])[(local.date() - monday).days]
        cell[status] = cell.get(status, 0) + 1
        if duration is not None and status in _RAN:
            durations.setdefault(job_id, []).append((local, float(duration)))
    jobs = []
    for job_id in sorted(grid):
        days = [{"counts": count_summary(c)["by_status"], "status": _worst(c)} for c in grid[job_id]]
        points = durations.get(job_id, [])
        seconds = [s for _, s in points]
        jobs.append(
            {
                "job_id": job_id,
                "days": days,
                "totals": count_summary(_sum_counts([{"days": days}])),
                "durations": [[when.isoformat(timespec="seconds"), s] for when, s in points],
                "median_seconds": statistics.median(seconds) if seconds else None,
                "max_seconds": max(seconds) if seconds else None,
            }
        )
    return jobs


def _worst(counts: Mapping[str, int]) -> str | None:
    status = worst(s for s, n in counts.items() if n)
    return None if status is None else status.value


def _sum_counts(jobs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for job in jobs:
        for day in job["days"]:
            for status, n in day["counts"].items():
                total[status] = total.get(status, 0) + n
    return total


def _freshness(
    conn: sa.Connection, as_of: dt.date, calendar: SessionCalendar, tables: set[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, column in (("nav", fund_nav.c.nav_date), ("metrics", fund_metrics.c.calc_date)):
        fresh = dated_freshness(conn, column, as_of, calendar, tables=tables)
        out[key] = {
            "latest": fresh.latest_iso,
            "funds": fresh.funds,
            "days_behind": fresh.days_behind,
            "business_days_behind": fresh.sessions_behind,
        }
    return out


def _loads(conn: sa.Connection, days: Sequence[dt.date], tables: set[str]) -> list[dict[str, Any]]:
    per_day: dict[dt.date, dict[str, Any]] = {
        d: {"date": d.isoformat(), "runs": 0, "failed_runs": 0, "staged": 0, "loaded": 0, "quarantined": 0}
        for d in days
    }
    if "data_update_log" in tables:
        log = data_update_log
        query = (
            sa.select(
                log.c.as_of,
                log.c.status,
                sa.func.count(),
                sa.func.sum(log.c.rows_in),
                sa.func.sum(log.c.rows_loaded),
                sa.func.sum(log.c.rows_rejected),
            )
            .where(log.c.step == "validate", log.c.as_of >= days[0], log.c.as_of <= days[-1])
            .group_by(log.c.as_of, log.c.status)
        )
        for as_of, status, runs, staged, loaded, rejected in conn.execute(query):
            row = per_day[as_of]
            row["runs"] += int(runs)
            if status == "success":
                row["staged"] += int(staged or 0)
                row["loaded"] += int(loaded or 0)
                row["quarantined"] += int(rejected or 0)
            elif status == "failed":
                row["failed_runs"] += int(runs)
    return list(per_day.values())


def _quarantine_rules(conn: sa.Connection, days: Sequence[dt.date], tables: set[str]) -> list[dict[str, Any]]:
    """Rows quarantined by the week's successful validation runs, by rule (most rows first).

    A run quarantines inside its own ``data_update_log`` span, so a quarantine row belongs to
    the run whose ``[started_at, finished_at]`` holds its ``quarantined_at``: the same runs,
    hence the same days (``as_of``), as the per-day table.
    """
    if not {"fund_nav_quarantine", "data_update_log"} <= tables:
        return []
    q, log = fund_nav_quarantine, data_update_log
    rows = conn.execute(
        sa.select(q.c.rule, sa.func.count().label("n_rows"), sa.func.min(q.c.reason))
        .select_from(
            q.join(
                log, sa.and_(q.c.quarantined_at >= log.c.started_at, q.c.quarantined_at <= log.c.finished_at)
            )
        )
        .where(
            log.c.step == "validate",
            log.c.status == "success",
            log.c.as_of >= days[0],
            log.c.as_of <= days[-1],
        )
        .group_by(q.c.rule)
        .order_by(sa.desc("n_rows"), q.c.rule)
    )
    return [{"rule": rule, "rows": int(n), "example": reason} for rule, n, reason in rows]


def _sharpe(conn: sa.Connection, as_of: dt.date, tables: set[str]) -> dict[str, Any]:
    """The Sharpe ranking on the newest ``calc_date`` up to ``as_of``, within each fund type.

    A money-market fund's tiny volatility gives it a Sharpe ratio no equity fund reaches, so
    funds are only ranked against their own type (``fund_info.fund_type``; funds without one
    form the :data:`UNKNOWN_TYPE` group, listed last, the others by name; its label is
    translated). Keys:
    ``calc_date`` (ISO or None), ``funds`` (with a Sharpe ratio) and ``types``: per type
    ``fund_type`` (None for the unknown group), ``label``, ``funds``, ``top`` (the best
    :data:`TOP_N`, best first) and ``bottom`` (the worst :data:`TOP_N` of the rest, worst
    first: a fund is never in both; empty when the type has at most ``TOP_N`` funds).
    """
    out: dict[str, Any] = {"calc_date": None, "funds": 0, "types": []}
    if "fund_metrics" not in tables:
        return out
    m = fund_metrics
    calc_date = conn.execute(sa.select(sa.func.max(m.c.calc_date)).where(m.c.calc_date <= as_of)).scalar()
    if calc_date is None:
        return out
    columns = [m.c.fund_code, *(m.c[name] for name in _SHARPE_COLUMNS)]
    query = sa.select(*columns).where(m.c.calc_date == calc_date, m.c.sharpe_ratio.is_not(None))
    if "fund_info" in tables:
        query = query.add_columns(fund_info.c.fund_name, fund_info.c.fund_type).outerjoin(
            fund_info, fund_info.c.fund_code == m.c.fund_code
        )
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for r in conn.execute(query.order_by(m.c.sharpe_ratio.desc(), m.c.fund_code)).mappings():
        kind = r.get("fund_type") or None
        groups.setdefault(kind, []).append(
            {
                "fund_code": r["fund_code"],
                "fund_name": r.get("fund_name"),
                **{n: r[n] for n in _SHARPE_COLUMNS},
            }
        )
    out["calc_date"] = calc_date.isoformat()
    out["funds"] = sum(len(funds) for funds in groups.values())
    for kind in sorted(groups, key=lambda k: (k is None, k or "")):
        funds = groups[kind]
        out["types"].append(
            {
                "fund_type": kind,
                "label": kind or _(UNKNOWN_TYPE),
                "funds": len(funds),
                "top": funds[:TOP_N],
                "bottom": funds[TOP_N:][::-1][:TOP_N],
            }
        )
    return out


def _coverage(conn: sa.Connection, sessions: Sequence[dt.date], tables: set[str]) -> dict[str, Any]:
    """How many funds have a NAV on each of the week's sessions (up to ``as_of``).

    The funds expected are the active ones in ``fund_info``; when it has none (a source that
    delivers no fund list), the funds with a NAV on any of these sessions or on the session
    before them, so a fund that stops publishing still shows as missing. Keys: ``basis``
    (``fund_info`` or ``nav``), ``expected`` (funds), ``sessions`` (per session ``date``,
    ``with_nav``, ``share``: None when no fund is expected), ``last_session`` (ISO or None),
    ``missing`` (up to :data:`LIST_CAP` funds without a NAV on the last session, by code:
    ``fund_code``, ``fund_name``) and ``missing_more`` (how many more there are).
    """
    out: dict[str, Any] = {
        "basis": "fund_info",
        "expected": 0,
        "sessions": [],
        "last_session": None,
        "missing": [],
        "missing_more": 0,
    }
    if not sessions:
        return out
    names: dict[str, str | None] = {}
    if "fund_info" in tables:
        rows = conn.execute(
            sa.select(fund_info.c.fund_code, fund_info.c.fund_name).where(fund_info.c.is_active.is_(True))
        )
        names = {code: name for code, name in rows}
    with_nav: dict[dt.date, set[str]] = {d: set() for d in sessions}
    if "fund_nav" in tables:
        nav = fund_nav.c
        lo = sessions[0] if names else _previous_nav_date(conn, sessions[0]) or sessions[0]
        rows = conn.execute(
            sa.select(nav.fund_code, nav.nav_date).where(nav.nav_date.between(lo, sessions[-1]))
        )
        seen: set[str] = set()
        for code, day in rows:
            if day in with_nav:
                with_nav[day].add(code)
            if day == lo or day in with_nav:
                seen.add(code)
        if not names:
            out["basis"] = "nav"
            names = dict.fromkeys(seen)
    expected = set(names)
    out["expected"] = len(expected)
    for day in sessions:
        n = len(with_nav[day] & expected)
        out["sessions"].append(
            {"date": day.isoformat(), "with_nav": n, "share": n / len(expected) if expected else None}
        )
    last = sessions[-1]
    missing = sorted(expected - with_nav[last])
    out["last_session"] = last.isoformat()
    out["missing"] = [{"fund_code": code, "fund_name": names[code]} for code in missing[:LIST_CAP]]
    out["missing_more"] = max(0, len(missing) - LIST_CAP)
    return out


def _previous_nav_date(conn: sa.Connection, day: dt.date) -> dt.date | None:
    """The newest ``fund_nav`` date before ``day`` (the session before the week, as stored)."""
    return conn.execute(sa.select(sa.func.max(fund_nav.c.nav_date)).where(fund_nav.c.nav_date < day)).scalar()


def _corrections(
    conn: sa.Connection, window: tuple[dt.datetime, dt.datetime], where: dt.tzinfo, tables: set[str]
) -> dict[str, Any]:
    """The stored NAVs a later delivery changed during the week (``fund_nav_corrections`` rows
    whose ``corrected_at`` is in the week's window), oldest first, at most :data:`LIST_CAP`.

    Keys: ``count`` (all of the week's) and ``rows``: ``fund_code``, ``nav_date``,
    ``old_unit_nav``, ``new_unit_nav``, ``old_accum_nav``, ``new_accum_nav``, ``batch_id`` and
    ``corrected_at`` (local ISO time in the report's timezone).
    """
    out: dict[str, Any] = {"count": 0, "rows": []}
    if "fund_nav_corrections" not in tables:
        return out
    c = fund_nav_corrections.c
    start, end = (as_naive_utc(t) for t in window)
    inside = sa.and_(c.corrected_at >= start, c.corrected_at < end)
    out["count"] = conn.execute(
        sa.select(sa.func.count()).select_from(fund_nav_corrections).where(inside)
    ).scalar_one()
    columns = [c.fund_code, c.nav_date, c.old_unit_nav, c.new_unit_nav, c.old_accum_nav, c.new_accum_nav]
    query = (
        sa.select(*columns, c.batch_id, c.corrected_at)
        .where(inside)
        .order_by(c.corrected_at, c.id)
        .limit(LIST_CAP)
    )
    for r in conn.execute(query).mappings():
        local = r["corrected_at"].replace(tzinfo=dt.UTC).astimezone(where).replace(tzinfo=None)
        out["rows"].append(
            {
                **{col.name: r[col.name] for col in columns},
                "nav_date": r["nav_date"].isoformat(),
                "batch_id": r["batch_id"],
                "corrected_at": local.isoformat(timespec="seconds"),
            }
        )
    return out
