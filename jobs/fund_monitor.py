"""The fund pipeline's dashboard panel (not a job): data freshness per table and the last 24 h of
updates, computed by ``fundpipe.monitor``, shown by ``dashboard``, ``/health`` and the page, and
exported by ``/metrics`` as the gauges it declares."""

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
        "title": "fund data",
        "data": panel,
        "text": monitor.render_text(panel),
        "tables": [_freshness_table(fresh, panel["calendar"]["name"])],
        "notes": _calendar_notes(panel["calendar"]) + _notes(fresh),
        "gauges": _gauges(fresh),
    }


def _freshness_table(fresh, calendar_name):
    rows = []
    for name in ("fund_nav", "fund_metrics"):
        info = fresh[name]
        behind = info["business_days_behind"]
        rows.append(
            [
                name,
                info["latest"] or "never",
                "–" if behind is None else f"{behind} sessions",
                {"text": info["status"], "tone": TONES.get(info["status"], "bad")},
            ]
        )
    title = f"Data freshness (sessions of {calendar_name})"
    return {"title": title, "columns": ["table", "latest", "behind", "status"], "rows": rows}


def _calendar_notes(calendar):
    """Today's closure, if any, and each problem met loading the calendar."""
    notes = [f"today: {calendar['today_closed']}"] if calendar["today_closed"] else []
    return notes + [f"calendar {calendar['name']}: {problem}" for problem in calendar["problems"]]


def _notes(fresh):
    staging, quarantine = fresh["fund_nav_staging"], fresh["fund_nav_quarantine"]
    return [
        f"fund_nav_staging: {staging['unprocessed']} row(s) waiting for validation",
        f"fund_nav_quarantine: {quarantine['rows']} row(s) in the last {quarantine['days']} days",
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
