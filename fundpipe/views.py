"""The dashboard's fund views: one fund (NAV chart, latest metrics, quarantined rows) and the data
quality (quarantined rows by rule and day, one rule and day's rows), as the scheduler's panel
answers (``title``, ``tables``, ``charts``, ``notes``; see fund_scheduler/jobs/declare.py, the
scheduler imported by nobody here). ``jobs/fund_views.py`` declares them with their inputs.

Reads only, SQLAlchemy Core with bound parameters, on SQLite and MySQL/MariaDB alike, with
bounded answers: a fund's NAVs of the last :data:`NAV_YEARS` years before its latest, thinned to
at most :data:`NAV_POINTS_MAX` points (every k-th, the latest always kept); at most
:data:`QUARANTINE_ROWS` quarantined rows, the rest counted ("N more"); at most
:data:`QUALITY_DAYS_MAX` days. Like the monitoring panel it loads neither numpy nor pandas: it
runs in the daemon's process. Days of quarantine are local days of ``tz`` (the tables store
naive UTC); ``now`` is passed in. Texts are in the language in effect (``_``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from fund_common.clock import as_naive_utc
from fund_common.i18n import gettext as _
from fund_common.i18n import ngettext
from fundpipe.schema import CODE_LENGTH, fund_info, fund_metrics, fund_nav, fund_nav_quarantine

__all__ = [
    "CODE_PATTERN",
    "DATE_PATTERN",
    "DAYS_PATTERN",
    "NAV_POINTS_MAX",
    "NAV_YEARS",
    "QUALITY_DAYS_DEFAULT",
    "QUALITY_DAYS_MAX",
    "QUARANTINE_ROWS",
    "RULE_PATTERN",
    "fund_detail",
    "fund_panel",
    "quality_counts",
    "quality_panel",
    "quarantine_rows",
    "thin",
]

#: A fund code as the views accept it: what validation stores in ``fund_nav`` (at most
#: CODE_LENGTH characters, no control character), narrowed to letters, digits and ``._-``.
#: The syntax is shared by Python and the browser's ``pattern`` (``-`` escaped).
CODE_PATTERN = rf"[0-9A-Za-z][0-9A-Za-z._\-]{{0,{CODE_LENGTH - 1}}}"
RULE_PATTERN = r"[a-z][a-z0-9_]{0,63}"
DATE_PATTERN = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DAYS_PATTERN = r"[1-9]|[1-8][0-9]|90"
NAV_YEARS = 3
NAV_POINTS_MAX = 500
QUARANTINE_ROWS = 50
QUALITY_DAYS_DEFAULT = 14
QUALITY_DAYS_MAX = 90

#: The metrics shown, in order, and how: "pct" a fraction shown as percent, "ratio" a number.
_METRICS = (
    ("annual_return", "pct"),
    ("annual_volatility", "pct"),
    ("sharpe_ratio", "ratio"),
    ("sortino_ratio", "ratio"),
    ("max_drawdown", "pct"),
    ("calmar_ratio", "ratio"),
    ("return_1m", "pct"),
    ("return_3m", "pct"),
    ("return_6m", "pct"),
    ("return_1y", "pct"),
)


def _metric_label(column: str) -> str:
    """The metric's name in the language in effect (literals, for the catalogue)."""
    labels = {
        "annual_return": _("annualised return"),
        "annual_volatility": _("volatility"),
        "sharpe_ratio": _("Sharpe"),
        "sortino_ratio": _("Sortino ratio"),
        "max_drawdown": _("max drawdown"),
        "calmar_ratio": _("Calmar ratio"),
        "return_1m": _("1-month return"),
        "return_3m": _("3-month return"),
        "return_6m": _("6-month return"),
        "return_1y": _("1-year return"),
    }
    return labels[column]


# -- numbers ----------------------------------------------------------------------------------
def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _fmt(value: Any, how: str) -> str:
    number = _finite(value)
    if number is None:
        return "–"
    if how == "pct":
        return f"{number * 100:.2f} %"
    if how == "percent":  # already in percent (daily_return)
        return f"{number:.2f} %"
    if how == "nav":
        return f"{number:.4f}"
    return f"{number:.2f}"


def thin(points: Sequence[Any], most: int) -> list[Any]:
    """``points`` if at most ``most``, else every k-th (k the least that fits) with the last kept."""
    if len(points) <= most or most < 2:
        return list(points)
    step = math.ceil((len(points) - 1) / (most - 1))
    kept = list(points[::step])
    if kept[-1] is not points[-1]:
        kept.append(points[-1])
    return kept


def _local(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A stored naive-UTC time in ``tz``."""
    return moment.replace(tzinfo=dt.UTC).astimezone(tz)


def _utc_start(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """The naive-UTC time ``day`` begins in ``tz``."""
    return as_naive_utc(dt.datetime.combine(day, dt.time(), tzinfo=tz))


# -- queries ----------------------------------------------------------------------------------
def fund_detail(engine: sa.Engine, code: str) -> dict[str, Any]:
    """One fund: ``info`` (``fund_name``, ``fund_type``, ``is_active``; None without a
    fund_info row), ``nav`` (``[(date, unit_nav, accum_nav)]`` of the last :data:`NAV_YEARS`
    years before its latest NAV, oldest first, thinned by :func:`thin`), ``nav_rows`` (before
    thinning), ``latest`` (the latest NAV row as a dict, or None), ``metrics`` (its latest
    fund_metrics row as a dict, or None), ``quarantine`` (``rows``: at most
    :data:`QUARANTINE_ROWS`, newest first; ``total``)."""
    q = fund_nav_quarantine
    with engine.connect() as conn:
        info = (
            conn.execute(
                sa.select(fund_info.c.fund_name, fund_info.c.fund_type, fund_info.c.is_active).where(
                    fund_info.c.fund_code == code
                )
            )
            .mappings()
            .first()
        )
        last = conn.execute(
            sa.select(sa.func.max(fund_nav.c.nav_date)).where(fund_nav.c.fund_code == code)
        ).scalar()
        nav: list[tuple[dt.date, float, float | None]] = []
        latest = None
        if last is not None:
            since = last - dt.timedelta(days=round(365.25 * NAV_YEARS))
            rows = conn.execute(
                sa.select(
                    fund_nav.c.nav_date, fund_nav.c.unit_nav, fund_nav.c.accum_nav, fund_nav.c.daily_return
                )
                .where(fund_nav.c.fund_code == code, fund_nav.c.nav_date >= since)
                .order_by(fund_nav.c.nav_date)
            ).all()
            nav = [(r.nav_date, float(r.unit_nav), _finite(r.accum_nav)) for r in rows]
            latest = dict(rows[-1]._mapping) if rows else None
        metrics = (
            conn.execute(
                sa.select(fund_metrics)
                .where(fund_metrics.c.fund_code == code)
                .order_by(fund_metrics.c.calc_date.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        where = q.c.fund_code == code
        total = conn.execute(sa.select(sa.func.count()).select_from(q).where(where)).scalar() or 0
        quarantined = conn.execute(
            sa.select(q)
            .where(where)
            .order_by(q.c.quarantined_at.desc(), q.c.id.desc())
            .limit(QUARANTINE_ROWS)
        ).mappings()
        held = [dict(r) for r in quarantined]
    return {
        "code": code,
        "info": dict(info) if info else None,
        "nav": thin(nav, NAV_POINTS_MAX),
        "nav_rows": len(nav),
        "latest": latest,
        "metrics": dict(metrics) if metrics else None,
        "quarantine": {"rows": held, "total": int(total)},
    }


def quality_counts(engine: sa.Engine, days: int, now: dt.datetime, tz: ZoneInfo) -> dict[str, Any]:
    """Quarantined rows by rule and local day of ``tz`` over the ``days`` days up to ``now``
    (today included): ``days`` (ISO dates, newest first), ``counts`` ({rule: {day: rows}}),
    ``total``."""
    days = max(1, min(days, QUALITY_DAYS_MAX))
    today = (now if now.tzinfo else now.replace(tzinfo=dt.UTC)).astimezone(tz).date()
    first = today - dt.timedelta(days=days - 1)
    q = fund_nav_quarantine
    # One row per rule and validation run (a run stamps its rows with one time): few rows.
    query = (
        sa.select(q.c.rule, q.c.quarantined_at, sa.func.count().label("n"))
        .where(
            q.c.quarantined_at >= _utc_start(first, tz),
            q.c.quarantined_at < _utc_start(today + dt.timedelta(days=1), tz),
        )
        .group_by(q.c.rule, q.c.quarantined_at)
    )
    counts: dict[str, dict[str, int]] = {}
    total = 0
    with engine.connect() as conn:
        for rule, at, n in conn.execute(query):
            day = _local(at, tz).date().isoformat()
            per_rule = counts.setdefault(rule, {})
            per_rule[day] = per_rule.get(day, 0) + int(n)
            total += int(n)
    listed = [(today - dt.timedelta(days=i)).isoformat() for i in range(days)]
    return {"days": listed, "counts": dict(sorted(counts.items())), "total": total}


def quarantine_rows(
    engine: sa.Engine, rule: str, day: dt.date, tz: ZoneInfo, limit: int = QUARANTINE_ROWS
) -> dict[str, Any]:
    """The rows ``rule`` quarantined on local ``day`` of ``tz``: ``rows`` (at most ``limit``, by
    fund code and NAV date), ``total``."""
    q = fund_nav_quarantine
    where = sa.and_(
        q.c.rule == rule,
        q.c.quarantined_at >= _utc_start(day, tz),
        q.c.quarantined_at < _utc_start(day + dt.timedelta(days=1), tz),
    )
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(q).where(where)).scalar() or 0
        rows = conn.execute(
            sa.select(q).where(where).order_by(q.c.fund_code, q.c.nav_date, q.c.id).limit(limit)
        ).mappings()
        return {"rows": [dict(r) for r in rows], "total": int(total)}


# -- the panels -------------------------------------------------------------------------------
def _more(shown: int, total: int) -> list[str]:
    """ "N more" when rows were left out."""
    if total <= shown:
        return []
    left = total - shown
    return [ngettext("{n} more row not shown", "{n} more rows not shown", left).format(n=left)]


def _code_cell(code: Any, fund_view: str | None) -> Any:
    """A fund code, a link to the fund view when it is one the view accepts."""
    text = "–" if code is None else str(code)
    if fund_view and code is not None and re.fullmatch(CODE_PATTERN, text):
        return {"text": text, "query": {"panel": fund_view, "code": text}}
    return text


def _quarantine_table(
    title: str,
    rows: Iterable[dict[str, Any]],
    tz: ZoneInfo,
    *,
    fund_view: str | None = None,
    code: bool = True,
) -> dict[str, Any]:
    columns = [_("NAV date"), _("rule"), _("reason"), _("unit NAV"), _("accumulated NAV"), _("daily return")]
    columns += [_("source"), _("quarantined at")]
    if code:
        columns.insert(0, _("fund code"))
    out = []
    for r in rows:
        cells: list[Any] = [
            r["nav_date"].isoformat() if r["nav_date"] else "–",
            r["rule"],
            r["reason"],
            _fmt(r["unit_nav"], "nav"),
            _fmt(r["accum_nav"], "nav"),
            _fmt(r["daily_return"], "percent"),
            r["source"] or "–",
            _local(r["quarantined_at"], tz).strftime("%Y-%m-%d %H:%M"),
        ]
        if code:
            cells.insert(0, _code_cell(r["fund_code"], fund_view))
        out.append(cells)
    return {"title": title, "columns": columns, "rows": out}


def fund_panel(engine: sa.Engine, code: str, tz: ZoneInfo) -> dict[str, Any]:
    """The fund view's answer for ``code`` (see :func:`fund_detail`): the NAV chart, the latest
    metrics and the fund's quarantined rows, with notes (name and type, the latest NAV, rows
    thinned or left out; an unknown code said so)."""
    found = fund_detail(engine, code)
    info, nav, metrics = found["info"], found["nav"], found["metrics"]
    quarantine = found["quarantine"]
    name = info["fund_name"] if info and info["fund_name"] else None
    title = _("Fund {code}").format(code=code) + (f" · {name}" if name else "")
    notes: list[str] = []
    if info and info["fund_type"]:
        notes.append(_("type: {type}").format(type=info["fund_type"]))
    if not info and not nav and not quarantine["total"]:
        notes.append(_("No fund {code}: no NAV, no fund_info row and no quarantined row.").format(code=code))
        return {
            "title": title,
            "tables": [],
            "charts": [],
            "notes": notes,
            "data": {"code": code, "found": False},
        }
    charts = []
    if nav:
        latest = found["latest"]
        notes.append(
            _("latest NAV {nav} on {date}").format(
                nav=_fmt(latest["unit_nav"], "nav"), date=latest["nav_date"].isoformat()
            )
        )
        if found["nav_rows"] > len(nav):
            notes.append(
                _("NAV chart: {shown} of {rows} days shown, one in {step}").format(
                    shown=len(nav),
                    rows=found["nav_rows"],
                    step=math.ceil((found["nav_rows"] - 1) / (NAV_POINTS_MAX - 1)),
                )
            )
        series = [{"name": _("unit NAV"), "points": [[d.isoformat(), u] for d, u, _a in nav]}]
        accum = [[d.isoformat(), a] for d, _u, a in nav if a is not None]
        if accum:
            series.append({"name": _("accumulated NAV"), "points": accum})
        charts.append(
            {
                "title": _("NAV, last {years} years").format(years=NAV_YEARS),
                "y_label": _("NAV"),
                "series": series,
            }
        )
    else:
        notes.append(_("No NAV stored for {code}.").format(code=code))
    tables = []
    if metrics:
        rows: list[list[Any]] = [[_("calculated on"), metrics["calc_date"].isoformat()]]
        rows.append([_("observations"), str(metrics["n_obs"])])
        rows += [[_metric_label(column), _fmt(metrics[column], how)] for column, how in _METRICS]
        tables.append({"title": _("Latest metrics"), "columns": [_("metric"), _("value")], "rows": rows})
    else:
        notes.append(_("No metrics computed for {code} yet.").format(code=code))
    shown = quarantine["rows"]
    if shown:
        title_q = _("Quarantined rows ({n})").format(n=quarantine["total"])
        tables.append(_quarantine_table(title_q, shown, tz, code=False))
        notes += _more(len(shown), quarantine["total"])
    else:
        notes.append(_("No quarantined row for {code}.").format(code=code))
    return {
        "title": title,
        "tables": tables,
        "charts": charts,
        "notes": notes,
        "data": {
            "code": code,
            "found": True,
            "nav_rows": found["nav_rows"],
            "quarantined": quarantine["total"],
        },
    }


def quality_panel(
    engine: sa.Engine,
    *,
    days: int,
    rule: str | None,
    day: str | None,
    now: dt.datetime,
    tz: ZoneInfo,
    view: str,
    fund_view: str | None = None,
) -> dict[str, Any]:
    """The data-quality view's answer: quarantined rows per local day (newest first) and rule
    over ``days`` days, each count a link (a query of ``view``) to its rows; with ``rule`` and
    ``day`` also those rows (fund codes linking to ``fund_view``)."""
    counts = quality_counts(engine, days, now, tz)
    rules = list(counts["counts"])
    title = _("Data quality: quarantined rows, last {days} days").format(days=len(counts["days"]))
    notes = [_("Days in {zone}; click a count for its rows.").format(zone=str(tz))]
    tables: list[dict[str, Any]] = []
    if rules:
        rows = []
        for d in counts["days"]:
            cells: list[Any] = [d]
            day_total = 0
            for r in rules:
                n = counts["counts"][r].get(d, 0)
                day_total += n
                link = {"panel": view, "rule": r, "day": d, "days": str(len(counts["days"]))}
                cells.append({"text": str(n), "query": link} if n else "0")
            cells.append(str(day_total))
            rows.append(cells)
        summary = {"title": _("Quarantined rows by day and rule"), "columns": [_("day"), *rules, _("total")]}
        tables.append({**summary, "rows": rows})
    else:
        notes.insert(0, _("No row was quarantined in these days."))
    if rule and day:
        try:
            chosen = dt.date.fromisoformat(day)
        except ValueError:
            notes.append(_("{day} is not a date.").format(day=day))
        else:
            found = quarantine_rows(engine, rule, chosen, tz)
            heading = ngettext("{rule} on {day}: {n} row", "{rule} on {day}: {n} rows", found["total"])
            heading = heading.format(rule=rule, day=day, n=found["total"])
            tables.append(_quarantine_table(heading, found["rows"], tz, fund_view=fund_view))
            notes += _more(len(found["rows"]), found["total"])
    elif rule or day:
        notes.append(_("Give both a rule and a day for their rows."))
    return {
        "title": title,
        "tables": tables,
        "notes": notes,
        "data": {"days": counts["days"], "counts": counts["counts"], "total": counts["total"]},
    }
