"""Data-freshness promises (SLAs): "the last session's NAVs for 95 % of active funds by 20:00".

:func:`sla_check` answers one promise at one moment, as a plain check result (the scheduler's
check-job contract, ``{"ok", "summary", "details"}``; fundpipe never imports the scheduler)::

    sla_check(engine, "fund_nav", now=now, deadline=dt.time(20), min_coverage=0.95,
              calendar=xshg, zone=ZoneInfo("Asia/Shanghai"))
    # {"ok": False, "summary": "fund_nav has 2026-12-02 for 180/300 active funds (60 %), "
    #                          "expected 2026-12-03 by 20:00", "details": {...}}

* **expected**: the latest session of ``calendar`` whose deadline (``deadline`` on that day, in
  ``zone``) has passed at ``now``: before 20:00 on a session the previous session, from 20:00
  that session; on a closed day (a weekend, a holiday) the last session before it.
* **found**: the table's newest date on or before ``now``'s date (in ``zone``).
* **coverage**: active funds (``fund_info.is_active``) with a row on the expected date, over
  the active funds.
* **breach** when found is before expected (or the table is empty), or coverage is below
  ``min_coverage``; with no active fund at all (a database the pipeline never filled) nothing
  is promised and the check is ok, saying so.

The summary (alert text, a ``/health`` problem) is in the language in effect when the check
runs (:mod:`fund_common.i18n`: the daemon's ``SCHEDULER_LANG``); ``details`` are codes and
numbers. Pure SQLAlchemy queries and the plain-Python calendar: no pandas (it runs in the
daemon's thread).
:class:`SlaSettings` reads the promises from ``FUND_NAV_DEADLINE``, ``FUND_NAV_MIN_COVERAGE``,
``FUND_METRICS_DEADLINE`` and ``FUND_METRICS_MIN_COVERAGE``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from fund_common.calendars import SessionCalendar
from fund_common.envreader import EnvReader
from fund_common.i18n import gettext as _
from fundpipe.freshness import dated_freshness
from fundpipe.schema import fund_info, fund_metrics, fund_nav

__all__ = ["DATE_COLUMNS", "Sla", "SlaSettings", "expected_session", "sla_check"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The tables a promise can be about, and their date column.
DATE_COLUMNS: dict[str, sa.Column[Any]] = {
    "fund_nav": fund_nav.c.nav_date,
    "fund_metrics": fund_metrics.c.calc_date,
}


def expected_session(
    now: dt.datetime, deadline: dt.time, calendar: SessionCalendar, zone: ZoneInfo
) -> dt.date:
    """The latest session whose ``deadline`` (in ``zone``) has passed at ``now`` (aware)."""
    if now.tzinfo is None:
        raise ValueError(f"now={now.isoformat()} must be an aware datetime")
    local = now.astimezone(zone)
    today = local.date()
    if calendar.is_session(today) and local.time() >= deadline:
        return today
    return calendar.previous_session(today)


def sla_check(
    engine: sa.Engine,
    table: str,
    *,
    now: dt.datetime,
    deadline: dt.time,
    min_coverage: float,
    calendar: SessionCalendar,
    zone: ZoneInfo = SHANGHAI,
) -> dict[str, Any]:
    """The check result of the promise "``table`` holds the expected session for at least
    ``min_coverage`` of the active funds by ``deadline``" at ``now`` (see the module docstring)."""
    if table not in DATE_COLUMNS:
        raise ValueError(f"table {table!r} is not one of {', '.join(DATE_COLUMNS)}")
    if not 0 <= min_coverage <= 1:
        raise ValueError(f"min_coverage={min_coverage!r} must be from 0 to 1")
    column = DATE_COLUMNS[table]
    expected = expected_session(now, deadline, calendar, zone)
    today = now.astimezone(zone).date()
    active = sa.select(fund_info.c.fund_code).where(fund_info.c.is_active.is_(True))
    with engine.connect() as conn:
        found = dated_freshness(conn, column, today, calendar).latest  # the one newest-date query
        active_funds = conn.execute(sa.select(sa.func.count()).select_from(active.subquery())).scalar_one()
        covered = {
            day: conn.execute(
                sa.select(sa.func.count())
                .select_from(column.table)
                .where(column == day, column.table.c.fund_code.in_(active))
            ).scalar_one()
            for day in {expected, found}
            if day is not None
        }
    funds = covered.get(expected, 0)
    coverage = funds / active_funds if active_funds else None
    late = found is None or found < expected
    thin = coverage is not None and coverage < min_coverage
    details = {
        "table": table,
        "expected": expected.isoformat(),
        "found": found.isoformat() if found else None,
        "deadline": f"{deadline:%H:%M}",
        "timezone": str(zone),
        "calendar": calendar.name,
        "funds": funds,
        "active_funds": active_funds,
        "coverage": None if coverage is None else round(coverage, 4),
        "min_coverage": min_coverage,
        "sessions_behind": None if found is None else calendar.sessions_after(found, expected),
    }
    if not active_funds:
        return {
            "ok": True,
            "summary": _("no active fund in fund_info: nothing due in {table}").format(table=table),
            "details": details,
        }
    if found is None:
        summary = _("{table} has no rows on or before {day}").format(table=table, day=today)
    else:
        shown = found if late else expected
        funds_shown = covered.get(shown, 0)
        summary = _("{table} has {day} for {funds}/{active} active funds ({share})").format(
            table=table,
            day=shown,
            funds=funds_shown,
            active=active_funds,
            share=_percent(funds_shown / active_funds),
        )
    if late:
        wanted = _(", expected {day} by {deadline}").format(day=expected, deadline=f"{deadline:%H:%M}")
    else:
        wanted = _(", expected at least {share} by {deadline}").format(
            share=_percent(min_coverage), deadline=f"{deadline:%H:%M}"
        )
    return {"ok": not (late or thin), "summary": summary + wanted, "details": details}


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %"


@dataclasses.dataclass(frozen=True)
class Sla:
    """One promise: ``table`` holds the expected session for ``min_coverage`` of the active
    funds by ``deadline``."""

    table: str
    deadline: dt.time
    min_coverage: float


#: Each table's promise by default, and the variables that change it.
DEFAULTS = {
    "fund_nav": (dt.time(20, 0), 0.95, "FUND_NAV_DEADLINE", "FUND_NAV_MIN_COVERAGE"),
    "fund_metrics": (dt.time(21, 0), 0.9, "FUND_METRICS_DEADLINE", "FUND_METRICS_MIN_COVERAGE"),
}


@dataclasses.dataclass(frozen=True)
class SlaSettings:
    """The promises of ``fund_nav`` and ``fund_metrics``, read from the environment."""

    by_table: Mapping[str, Sla]
    problems: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SlaSettings:
        """Every promise; each bad value is a problem naming the variable and the value (that
        promise then keeps its default)."""
        env = EnvReader(environ)
        by_table = {}
        for table, (deadline, coverage, deadline_name, coverage_name) in DEFAULTS.items():
            by_table[table] = Sla(
                table,
                _time(env, deadline_name, deadline),
                env.number(coverage_name, coverage, minimum=0, maximum=1),
            )
        return cls(by_table, tuple(env.problems))


def _time(env: EnvReader, name: str, default: dt.time) -> dt.time:
    raw = env.raw(name)
    if raw is None:
        return default
    try:
        hours, minutes = raw.split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        env.problem(f"{name}={raw!r} is not a time of day HH:MM (00:00 to 23:59)")
        return default
