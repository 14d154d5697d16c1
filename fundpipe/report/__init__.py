"""The weekly report: one self-contained HTML page per ISO week, written by ``weekly_full_calc``.

``reports/weekly-<ISO year>-W<ISO week>.html`` covers Monday to Sunday of the ISO week that
contains ``as_of`` (the Sunday run reports the week it ends). Sections:

0. the trading calendar: the week's sessions, and its closed weekdays with their holidays'
   names (``Thu 2026-10-01 National Day``), from the ``calendar`` passed in;
1. Job runs per day: a jobs x days grid of the runs the caller hands in (``runs``), each cell
   coloured by its worst status with the counts per status, and the week's totals;
2. data freshness: newest ``fund_nav`` date and how far it is behind ``as_of`` (calendar days
   and sessions), newest ``fund_metrics`` calc_date;
3. rows loaded and quarantined per day (``data_update_log``'s validation runs for ``as_of``
   dates in the week) with a chart, and those runs' quarantined rows by rule
   (``fund_nav_quarantine``);
4. job durations: a chart (each run on its local day of ``tz``) and median / maximum per job;
5. NAV coverage: per session of the week, the share of the funds expected (active in
   ``fund_info``) with a NAV, and the funds without a NAV on the week's last session;
6. NAV corrections: stored NAVs a later delivery changed during the week
   (``fund_nav_corrections``), with old and new values;
7. top and bottom 10 funds by Sharpe ratio within each fund type, on the newest calc_date up
   to ``as_of``.

The page and its charts are in the language in effect (:func:`fund_common.i18n.current`: in
the job, ``SCHEDULER_LANG``), ``<html lang>`` saying which; dates stay ISO, codes and the data's
own text (fund names, job ids) as stored.

The page opens offline: no script, no external file or URL, inline CSS, charts as PNG data
URIs, and a Content-Security-Policy that forbids anything else. Every value taken from the
database or the runs is HTML-escaped. A job runs in whatever day of the report's timezone
(``tz``, default UTC; pass the scheduler's) it started in; jobs that did not run that week have
no row. The run history is the caller's (fundpipe knows nothing of the scheduler): without
``runs`` those sections say there is none. The run writing the report passes its own
execution id (``exclude_execution_id``, matched against each run's ``id``) so it does not count
itself as running::

    from fundpipe import report
    runs = [{"job_id": "daily_collection", "status": "success",
             "started_at": dt.datetime(2024, 6, 3, 11), "duration": 2.5}]
    path = report.write_weekly_report(engine, "reports", dt.date(2024, 6, 9), xshg, runs=runs,
                                      tz="Asia/Shanghai")

Modules: :mod:`~fundpipe.report.week` (the week and its file name), :mod:`~fundpipe.report.data`
(collecting), :mod:`~fundpipe.report.charts` (PNG charts), :mod:`~fundpipe.report.render` (the
page, from ``templates/weekly.html.j2``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from fund_common.calendars import SessionCalendar
from fundpipe.report import charts
from fundpipe.report.data import TOP_N, weekly_report_data
from fundpipe.report.render import render_html
from fundpipe.report.week import report_name, week_bounds, week_window

__all__ = [
    "TOP_N",
    "render_charts",
    "render_html",
    "report_name",
    "week_bounds",
    "week_window",
    "weekly_report_data",
    "write_weekly_report",
]


def write_weekly_report(
    engine: sa.Engine,
    report_dir: str | os.PathLike[str],
    as_of: dt.date,
    calendar: SessionCalendar,
    *,
    runs: Iterable[Mapping[str, Any]] | None = None,
    tz: dt.tzinfo | str | None = None,
    now: dt.datetime | None = None,
    exclude_execution_id: int | None = None,
) -> Path:
    """Collect, render and write the report of ``as_of``'s ISO week; return its path.

    ``calendar``, ``runs``, ``tz``, ``now`` and ``exclude_execution_id`` as for
    :func:`weekly_report_data`. ``report_dir`` is created if missing. The file is written to a
    temporary file in the same folder and renamed over the old one, so a reader never sees half
    a report and a re-run replaces it.
    """
    data = weekly_report_data(
        engine, as_of, calendar, runs=runs, tz=tz, now=now, exclude_execution_id=exclude_execution_id
    )
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
