"""The monitoring panel of the fund pipeline: the numbers an operator checks every morning.

Everything is returned as plain JSON-serialisable data (str, int, float, None, lists, dicts;
dates and times as ISO strings, times in UTC), so the same panel feeds a terminal, a JSON
API or a web page::

    import os
    import sqlalchemy as sa
    from fundpipe import monitor
    from fundpipe.settings import FundSettings

    engine = sa.create_engine("sqlite:///data/scheduler.db")
    print(monitor.render_text(monitor.panel(engine, FundSettings.from_env(os.environ))))

The panel only reads: it creates no table. On an empty database (no fund tables) every count
is 0 and every latest date ``None`` (printed "never"). It loads neither numpy nor pandas: the
daemon computes it in its own process, so the calendar (``FUND_CALENDAR``, whose sessions
count how far behind the data is) is the stored one, never computed here
(:func:`~fundpipe.calendar.load_fund_calendar` with ``compute_missing=False``); the panel names
it, says whether today is a session, and lists the problems met loading it. Run statistics
(jobs, success rates) are the daemon's to show, from its own history: fundpipe knows nothing
of scheduling.

The panel's data is codes and numbers (statuses ``ok`` / ``stale`` / ``never``); its text
(:func:`render_text`, :func:`freshness_word`) is in the language in effect when it is rendered
(:mod:`fund_common.i18n`; the daemon renders it per request).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from fund_common.calendars import SessionCalendar
from fund_common.clock import as_naive_utc, utcnow_naive
from fund_common.i18n import N_
from fund_common.i18n import gettext as _
from fund_common.runstatus import label
from fund_common.texttable import format_table, one_line
from fundpipe.calendar import load_fund_calendar
from fundpipe.freshness import Freshness, dated_freshness
from fundpipe.schema import data_update_log, fund_metrics, fund_nav, fund_nav_quarantine, fund_nav_staging
from fundpipe.settings import FundSettings

__all__ = [
    "calendar_summary",
    "existing_tables",
    "freshness",
    "freshness_word",
    "panel",
    "recent_updates",
    "render_text",
]

UPDATES_HOURS = 24
UPDATES_LIMIT = 200
QUARANTINE_DAYS = 7
#: A table's freshness status in words (see :func:`freshness_word`).
_FRESHNESS_WORDS = {"ok": N_("ok"), "stale": N_("stale"), "never": N_("never")}


def freshness_word(status: str) -> str:
    """A freshness status (``ok``, ``stale``, ``never``) in the language in effect; another as is."""
    word = _FRESHNESS_WORDS.get(status)
    return status if word is None else _(word)


def existing_tables(engine: sa.Engine) -> set[str]:
    """Names of the tables that exist in the engine's default schema."""
    return set(sa.inspect(engine).get_table_names())


def freshness(
    engine: sa.Engine,
    *,
    today: dt.date,
    now: dt.datetime,
    calendar: SessionCalendar,
    tables: set[str] | None = None,
) -> dict[str, Any]:
    """Data freshness per fund table.

    ``fund_nav``: newest ``nav_date`` on or before ``today``, funds reported that day, calendar
    days and sessions of ``calendar`` behind ``today`` (``business_days_behind``), status ``ok``
    / ``stale`` / ``never`` (see :mod:`fundpipe.freshness`); ``fund_metrics`` the same for
    ``calc_date``;
    ``fund_nav_staging``: rows waiting for validation and when the oldest was collected;
    ``fund_nav_quarantine``: rows quarantined in the 7 days before ``now`` (naive UTC).
    """
    tables = existing_tables(engine) if tables is None else tables
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for name, column in (("fund_nav", fund_nav.c.nav_date), ("fund_metrics", fund_metrics.c.calc_date)):
            out[name] = _dated(dated_freshness(conn, column, today, calendar, tables=tables))

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


def _dated(fresh: Freshness) -> dict[str, Any]:
    return {
        "latest": fresh.latest_iso,
        "funds": fresh.funds,
        "days_behind": fresh.days_behind,
        "business_days_behind": fresh.sessions_behind,
        "status": fresh.status,
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


def calendar_summary(calendar: SessionCalendar, problems: list[str], today: dt.date) -> dict[str, Any]:
    """The panel's ``calendar``: ``name``, ``source``, ``known_until`` (ISO, None for the weekday
    fallback), ``today_closed`` (why ``today`` is no session, e.g. ``XSHG closed: National
    Day``; None on a session) and ``problems`` (each met loading it)."""
    return {
        "name": calendar.name,
        "source": calendar.source,
        "known_until": calendar.last.isoformat() if calendar.last >= calendar.first else None,
        "today_closed": calendar.closure_words(today),
        "problems": list(problems),
    }


def panel(
    engine: sa.Engine,
    settings: FundSettings | None = None,
    *,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    calendar: SessionCalendar | None = None,
) -> dict[str, Any]:
    """The dashboard's panel: the calendar, freshness per table and the last 24 h of updates.

    ``calendar`` (default: ``settings.calendar`` as stored, see the module docstring; settings
    default to the defaults) counts the sessions behind. ``today`` (default: the local date) is
    what freshness counts days behind from. ``now``
    (naive UTC, or aware) ends the 24-hour and 7-day windows; by default it is the current
    time, or the end of ``today`` (midnight after it, UTC) when ``today`` is more than a day in
    the past, so a panel for a fixed past day is reproducible. Works on an empty database and
    creates nothing.
    """
    if now is None:
        now = utcnow_naive()
        if today is not None and today < now.date() - dt.timedelta(days=1):
            now = dt.datetime.combine(today + dt.timedelta(days=1), dt.time())
    else:
        now = as_naive_utc(now)
    today = dt.date.today() if today is None else today
    problems: list[str] = []
    if calendar is None:
        calendar, problems = load_fund_calendar(engine, settings or FundSettings(), compute_missing=False)
    tables = existing_tables(engine)
    since_updates = now - dt.timedelta(hours=UPDATES_HOURS)
    updates = recent_updates(engine, since=since_updates, until=now, tables=tables)
    return {
        "today": today.isoformat(),
        "now": _iso(now),
        "calendar": calendar_summary(calendar, problems, today),
        "freshness": freshness(engine, today=today, now=now, calendar=calendar, tables=tables),
        "updates": {
            "hours": UPDATES_HOURS,
            "since": _iso(since_updates),
            "count": len(updates),
            "limit": UPDATES_LIMIT,
            "rows": updates,
        },
    }


def render_text(panel: dict[str, Any]) -> str:
    """The panel as plain text for a terminal (also works on a panel read back from JSON)."""
    lines: list[str] = []
    fresh = panel["freshness"]
    cal = panel["calendar"]
    if cal["today_closed"]:
        heading = _("Data freshness (today {today}; {closed}; sessions of {calendar})")
    else:
        heading = _("Data freshness (today {today}; sessions of {calendar})")
    lines.append(heading.format(today=panel["today"], closed=cal["today_closed"], calendar=cal["name"]))
    rows: list[tuple[object, ...]] = []
    for name in ("fund_nav", "fund_metrics"):
        item = fresh[name]
        if item["latest"] is None:
            rows.append((name, freshness_word("never"), "0", "-", freshness_word("never")))
        else:
            behind = _("{days} d ({sessions} sessions)").format(
                days=item["days_behind"], sessions=item["business_days_behind"]
            )
            rows.append((name, item["latest"], str(item["funds"]), behind, freshness_word(item["status"])))
    first = len("fund_nav_quarantine")
    head = (_("table"), _("latest"), _("funds"), _("behind"), _("status"))
    lines.append(_table(rows, head, first_width=first, right=(2,)))
    staging = fresh["fund_nav_staging"]
    oldest = staging["oldest_unprocessed"]
    waiting = _("{n} rows waiting for validation").format(n=staging["unprocessed"])
    if oldest:
        waiting += _(" (oldest collected {when} UTC)").format(when=_short(oldest))
    lines.append(f"  {'fund_nav_staging':<{first}}  {waiting}")
    quarantine = fresh["fund_nav_quarantine"]
    quarantined = _("{n} rows in the last {days} days").format(n=quarantine["rows"], days=quarantine["days"])
    lines.append(f"  {'fund_nav_quarantine':<{first}}  {quarantined}")
    lines.extend(
        "  ! " + _("calendar {name}: {problem}").format(name=cal["name"], problem=one_line(p, 160))
        for p in cal["problems"]
    )

    updates = panel["updates"]
    lines.append("")
    title = _("Updates in the last {hours} h (since {since} UTC): {count}").format(
        hours=updates["hours"], since=_short(updates["since"]), count=updates["count"]
    )
    if updates["count"] >= updates["limit"]:
        title += _(", showing the newest {limit}").format(limit=updates["limit"])
    lines.append(title)
    if updates["rows"]:
        rows = [
            (
                _short(r["started_at"]),
                r["step"],
                r["as_of"] or "-",
                label(r["status"]),
                _num(r["rows_in"]),
                _num(r["rows_loaded"]),
                _num(r["rows_rejected"]),
                "-" if r["seconds"] is None else f"{r['seconds']:.1f}",
            )
            for r in updates["rows"]
        ]
        columns = (
            _("started (UTC)"),
            _("step"),
            "as_of",
            _("status"),
            _("in"),
            _("loaded"),
            _("rejected"),
            _("seconds"),
        )
        lines.append(_table(rows, columns, right=(4, 5, 6, 7)))
        failed = [r for r in updates["rows"] if r["status"] == "failed" and r["message"]]
        for r in failed[:5]:
            lines.append(f"  ! {r['step']} {r['as_of'] or ''}: {one_line(r['message'], 160)}")
    return "\n".join(lines) + "\n"


def _table(
    rows: list[tuple[object, ...]],
    head: tuple[str, ...],
    *,
    first_width: int = 0,
    right: tuple[int, ...] = (),
) -> str:
    """Aligned columns under ``head`` (no rule), indented by two spaces, cells cut to 60."""
    return format_table(
        rows, head, right=right, indent="  ", rule=False, first_width=first_width, max_cell=60
    )


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
