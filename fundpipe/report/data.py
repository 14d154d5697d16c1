"""Collecting what the weekly report shows, as JSON-serialisable data (dates as ISO strings).

The fund tables are read here (only read; a missing table gives an empty section). The week's
job runs are not: the caller hands them in (the daemon owns its run history), each a mapping
with ``job_id``, ``status`` (a :class:`~fund_common.runstatus.RunStatus` value), ``started_at``
(a datetime, naive meaning UTC, or aware) and ``duration`` (seconds, or None). What a status
means (the worst of a day, which runs have a duration, the success rate) is
:mod:`fund_common.runstatus`'s.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from fund_common.calendars import SessionCalendar
from fund_common.clock import as_naive_utc, utcnow_naive
from fund_common.runstatus import DISPLAY_ORDER, NOT_RUNS, RAN, RunStatus, success_rate, worst
from fundpipe.freshness import dated_freshness
from fundpipe.report.week import week_bounds, week_window, zone
from fundpipe.schema import data_update_log, fund_info, fund_metrics, fund_nav, fund_nav_quarantine

__all__ = ["TOP_N", "count_summary", "week_calendar", "weekly_report_data"]

#: Funds listed at each end of the Sharpe ranking.
TOP_N = 10

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
) -> dict[str, Any]:
    """Everything the report of ``as_of``'s ISO week shows.

    ``runs``: the job runs to show (see the module docstring); those that did not start inside
    the week (:func:`~fundpipe.report.week.week_window` in ``tz``, default UTC) are left out, and
    each falls on the day of ``tz`` it started in. None means no run history: the run sections
    say so. ``now`` (naive UTC or aware; default the current time) is the generation time.

    ``calendar`` is the trading calendar: the week's sessions and closed days, and the sessions
    the data is behind, are its.

    Keys: ``title``, ``week_start``, ``week_end``, ``as_of``, ``timezone``, ``generated_at``,
    ``days``, ``calendar`` (see :func:`week_calendar`), ``history_available``, ``jobs`` (per
    job: ``job_id``, ``days`` [{``counts``, ``status``}] x 7, ``totals``, ``durations`` [[local
    ISO time, seconds]], ``median_seconds``, ``max_seconds``), ``totals``, ``freshness``,
    ``loads`` (per day), ``quarantine_rules``, ``sharpe``.
    """
    where = zone(tz)
    monday, sunday = week_bounds(as_of)
    year, week, _ = as_of.isocalendar()
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    history = None if runs is None else _job_runs(runs, week_window(as_of, where), monday, where)
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
        }


def week_calendar(calendar: SessionCalendar, days: Sequence[dt.date]) -> dict[str, Any]:
    """The week's trading calendar: ``name``, ``source``, ``sessions`` (how many of ``days``
    are sessions) and ``closed``: each weekday of ``days`` without a session, as ``date`` (ISO)
    and ``name`` (the holiday's, ``holiday`` when the calendar has none)."""
    closed = [d for d in days if d in calendar.closed]
    return {
        "name": calendar.name,
        "source": calendar.source,
        "sessions": sum(calendar.is_session(d) for d in days),
        "closed": [{"date": d.isoformat(), "name": calendar.closed.get(d) or "holiday"} for d in closed],
    }


def count_summary(by_status: Mapping[str, int]) -> dict[str, Any]:
    """``runs``, ``success``, ``failed`` (finished, not a success), ``running``, ``by_status`` and
    ``success_rate`` from ``{status: count}``; statuses in display order, unknown ones last."""
    ordered = {s.value: by_status[s.value] for s in DISPLAY_ORDER if by_status.get(s.value)}
    ordered.update({s: n for s, n in sorted(by_status.items()) if s not in ordered and n})
    running = ordered.get(RunStatus.RUNNING.value, 0)
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
    out: dict[str, Any] = {"calc_date": None, "funds": 0, "top": [], "bottom": []}
    if "fund_metrics" not in tables:
        return out
    m = fund_metrics
    calc_date = conn.execute(sa.select(sa.func.max(m.c.calc_date)).where(m.c.calc_date <= as_of)).scalar()
    if calc_date is None:
        return out
    has_info = "fund_info" in tables
    columns = [m.c.fund_code, *(m.c[name] for name in _SHARPE_COLUMNS)]
    base = sa.select(*columns).where(m.c.calc_date == calc_date, m.c.sharpe_ratio.is_not(None))
    if has_info:
        base = base.add_columns(fund_info.c.fund_name, fund_info.c.fund_type).outerjoin(
            fund_info, fund_info.c.fund_code == m.c.fund_code
        )
    out["calc_date"] = calc_date.isoformat()
    out["funds"] = conn.execute(
        sa.select(sa.func.count())
        .select_from(m)
        .where(m.c.calc_date == calc_date, m.c.sharpe_ratio.is_not(None))
    ).scalar_one()
    for key, order in (("top", m.c.sharpe_ratio.desc()), ("bottom", m.c.sharpe_ratio.asc())):
        rows = conn.execute(base.order_by(order, m.c.fund_code).limit(TOP_N)).mappings()
        out[key] = [
            {
                "fund_code": r["fund_code"],
                "fund_name": r.get("fund_name"),
                "fund_type": r.get("fund_type"),
                **{name: r[name] for name in _SHARPE_COLUMNS},
            }
            for r in rows
        ]
    return out
