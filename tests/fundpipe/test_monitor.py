"""The monitoring panel: the calendar, freshness and recent updates; empty and filled databases.

(Run statistics are the daemon's: the panel no longer reads job_executions.) The filled
database's 2024 dates are weekday sessions: its tasks run on the weekday calendar, and the
panel, with no calendar stored and none computed in the daemon, falls back to weekdays too.
"""

import datetime as dt
import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from fund_common.calendars import weekdays_only
from fundpipe import monitor, tasks
from fundpipe.schema import data_update_log, fund_nav, fund_nav_quarantine
from fundpipe.settings import PROJECT_DIR, FundSettings
from tests.support.schema import create_fund_tables

FRIDAY = dt.date(2024, 6, 7)
MONDAY_AFTER = dt.date(2024, 6, 10)
END_OF_MONDAY = dt.datetime(2024, 6, 11)  # the panel's "now" for today=MONDAY_AFTER
# no operator calendar file: the checkout's config/calendars.toml does not leak into the tests
SETTINGS = FundSettings(demo_funds=12, demo_history_days=70, calendars_file="/nonexistent/calendars.toml")
WEEKDAYS = weekdays_only("WEEKDAYS")


def log_row(step, started_at, status="success", **values):
    row = {
        "step": step,
        "as_of": started_at.date(),
        "started_at": started_at,
        "finished_at": started_at + dt.timedelta(seconds=2),
        "status": status,
        "rows_in": None,
        "rows_loaded": None,
        "rows_rejected": None,
        "message": None,
    }
    return {**row, **values}


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """Demo NAVs up to Friday 2024-06-07, an unvalidated collection, and fixed-time log and
    quarantine rows around Monday 2024-06-10."""
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('monitor') / 'fund.db'}")
    create_fund_tables(engine)
    for day in (dt.date(2024, 6, 6), FRIDAY):
        tasks.collect(engine, SETTINGS, day, calendar=WEEKDAYS)
        tasks.validate(engine, SETTINGS, day, calendar=WEEKDAYS)
        tasks.compute_metrics(engine, SETTINGS, day, calendar=WEEKDAYS)
    waiting = tasks.collect(engine, SETTINGS, MONDAY_AFTER, calendar=WEEKDAYS)["staged"]  # not validated yet
    assert waiting >= 12
    at = dt.datetime
    with engine.begin() as conn:
        conn.execute(
            sa.insert(data_update_log),
            [
                log_row("collect", at(2024, 6, 10, 11, 0), rows_in=12, rows_loaded=12, rows_rejected=0),
                log_row(
                    "validate", at(2024, 6, 10, 11, 1), "failed", rows_in=12, message="ValidationFailed: x"
                ),
                log_row("collect", at(2024, 6, 10, 0, 30)),  # 23.5 h before the end of Monday
                log_row("collect", at(2024, 6, 9, 23, 59)),  # just outside 24 h
                log_row("collect", at(2024, 6, 11, 0, 0)),  # after "now"
            ],
        )
        quarantine = {"batch_id": "b", "rule": "not_null", "reason": "missing unit_nav"}
        conn.execute(
            sa.insert(fund_nav_quarantine),
            [
                {**quarantine, "quarantined_at": at(2024, 6, 4, 0, 0)},  # inside 7 days
                {**quarantine, "quarantined_at": at(2024, 6, 10, 12, 0)},
                {**quarantine, "quarantined_at": at(2024, 6, 3, 23, 59)},  # outside
            ],
        )
    engine.waiting = waiting
    yield engine
    engine.dispose()


def test_panel_on_an_empty_database(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    panel = monitor.panel(engine, SETTINGS, today=MONDAY_AFTER)
    assert json.loads(json.dumps(panel)) == panel
    fresh = panel["freshness"]
    for name in ("fund_nav", "fund_metrics"):
        assert fresh[name] == {
            "latest": None,
            "funds": 0,
            "days_behind": None,
            "business_days_behind": None,
            "status": "never",
        }
    assert fresh["fund_nav_staging"] == {"unprocessed": 0, "oldest_unprocessed": None}
    assert fresh["fund_nav_quarantine"]["rows"] == 0
    assert panel["updates"]["rows"] == [] and panel["updates"]["count"] == 0
    assert set(panel) == {"today", "now", "calendar", "freshness", "updates"}  # no run statistics
    assert panel["calendar"]["name"] == "XSHG" and panel["calendar"]["known_until"] is None
    assert "weekdays are used" in panel["calendar"]["problems"][0]  # none stored, none computed here
    assert sa.inspect(engine).get_table_names() == []  # the panel creates nothing

    text = monitor.render_text(panel)
    assert "never" in text and "Jobs" not in text
    assert "0 rows waiting for validation" in text


def test_panel_with_fund_tables_but_no_rows(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    create_fund_tables(engine)
    panel = monitor.panel(engine, today=MONDAY_AFTER)
    assert panel["freshness"]["fund_nav"]["status"] == "never"
    assert panel["freshness"]["fund_metrics"]["business_days_behind"] is None
    assert "fund_nav             never" in monitor.render_text(panel)


def test_freshness_on_a_filled_database(filled):
    panel = monitor.panel(filled, today=MONDAY_AFTER)
    assert panel["today"] == "2024-06-10" and panel["now"] == END_OF_MONDAY.isoformat()
    nav = panel["freshness"]["fund_nav"]
    assert (nav["latest"], nav["days_behind"], nav["business_days_behind"], nav["status"]) == (
        "2024-06-07",
        3,
        1,
        "ok",
    )
    assert nav["funds"] > 0
    metrics = panel["freshness"]["fund_metrics"]
    assert (metrics["latest"], metrics["business_days_behind"], metrics["funds"]) == ("2024-06-07", 1, 12)
    staging = panel["freshness"]["fund_nav_staging"]
    assert staging["unprocessed"] == filled.waiting and staging["oldest_unprocessed"] is not None
    assert panel["freshness"]["fund_nav_quarantine"]["rows"] == 2

    wednesday = monitor.panel(filled, today=dt.date(2024, 6, 12))["freshness"]["fund_nav"]
    assert (wednesday["days_behind"], wednesday["business_days_behind"], wednesday["status"]) == (
        5,
        3,
        "stale",
    )
    before = monitor.panel(filled, today=dt.date(2024, 6, 6))["freshness"]["fund_nav"]
    assert (before["latest"], before["days_behind"], before["status"]) == ("2024-06-06", 0, "ok")


def test_updates_of_the_last_24_hours(filled):
    updates = monitor.panel(filled, today=MONDAY_AFTER)["updates"]
    started = [r["started_at"] for r in updates["rows"]]
    assert started == ["2024-06-10T11:01:00", "2024-06-10T11:00:00", "2024-06-10T00:30:00"]
    assert updates["count"] == 3 and updates["since"] == "2024-06-10T00:00:00"
    failed = updates["rows"][0]
    assert (failed["step"], failed["status"], failed["rows_in"], failed["seconds"]) == (
        "validate",
        "failed",
        12,
        2.0,
    )
    assert failed["message"] == "ValidationFailed: x"


def test_render_text_of_a_filled_panel(filled):
    panel = monitor.panel(filled, SETTINGS, today=MONDAY_AFTER)
    text = monitor.render_text(panel)
    assert text == monitor.render_text(json.loads(json.dumps(panel)))
    for expected in (
        "Data freshness (today 2024-06-10; sessions of XSHG)",
        "2024-06-07",
        "3 d (1 sessions)",
        "! calendar XSHG: ",
        f"{filled.waiting} rows waiting for validation",
        "2 rows in the last 7 days",
        "Updates in the last 24 h (since 2024-06-10 00:00 UTC): 3",
        "! validate 2024-06-10: ValidationFailed: x",
    ):
        assert expected in text, expected
    assert "Jobs" not in text


def test_panel_defaults_to_now(filled):
    panel = monitor.panel(filled)
    assert panel["today"] == dt.date.today().isoformat()
    assert panel["freshness"]["fund_nav"]["status"] == "stale"
    monitor.render_text(panel)


@pytest.mark.mariadb
def test_panel_on_mariadb(mariadb_db_url):
    engine = sa.create_engine(mariadb_db_url, pool_pre_ping=True)
    try:
        empty = monitor.panel(engine, today=MONDAY_AFTER)
        assert empty["freshness"]["fund_nav"]["status"] == "never"
        create_fund_tables(engine)
        tasks.collect(engine, SETTINGS, FRIDAY, calendar=WEEKDAYS)
        tasks.validate(engine, SETTINGS, FRIDAY, calendar=WEEKDAYS)
        panel = monitor.panel(engine, today=MONDAY_AFTER, calendar=WEEKDAYS)
    finally:
        engine.dispose()
    assert panel["freshness"]["fund_nav"]["latest"] == "2024-06-07"
    assert panel["freshness"]["fund_metrics"]["status"] == "never"
    assert "3 d (1 sessions)" in monitor.render_text(panel)


def test_the_panel_counts_the_sessions_of_the_stored_calendar_and_names_it(tmp_path, xshg):
    from fund_common.calendars import store, table

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    create_fund_tables(engine)
    table.metadata.create_all(engine)
    store.save(engine, xshg, "4.13")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(fund_nav),
            [
                {
                    "fund_code": "000001",
                    "nav_date": dt.date(2026, 9, 30),
                    "unit_nav": 1.0,
                    "updated_at": END_OF_MONDAY,
                }
            ],
        )
    settings = FundSettings(calendars_file=str(tmp_path / "none.toml"))
    holiday = monitor.panel(engine, settings, today=dt.date(2026, 10, 1))
    assert holiday["calendar"] == {
        "name": "XSHG",
        "source": xshg.source,
        "known_until": "2026-12-31",
        "today_closed": "XSHG closed: National Day",
        "problems": [],
    }
    assert holiday["freshness"]["fund_nav"]["business_days_behind"] == 0
    after = monitor.panel(engine, settings, today=dt.date(2026, 10, 8))
    nav = after["freshness"]["fund_nav"]
    assert (nav["days_behind"], nav["business_days_behind"], nav["status"]) == (8, 1, "ok")
    text = monitor.render_text(holiday)
    assert "Data freshness (today 2026-10-01; XSHG closed: National Day; sessions of XSHG)" in text
    assert "! calendar" not in text
    engine.dispose()


def test_computing_the_panel_loads_no_numpy_nor_pandas(tmp_path):
    """The daemon computes the panel in its own process (dashboard, /health): it stays light."""
    code = (
        "import sys, datetime, sqlalchemy as sa; from fundpipe import monitor; "
        f"engine = sa.create_engine('sqlite:///{tmp_path / 'fund.db'}'); "
        "from fundpipe.schema import metadata; metadata.create_all(engine); "
        "text = monitor.render_text(monitor.panel(engine, today=datetime.date(2024, 6, 10))); "
        "assert 'never' in text; "
        "print(sorted(m for m in ('numpy', 'pandas', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_DIR
    ).stdout
    assert out.strip() == "[]"


def test_the_bundled_panel_names_the_calendar_and_notes_its_problems(tmp_path):
    from jobs.fund_monitor import fund_data_panel

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    create_fund_tables(engine)
    environ = {"SCHEDULER_HOME": str(tmp_path), "FUND_CALENDAR": "XSHE"}  # no config/calendars.toml there
    panel = fund_data_panel(engine, environ)
    assert panel["tables"][0]["title"] == "Data freshness (sessions of XSHE)"
    note = panel["notes"][0]  # the loader's own words after the calendar's name
    assert note.startswith("calendar XSHE: ") and "weekdays" in note
    assert panel["data"]["calendar"]["name"] == "XSHE"
    engine.dispose()
