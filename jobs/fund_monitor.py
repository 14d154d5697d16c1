"""The fund pipeline's dashboard panel (not a job): data freshness per table and the last 24 h of
updates, computed by ``fundpipe.monitor``, shown by ``dashboard``, ``/health`` and the page, and
exported by ``/metrics`` as the gauges it declares. Its title, table, notes and text are in the
language in effect when it is computed (per request in the daemon); its data and gauges are not
translated."""

from fund_common.i18n import gettext as _
from fund_scheduler.jobs import dashboard_panel

#: A freshness status and how it looks (the page's tones: ok, run, warn, bad).
TONES = {"ok": "ok", "stale": "warn", "never": "bad"}


@dashboard_panel
def fund_data_panel(engine, environ):
    """The seeds' monitoring panel, in the scheduler's panel form (see fund_scheduler.jobs.declare)."""
    from fundpipe import monitor
    from fundpipe.settings import FundSettings

    panel = monitor.panel(engine, FundSettings.from_env(environ))
    fresh = panel["freshness"]
    return {
        "title": _("fund data"),
        "data": panel,
        "text": monitor.render_text(panel),
        "tables": [_freshness_table(fresh, panel["calendar"]["name"])],
        "notes": _calendar_notes(panel["calendar"]) + _notes(fresh),
        "gauges": _gauges(fresh),
    }


def _freshness_table(fresh, calendar_name):
    from fundpipe.monitor import freshness_word

    rows = []
    for name in ("fund_nav", "fund_metrics"):
        info = fresh[name]
        behind = info["business_days_behind"]
        rows.append(
            [
                name,
                info["latest"] or freshness_word("never"),
                "–" if behind is None else _("{n} sessions").format(n=behind),
                {"text": freshness_word(info["status"]), "tone": TONES.get(info["status"], "bad")},
            ]
        )
    title = _("Data freshness (sessions of {calendar})").format(calendar=calendar_name)
    columns = [_("table"), _("latest"), _("behind"), _("status")]
    return {"title": title, "columns": columns, "rows": rows}


def _calendar_notes(calendar):
    """Today's closure, if any, and each problem met loading the calendar."""
    closure = calendar["today_closed"]
    notes = [_("today: {closure}").format(closure=closure)] if closure else []
    return notes + [
        _("calendar {name}: {problem}").format(name=calendar["name"], problem=problem)
        for problem in calendar["problems"]
    ]


def _notes(fresh):
    staging, quarantine = fresh["fund_nav_staging"], fresh["fund_nav_quarantine"]
    return [
        _("fund_nav_staging: {n} row(s) waiting for validation").format(n=staging["unprocessed"]),
        _("fund_nav_quarantine: {n} row(s) in the last {days} days").format(
            n=quarantine["rows"], days=quarantine["days"]
        ),
    ]


def _gauges(fresh):
    tables = ("fund_nav", "fund_metrics")
    quarantine_days = fresh["fund_nav_quarantine"]["days"]
    return [
        {
            "name": "fund_data_freshness_days",
            "help": "Calendar days the newest row of each table is behind today",
            "labels": ["table"],
            "samples": [[[t], fresh[t]["days_behind"]] for t in tables],
        },
        {
            "name": "fund_data_freshness_business_days",
            "help": "Sessions of the trading calendar (FUND_CALENDAR) the newest row of each table is behind",
            "labels": ["table"],
            "samples": [[[t], fresh[t]["business_days_behind"]] for t in tables],
        },
        {
            "name": "fund_quarantined_rows_7d",
            "help": f"Rows quarantined by the validation rules in the last {quarantine_days} days",
            "labels": [],
            "samples": [[[], fresh["fund_nav_quarantine"]["rows"]]],
        },
        {
            "name": "fund_staging_unprocessed_rows",
            "help": "Staged rows waiting for validation",
            "labels": [],
            "samples": [[[], fresh["fund_nav_staging"]["unprocessed"]]],
        },
    ]
