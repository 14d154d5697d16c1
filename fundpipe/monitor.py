"""The monitoring panel of the fund pipeline: the numbers an operator checks every morning.

Everything is returned as plain JSON-serialisable data (str, int, float, None, lists, dicts;
dates and times as ISO strings, times in UTC), so the same panel feeds a terminal, a JSON
API or a web page::

    import sqlalchemy as sa
    from fundpipe import monitor

    engine = sa.create_engine("sqlite:///data/scheduler.db")
    print(monitor.render_text(monitor.panel(engine)))

The panel only reads: it creates no table. On an empty database (no fund tables, no run
history) every count is 0, every latest date ``None`` (printed "never") and the run history
section says it is unavailable.

The run history is the daemon's ``job_executions`` table. fundpipe knows nothing of the
scheduler, so the table is described here by name and the columns it reads (naive UTC
datetimes), and treated as external: it may be absent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from fundpipe.schema import data_update_log, fund_metrics, fund_nav, fund_nav_quarantine, fund_nav_staging

__all__ = [
    "FAILURE_STATUSES",
    "HISTORY_TABLE",
    "JOB_STATUSES",
    "business_days_behind",
    "count_summary",
    "freshness",
    "existing_tables",
    "job_executions",
    "job_success",
    "panel",
    "recent_updates",
    "render_text",
    "success_rate",
]

HISTORY_TABLE = "job_executions"
#: Statuses of ``job_executions`` in display order; ``running`` is not finished yet.
JOB_STATUSES = ("success", "failed", "timeout", "interrupted", "missed", "skipped", "running")
#: Finished statuses that are not a success.
FAILURE_STATUSES = ("failed", "timeout", "interrupted", "missed", "skipped")

#: The columns of the daemon's run history this package reads (an external table).
job_executions = sa.table(
    HISTORY_TABLE,
    sa.column("id", sa.Integer),
    sa.column("job_id", sa.String),
    sa.column("scheduled_run_time", sa.DateTime),
    sa.column("started_at", sa.DateTime),
    sa.column("finished_at", sa.DateTime),
    sa.column("status", sa.String),
    sa.column("duration", sa.Float),
    sa.column("trigger", sa.String),
)

UPDATES_HOURS = 24
UPDATES_LIMIT = 200
JOB_DAYS = 7
QUARANTINE_DAYS = 7
#: A table more business days behind ``today`` than this is reported ``stale``: on a weekday
#: morning the newest NAV is the previous trading day's (1 behind) until the evening run.
STALE_AFTER_BUSINESS_DAYS = 1


def utcnow() -> dt.datetime:
    """The current time as a naive UTC datetime, the form every table stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def existing_tables(engine: sa.Engine) -> set[str]:
    """Names of the tables that exist in the engine's default schema."""
    return set(sa.inspect(engine).get_table_names())


def business_days_behind(latest: dt.date, today: dt.date) -> int:
    """Monday-Friday days after ``latest`` up to and including ``today`` (0 if not after)."""
    if today <= latest:
        return 0
    weeks, rest = divmod((today - latest).days, 7)
    extra = sum((latest + dt.timedelta(days=i)).weekday() < 5 for i in range(1, rest + 1))
    return weeks * 5 + extra


def success_rate(counts: Mapping[str, int]) -> float | None:
    """Share of finished runs that succeeded, from ``{status: count}``; None if none finished.

    ``running`` rows are not finished and count on neither side; every other status
    (``failed``, ``timeout``, ``interrupted``, ``missed``, ``skipped``) counts against.
    """
    finished = sum(n for status, n in counts.items() if status != "running")
    return counts.get("success", 0) / finished if finished else None


def freshness(
    engine: sa.Engine, *, today: dt.date, now: dt.datetime, tables: set[str] | None = None
) -> dict[str, Any]:
    """Data freshness per fund table.

    ``fund_nav``: newest ``nav_date`` on or before ``today``, funds reported that day, calendar
    and business days behind ``today``, status ``ok`` / ``stale`` / ``never``; ``fund_metrics``
    the same for ``calc_date``; ``fund_nav_staging``: rows waiting for validation and when the
    oldest was collected; ``fund_nav_quarantine``: rows quarantined in the 7 days before ``now``
    (naive UTC).
    """
    tables = existing_tables(engine) if tables is None else tables
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for name, table, column in (
            ("fund_nav", fund_nav, fund_nav.c.nav_date),
            ("fund_metrics", fund_metrics, fund_metrics.c.calc_date),
        ):
            latest = funds = None
            if name in tables:
                latest = conn.execute(sa.select(sa.func.max(column)).where(column <= today)).scalar()
                if latest is not None:
                    funds = conn.execute(
                        sa.select(sa.func.count()).select_from(table).where(column == latest)
                    ).scalar_one()
            out[name] = _dated(latest, today, funds)

        unprocessed, oldest = 0, None
        if "fund_nav_staging" in tables:
            unprocessed, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(fund_nav_staging.c.collected_at)).where(
                    fund_nav_staging.c.processed_at.is_(None)
                )
            ).one()
        out["fund_nav_staging"] = {"unprocessed": int(unprocessed or 0), "oldest_unprocessed": _iso(oldest)}

        since = now - dt.timedelta(days=QUARANTINE_DAYS)
        quarantined = 0
        if "fund_nav_quarantine" in tables:
            quarantined = conn.execute(
                sa.select(sa.func.count())
                .select_from(fund_nav_quarantine)
                .where(
                    fund_nav_quarantine.c.quarantined_at >= since, fund_nav_quarantine.c.quarantined_at < now
                )
            ).scalar_one()
        out["fund_nav_quarantine"] = {"days": QUARANTINE_DAYS, "since": _iso(since), "rows": int(quarantined)}
    return out


def _dated(latest: dt.date | None, today: dt.date, funds: int | None) -> dict[str, Any]:
    if latest is None:
        return {
            "latest": None,
            "funds": 0,
            "days_behind": None,
            "business_days_behind": None,
            "status": "never",
        }
    behind = business_days_behind(latest, today)
    return {
        "latest": latest.isoformat(),
        "funds": int(funds or 0),
        "days_behind": (today - latest).days,
        "business_days_behind": behind,
        "status": "stale" if behind > STALE_AFTER_BUSINESS_DAYS else "ok",
    }


def recent_updates(
    engine: sa.Engine,
    *,
    since: dt.datetime,
    until: dt.datetime | None = None,
    limit: int = UPDATES_LIMIT,
    tables: set[str] | None = None,
) -> list[dict[str, Any]]:
    """``data_update_log`` rows started in ``[since, until)``, newest first, at most ``limit``."""
    tables = existing_tables(engine) if tables is None else tables
    if "data_update_log" not in tables:
        return []
    log = data_update_log
    query = sa.select(log).where(log.c.started_at >= since).order_by(log.c.started_at.desc(), log.c.id.desc())
    if until is not None:
        query = query.where(log.c.started_at < until)
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit)).mappings().all()
    return [
        {
            "id": int(r["id"]),
            "step": r["step"],
            "as_of": _iso(r["as_of"]),
            "status": r["status"],
            "started_at": _iso(r["started_at"]),
            "finished_at": _iso(r["finished_at"]),
            "seconds": _seconds(r["started_at"], r["finished_at"]),
            "rows_in": r["rows_in"],
            "rows_loaded": r["rows_loaded"],
            "rows_rejected": r["rows_rejected"],
            "message": r["message"],
        }
        for r in rows
    ]


def job_success(
    engine: sa.Engine, *, since: dt.datetime, until: dt.datetime, tables: set[str] | None = None
) -> dict[str, Any]:
    """Runs per job started in ``[since, until)`` from ``job_executions``, with success rates.

    Returns ``available`` (False when the table is missing), ``jobs``: one dict per job
    (``job_id``, ``runs``, ``success``, ``failed`` = finished but not a success, ``running``,
    ``by_status``, ``success_rate`` as a fraction or None, see :func:`success_rate`), and
    ``total`` with the same counts over all jobs.
    """
    tables = existing_tables(engine) if tables is None else tables
    out: dict[str, Any] = {"available": HISTORY_TABLE in tables, "since": _iso(since), "jobs": []}
    counts: dict[str, dict[str, int]] = {}
    if out["available"]:
        t = job_executions
        query = (
            sa.select(t.c.job_id, t.c.status, sa.func.count())
            .where(t.c.started_at >= since, t.c.started_at < until)
            .group_by(t.c.job_id, t.c.status)
        )
        with engine.connect() as conn:
            for job_id, status, n in conn.execute(query):
                counts.setdefault(job_id, {})[status] = int(n)
    total: dict[str, int] = {}
    for job_id in sorted(counts):
        out["jobs"].append({"job_id": job_id, **count_summary(counts[job_id])})
        for status, n in counts[job_id].items():
            total[status] = total.get(status, 0) + n
    out["total"] = count_summary(total)
    return out


def count_summary(by_status: Mapping[str, int]) -> dict[str, Any]:
    """``runs``, ``success``, ``failed`` (finished, not a success), ``running``, ``by_status`` and
    ``success_rate`` from ``{status: count}``; statuses in :data:`JOB_STATUSES` order."""
    ordered = {s: by_status[s] for s in JOB_STATUSES if by_status.get(s)}
    ordered.update({s: n for s, n in sorted(by_status.items()) if s not in ordered and n})
    running = ordered.get("running", 0)
    success = ordered.get("success", 0)
    runs = sum(ordered.values())
    return {
        "runs": runs,
        "success": success,
        "failed": runs - success - running,
        "running": running,
        "by_status": ordered,
        "success_rate": success_rate(ordered),
    }


def panel(
    engine: sa.Engine, *, today: dt.date | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The dashboard's panel: freshness per table, the last 24 h of updates, 7-day job success.

    ``today`` (default: the local date) is what freshness counts days behind from. ``now``
    (naive UTC) ends the 24-hour and 7-day windows; by default it is the current time, or the
    end of ``today`` (midnight after it, UTC) when ``today`` is more than a day in the past, so a
    panel for a fixed past day is reproducible. Works on an empty database and creates nothing.
    """
    if now is None:
        now = utcnow()
        if today is not None and today < now.date() - dt.timedelta(days=1):
            now = dt.datetime.combine(today + dt.timedelta(days=1), dt.time())
    elif now.tzinfo is not None:
        now = now.astimezone(dt.UTC).replace(tzinfo=None)
    today = dt.date.today() if today is None else today
    tables = existing_tables(engine)
    since_updates = now - dt.timedelta(hours=UPDATES_HOURS)
    since_jobs = now - dt.timedelta(days=JOB_DAYS)
    updates = recent_updates(engine, since=since_updates, until=now, tables=tables)
    return {
        "today": today.isoformat(),
        "now": _iso(now),
        "freshness": freshness(engine, today=today, now=now, tables=tables),
        "updates": {
            "hours": UPDATES_HOURS,
            "since": _iso(since_updates),
            "count": len(updates),
            "limit": UPDATES_LIMIT,
            "rows": updates,
        },
        "jobs": {"days": JOB_DAYS, **job_success(engine, since=since_jobs, until=now, tables=tables)},
    }


def render_text(panel: dict[str, Any]) -> str:
    """The panel as plain text for a terminal (also works on a panel read back from JSON)."""
    lines: list[str] = []
    fresh = panel["freshness"]
    lines.append(f"Data freshness (today {panel['today']})")
    rows = [("table", "latest", "funds", "behind", "status")]
    for name in ("fund_nav", "fund_metrics"):
        item = fresh[name]
        if item["latest"] is None:
            rows.append((name, "never", "0", "-", "never"))
        else:
            behind = f"{item['days_behind']} d ({item['business_days_behind']} business)"
            rows.append((name, item["latest"], str(item["funds"]), behind, item["status"]))
    first = len("fund_nav_quarantine")
    lines += _table(rows, first_width=first, right=(2,))
    staging = fresh["fund_nav_staging"]
    oldest = staging["oldest_unprocessed"]
    lines.append(
        f"  {'fund_nav_staging':<{first}}  {staging['unprocessed']} rows waiting for validation"
        + (f" (oldest collected {_short(oldest)} UTC)" if oldest else "")
    )
    quarantine = fresh["fund_nav_quarantine"]
    lines.append(
        f"  {'fund_nav_quarantine':<{first}}  {quarantine['rows']} rows in the last {quarantine['days']} days"
    )

    updates = panel["updates"]
    more = f", showing the newest {updates['limit']}" if updates["count"] >= updates["limit"] else ""
    lines.append("")
    since = _short(updates["since"])
    lines.append(f"Updates in the last {updates['hours']} h (since {since} UTC): {updates['count']}{more}")
    if updates["rows"]:
        rows = [("started (UTC)", "step", "as_of", "status", "in", "loaded", "rejected", "seconds")]
        for r in updates["rows"]:
            rows.append(
                (
                    _short(r["started_at"]),
                    r["step"],
                    r["as_of"] or "-",
                    r["status"],
                    _num(r["rows_in"]),
                    _num(r["rows_loaded"]),
                    _num(r["rows_rejected"]),
                    "-" if r["seconds"] is None else f"{r['seconds']:.1f}",
                )
            )
        lines += _table(rows, right=(4, 5, 6, 7))
        failed = [r for r in updates["rows"] if r["status"] == "failed" and r["message"]]
        for r in failed[:5]:
            lines.append(f"  ! {r['step']} {r['as_of'] or ''}: {_one_line(r['message'], 160)}")

    jobs = panel["jobs"]
    lines.append("")
    if not jobs["available"]:
        lines.append(f"Jobs, last {jobs['days']} days: no run history available")
    else:
        total = jobs["total"]
        lines.append(
            f"Jobs, last {jobs['days']} days: {total['runs']} runs, {_rate(total['success_rate'])} success"
        )
        if jobs["jobs"]:
            rows = [("job", "runs", "success", "failed", "running", "rate", "not ok")]
            for j in jobs["jobs"]:
                bad = ", ".join(
                    f"{s} {n}" for s, n in j["by_status"].items() if s not in ("success", "running")
                )
                rows.append(
                    (
                        j["job_id"],
                        str(j["runs"]),
                        str(j["success"]),
                        str(j["failed"]),
                        str(j["running"]),
                        _rate(j["success_rate"]),
                        bad or "-",
                    )
                )
            lines += _table(rows, right=(1, 2, 3, 4, 5))
    return "\n".join(lines) + "\n"


def _table(rows: Sequence[Sequence[str]], first_width: int = 0, right: Sequence[int] = ()) -> list[str]:
    """Aligned columns; the first row is the header; columns in ``right`` are right-aligned."""
    cells = [[_one_line(str(c), 60) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    widths[0] = max(widths[0], first_width)
    out = []
    for row in cells:
        padded = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append(("  " + "  ".join(padded)).rstrip())
    return out


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f} %"


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


def _short(iso: str | None) -> str:
    """``2024-06-03T11:00:05.123`` -> ``2024-06-03 11:00``."""
    return "-" if not iso else iso.replace("T", " ")[:16]


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)
