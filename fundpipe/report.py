"""The weekly report: one self-contained HTML page per ISO week, written by ``weekly_full_calc``.

``reports/weekly-<ISO year>-W<ISO week>.html`` covers Monday to Sunday of the ISO week that
contains ``as_of`` (the Sunday run reports the week it ends). Sections:

1. Job runs per day: a jobs x days grid from the daemon's ``job_executions`` table, each cell
   coloured by its worst status with the counts per status, and the week's totals;
2. data freshness: newest ``fund_nav`` date and how far it is behind ``as_of``, newest
   ``fund_metrics`` calc_date;
3. rows loaded and quarantined per day (``data_update_log``'s validation runs for ``as_of``
   dates in the week) with a chart, and those runs' quarantined rows by rule
   (``fund_nav_quarantine``);
4. job durations: a chart and median / maximum per job;
5. top and bottom 10 funds by Sharpe ratio on the newest calc_date up to ``as_of``.

The page opens offline: no script, no external file or URL, inline CSS, charts as PNG data
URIs, and a Content-Security-Policy that forbids anything else. Every value taken from the
database is HTML-escaped. A job runs in whatever day of the report's timezone (``tz``, default
UTC; pass the scheduler's timezone) it started in; jobs that did not run that week have no row.
The run history is optional: without a ``job_executions`` table those sections say so::

    from fundpipe import report
    path = report.write_weekly_report(engine, "reports", dt.date(2024, 6, 9), tz="Asia/Shanghai")
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import os
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from fundpipe import charts
from fundpipe.monitor import (
    HISTORY_TABLE,
    business_days_behind,
    count_summary,
    existing_tables,
    job_executions,
    utcnow,
)
from fundpipe.schema import data_update_log, fund_info, fund_metrics, fund_nav, fund_nav_quarantine

__all__ = [
    "TOP_N",
    "render_charts",
    "render_html",
    "report_name",
    "week_bounds",
    "weekly_report_data",
    "write_weekly_report",
]

#: Funds listed at each end of the Sharpe ranking.
TOP_N = 10

# Cell class of each job status, worst first: a day shows its worst run.
_STATUS_CLASS = {
    "failed": "bad",
    "timeout": "bad",
    "interrupted": "bad",
    "missed": "warn",
    "skipped": "warn",
    "running": "run",
    "success": "ok",
}
_SEVERITY = list(_STATUS_CLASS)
_NO_DURATION = ("missed", "skipped", "running")  # never ran, or not finished


def week_bounds(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the ISO week containing ``as_of``."""
    monday = as_of - dt.timedelta(days=as_of.weekday())
    return monday, monday + dt.timedelta(days=6)


def report_name(as_of: dt.date) -> str:
    """``weekly-<ISO year>-W<ISO week>.html``, e.g. ``weekly-2024-W23.html`` for 2024-06-09."""
    year, week, _ = as_of.isocalendar()
    return f"weekly-{year}-W{week:02d}.html"


def write_weekly_report(
    engine: sa.Engine,
    report_dir: str | os.PathLike[str],
    as_of: dt.date,
    *,
    tz: dt.tzinfo | str | None = None,
    now: dt.datetime | None = None,
) -> Path:
    """Collect, render and write the report of ``as_of``'s ISO week; return its path.

    ``report_dir`` is created if missing. The file is written to a temporary file in the same
    folder and renamed over the old one, so a reader never sees half a report and a re-run
    replaces it. ``now`` (naive UTC, default the current time) is the generation time shown.
    """
    data = weekly_report_data(engine, as_of, tz=tz, now=now)
    images = {name: charts.data_uri(png) if png else None for name, png in render_charts(data).items()}
    page = render_html(data, images)
    directory = Path(report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / report_name(as_of)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def weekly_report_data(
    engine: sa.Engine,
    as_of: dt.date,
    *,
    tz: dt.tzinfo | str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Everything the report shows, as JSON-serialisable data (dates as ISO strings).

    Reads only; missing tables give empty sections. Keys: ``title``, ``week_start``,
    ``week_end``, ``as_of``, ``timezone``, ``generated_at``, ``days``, ``history_available``,
    ``jobs`` (per job: ``job_id``, ``days`` [{``counts``, ``status``}] x 7, ``totals``,
    ``durations`` [[local ISO time, seconds]], ``median_seconds``, ``max_seconds``),
    ``totals``, ``freshness``, ``loads`` (per day), ``quarantine_rules``, ``sharpe``.
    """
    zone = _zone(tz)
    monday, sunday = week_bounds(as_of)
    year, week, _ = as_of.isocalendar()
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    start = _utc(dt.datetime.combine(monday, dt.time(), tzinfo=zone))
    end = _utc(dt.datetime.combine(sunday + dt.timedelta(days=1), dt.time(), tzinfo=zone))
    tables = existing_tables(engine)
    with engine.connect() as conn:
        history = _job_runs(conn, start, end, monday, zone) if HISTORY_TABLE in tables else None
        data: dict[str, Any] = {
            "title": f"{year}-W{week:02d}",
            "week_start": monday.isoformat(),
            "week_end": sunday.isoformat(),
            "as_of": as_of.isoformat(),
            "timezone": str(zone),
            "generated_at": _naive_utc(now or utcnow()).isoformat(timespec="seconds"),
            "days": [d.isoformat() for d in days],
            "history_available": history is not None,
            "jobs": history or [],
            "totals": count_summary(_sum_counts(history or [])),
            "freshness": _freshness(conn, as_of, tables),
            "loads": _loads(conn, days, tables),
            "quarantine_rules": _quarantine_rules(conn, days, tables),
            "sharpe": _sharpe(conn, as_of, tables),
        }
    return data


def _zone(tz: dt.tzinfo | str | None) -> dt.tzinfo:
    if tz is None:
        return dt.UTC
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is None else _utc(moment)


def _job_runs(
    conn: sa.Connection, start: dt.datetime, end: dt.datetime, monday: dt.date, zone: dt.tzinfo
) -> list[dict[str, Any]]:
    t = job_executions
    query = (
        sa.select(t.c.job_id, t.c.status, t.c.started_at, t.c.duration)
        .where(t.c.started_at >= start, t.c.started_at < end)
        .order_by(t.c.started_at, t.c.id)
    )
    grid: dict[str, list[dict[str, int]]] = {}
    durations: dict[str, list[tuple[dt.datetime, float]]] = {}
    for job_id, status, started_at, duration in conn.execute(query):
        local = started_at.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
        cell = grid.setdefault(job_id, [{} for _ in range(7)])[(local.date() - monday).days]
        cell[status] = cell.get(status, 0) + 1
        if duration is not None and status not in _NO_DURATION:
            durations.setdefault(job_id, []).append((local, float(duration)))
    jobs = []
    for job_id in sorted(grid):
        cells = grid[job_id]
        seconds = [s for _, s in durations.get(job_id, [])]
        days = [{"counts": count_summary(c)["by_status"], "status": _worst(c)} for c in cells]
        jobs.append(
            {
                "job_id": job_id,
                "days": days,
                "totals": count_summary(_sum_counts([{"days": days}])),
                "durations": [
                    [when.isoformat(timespec="seconds"), s] for when, s in durations.get(job_id, [])
                ],
                "median_seconds": statistics.median(seconds) if seconds else None,
                "max_seconds": max(seconds) if seconds else None,
            }
        )
    return jobs


def _worst(counts: Mapping[str, int]) -> str | None:
    present = [s for s, n in counts.items() if n]
    if not present:
        return None
    return min(present, key=lambda s: _SEVERITY.index(s) if s in _SEVERITY else -1)


def _sum_counts(jobs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for job in jobs:
        for day in job["days"]:
            for status, n in day["counts"].items():
                total[status] = total.get(status, 0) + n
    return total


def _freshness(conn: sa.Connection, as_of: dt.date, tables: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, table, column in (
        ("nav", fund_nav, fund_nav.c.nav_date),
        ("metrics", fund_metrics, fund_metrics.c.calc_date),
    ):
        latest = funds = None
        if table.name in tables:
            latest = conn.execute(sa.select(sa.func.max(column)).where(column <= as_of)).scalar()
            if latest is not None:
                funds = conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(column == latest)
                ).scalar_one()
        out[key] = {
            "latest": None if latest is None else latest.isoformat(),
            "funds": int(funds or 0),
            "days_behind": None if latest is None else (as_of - latest).days,
            "business_days_behind": None if latest is None else business_days_behind(latest, as_of),
        }
    return out


def _loads(conn: sa.Connection, days: Sequence[dt.date], tables: set[str]) -> list[dict[str, Any]]:
    per_day = {
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


_SHARPE_COLUMNS = (
    "sharpe_ratio",
    "annual_return",
    "annual_volatility",
    "max_drawdown",
    "sortino_ratio",
    "n_obs",
)


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


def render_charts(data: Mapping[str, Any]) -> dict[str, bytes | None]:
    """The report's PNG charts (``rows``, ``durations``); None where the week has no data."""
    loads = data["loads"]
    rows_png = None
    if any(d["loaded"] or d["quarantined"] for d in loads):
        rows_png = charts.daily_rows_chart(
            [dt.date.fromisoformat(d["date"]) for d in loads],
            [d["loaded"] for d in loads],
            [d["quarantined"] for d in loads],
        )
    runs = {
        job["job_id"]: [(dt.datetime.fromisoformat(when), s) for when, s in job["durations"]]
        for job in data["jobs"]
        if job["durations"]
    }
    durations_png = None
    if runs:
        start = dt.datetime.fromisoformat(data["week_start"])
        durations_png = charts.job_durations_chart(runs, start, start + dt.timedelta(days=7))
    return {"rows": rows_png, "durations": durations_png}


# --- HTML ------------------------------------------------------------------------------------
# Every value from the data goes through _e(); the markup around it is constant.

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0;
background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 10px}
h3{font-size:14px;margin:14px 0 6px}
.meta{color:#666;margin:0 0 18px}
section{background:#fff;border:1px solid #e2e4e8;border-radius:6px;padding:14px 16px;margin:0 0 16px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
th{font-weight:600;color:#444;background:#fafbfc}
td.n,th.n{text-align:right}
th,td:first-child{white-space:nowrap}
.scroll{overflow-x:auto}
.grid td{text-align:center;min-width:56px;font-size:12px;border:1px solid #fff}
.grid td.job{text-align:left;font-weight:600;font-size:13px;min-width:0}
.grid td.n{text-align:right;min-width:0;font-size:13px}
.ok{background:#d6efd9}.bad{background:#f7c9c7}.warn{background:#fde3b4}.run{background:#cfe3fa}
.none{background:#f1f2f4;color:#999}
.legend span{display:inline-block;padding:1px 8px;margin-right:6px;border-radius:3px;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 160px;border:1px solid #e2e4e8;border-radius:6px;padding:8px 12px;background:#fafbfc}
.card b{display:block;font-size:20px}.card small{color:#666}
.cols{display:flex;flex-wrap:wrap;gap:24px}.cols>div{flex:1 1 420px}
.empty{color:#777;font-style:italic}
img{max-width:100%;height:auto;display:block;margin:4px 0 10px}
.neg{color:#b3261e}
footer{color:#888;font-size:12px;text-align:center}
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _td(value: Any, numeric: bool = False, cls: str = "") -> str:
    classes = " ".join(c for c in ("n" if numeric else "", cls) if c)
    attr = f' class="{_e(classes)}"' if classes else ""
    return f"<td{attr}>{_e(value)}</td>"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool] = ()) -> str:
    """A table whose ``rows`` are already rendered ``<td>`` strings; ``head`` is escaped here."""
    numeric = list(numeric) + [False] * (len(head) - len(numeric))
    ths = "".join(f"<th{' class=n' if n else ''}>{_e(h)}</th>" for h, n in zip(head, numeric, strict=True))
    body = "".join(f"<tr>{''.join(r)}</tr>" for r in rows)
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>"


def _img(uri: str | None, alt: str, empty: str) -> str:
    if not uri:
        return f'<p class="empty">{_e(empty)}</p>'
    return f'<img src="{_e(uri)}" alt="{_e(alt)}">'


def render_html(data: Mapping[str, Any], images: Mapping[str, str | None]) -> str:
    """The report page from :func:`weekly_report_data` and chart data URIs (None: no chart)."""
    days = [dt.date.fromisoformat(d) for d in data["days"]]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Fund pipeline weekly report {_e(data['title'])}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>Fund pipeline weekly report {_e(data['title'])}</h1>",
        f'<p class="meta">{_e(f"{days[0]:%a %Y-%m-%d} – {days[-1]:%a %Y-%m-%d}")} · as of '
        f"{_e(data['as_of'])} · days in {_e(data['timezone'])} · generated "
        f"{_e(data['generated_at'].replace('T', ' '))} UTC</p>",
        _summary(data),
        _runs_section(data, days),
        _freshness_section(data),
        _loads_section(data, images.get("rows")),
        _durations_section(data, images.get("durations")),
        _sharpe_section(data),
        "<footer>fund-scheduler · fundpipe.report</footer>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(data: Mapping[str, Any]) -> str:
    totals = data["totals"]
    loads = data["loads"]
    nav = data["freshness"]["nav"]
    runs = (
        f"{_e(_num(totals['runs']))} <small>runs, {_e(_rate(totals['success_rate']))} success</small>"
        if data["history_available"]
        else "- <small>no run history available</small>"
    )
    cards = [
        ("Job runs", runs),
        ("Failed / not ok", f"{_e(_num(totals['failed']))} <small>runs</small>"),
        ("Rows loaded", f"{_e(_num(sum(d['loaded'] for d in loads)))} <small>into fund_nav</small>"),
        ("Rows quarantined", f"{_e(_num(sum(d['quarantined'] for d in loads)))} <small>by the rules</small>"),
        ("Latest NAV date", _e(nav["latest"] or "never")),
    ]
    body = "".join(
        f'<div class="card"><small>{_e(title)}</small><b>{value}</b></div>' for title, value in cards
    )
    return f'<section id="summary"><h2>Summary</h2><div class="cards">{body}</div></section>'


def _runs_section(data: Mapping[str, Any], days: Sequence[dt.date]) -> str:
    title = '<section id="job-runs"><h2>Job runs per day</h2>'
    if not data["history_available"]:
        return title + '<p class="empty">no run history available (no job_executions table)</p></section>'
    if not data["jobs"]:
        return title + '<p class="empty">no job ran this week</p></section>'
    head = "".join(f"<th>{_e(f'{d:%a}')}<br>{_e(f'{d:%m-%d}')}</th>" for d in days)
    rows = []
    for job in data["jobs"]:
        cells = [f'<td class="job">{_e(job["job_id"])}</td>']
        for day in job["days"]:
            counts = day["counts"]
            if not counts:
                cells.append('<td class="none">–</td>')
                continue
            text = ", ".join(f"{n} {'ok' if s == 'success' else s}" for s, n in counts.items())
            cls = _STATUS_CLASS.get(day["status"], "bad")
            cells.append(f'<td class="{_e(cls)}" title="{_e(text)}">{_e(text)}</td>')
        t = job["totals"]
        cells += [
            _td(t["runs"], True),
            _td(t["success"], True),
            _td(t["failed"], True),
            _td(_rate(t["success_rate"]), True),
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    totals = data["totals"]
    by_status = ", ".join(f"{s} {n}" for s, n in totals["by_status"].items()) or "none"
    legend = (
        '<p class="legend"><span class="ok">success</span><span class="run">running</span>'
        '<span class="warn">missed / skipped</span><span class="bad">failed / timeout / interrupted</span>'
        '<span class="none">no run</span></p>'
    )
    return (
        title + '<div class="scroll"><table class="grid"><thead><tr><th>job</th>'
        f"{head}<th class=n>runs</th><th class=n>ok</th><th class=n>not<br>ok</th><th class=n>success</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        + legend
        + f"<p>Week total: {_e(_num(totals['runs']))} runs, {_e(_rate(totals['success_rate']))} success "
        f"({_e(by_status)}).</p></section>"
    )


def _freshness_section(data: Mapping[str, Any]) -> str:
    fresh = data["freshness"]
    rows = []
    for label, item in (
        ("fund_nav (nav_date)", fresh["nav"]),
        ("fund_metrics (calc_date)", fresh["metrics"]),
    ):
        if item["latest"] is None:
            rows.append([_td(label), _td("never"), _td("0", True), _td("-", True), _td("-", True)])
        else:
            rows.append(
                [
                    _td(label),
                    _td(item["latest"]),
                    _td(_num(item["funds"]), True),
                    _td(item["days_behind"], True),
                    _td(item["business_days_behind"], True),
                ]
            )
    table = _table(
        ["table", "latest date", "funds", f"days behind {data['as_of']}", "business days behind"],
        rows,
        [False, False, True, True, True],
    )
    return f'<section id="freshness"><h2>Data freshness</h2>{table}</section>'


def _loads_section(data: Mapping[str, Any], uri: str | None) -> str:
    rows = [
        [
            _td(f"{dt.date.fromisoformat(d['date']):%a} {d['date']}"),
            _td(d["runs"], True),
            _td(d["failed_runs"], True),
            _td(_num(d["staged"]), True),
            _td(_num(d["loaded"]), True),
            _td(_num(d["quarantined"]), True),
        ]
        for d in data["loads"]
    ]
    by_day = _table(
        ["day (as_of)", "validation runs", "failed", "staged", "loaded", "quarantined"],
        rows,
        [False, True, True, True, True, True],
    )
    rules = data["quarantine_rules"]
    if rules:
        by_rule = _table(
            ["rule", "rows", "example reason"],
            [[_td(r["rule"]), _td(_num(r["rows"]), True), _td(r["example"])] for r in rules],
            [False, True, False],
        )
    else:
        by_rule = '<p class="empty">no row quarantined this week</p>'
    chart = _img(uri, "Rows loaded and quarantined per day", "no rows loaded this week")
    return (
        '<section id="rows"><h2>Rows loaded and quarantined</h2>'
        f'{chart}<div class="cols"><div><h3>Per day</h3>{by_day}</div>'
        f"<div><h3>Quarantined by rule</h3>{by_rule}</div></div></section>"
    )


def _durations_section(data: Mapping[str, Any], uri: str | None) -> str:
    title = '<section id="durations"><h2>Job durations</h2>'
    if not data["history_available"]:
        return title + '<p class="empty">no run history available (no job_executions table)</p></section>'
    chart = _img(uri, "Job durations over the week", "no finished job run this week")
    rows = [
        [
            _td(job["job_id"]),
            _td(len(job["durations"]), True),
            _td(_num(job["median_seconds"], 1), True),
            _td(_num(job["max_seconds"], 1), True),
        ]
        for job in data["jobs"]
        if job["durations"]
    ]
    table = (
        _table(["job", "finished runs", "median s", "max s"], rows, [False, True, True, True]) if rows else ""
    )
    return title + chart + table + "</section>"


def _sharpe_section(data: Mapping[str, Any]) -> str:
    sharpe = data["sharpe"]
    title = '<section id="sharpe"><h2>Funds by Sharpe ratio</h2>'
    if sharpe["calc_date"] is None:
        return title + '<p class="empty">no fund metrics yet</p></section>'
    head = ["fund", "name", "type", "Sharpe", "annual return", "volatility", "max drawdown", "Sortino", "obs"]
    numeric = [False, False, False, True, True, True, True, True, True]

    def table(funds: Sequence[Mapping[str, Any]]) -> str:
        rows = [
            [
                _td(f["fund_code"]),
                _td(f["fund_name"] or ""),
                _td(f["fund_type"] or ""),
                _td(_num(f["sharpe_ratio"], 3), True, "neg" if (f["sharpe_ratio"] or 0) < 0 else ""),
                _td(_pct(f["annual_return"]), True),
                _td(_pct(f["annual_volatility"]), True),
                _td(_pct(f["max_drawdown"]), True),
                _td(_num(f["sortino_ratio"], 3), True),
                _td(f["n_obs"], True),
            ]
            for f in funds
        ]
        return _table(head, rows, numeric)

    intro = f"calc_date {sharpe['calc_date']}: {_num(sharpe['funds'])} funds with a Sharpe ratio."
    return (
        f"{title}<p>{_e(intro)}</p><h3>Top {TOP_N}</h3>{table(sharpe['top'])}"
        f"<h3>Bottom {TOP_N}</h3>{table(sharpe['bottom'])}</section>"
    )
