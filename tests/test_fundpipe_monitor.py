"""The monitoring panel: freshness, recent updates, 7-day success rates; empty and filled databases."""

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from fundpipe import monitor, tasks
from fundpipe.schema import create_schema, data_update_log, fund_nav_quarantine
from fundpipe.settings import FundSettings
from tests.fund_fixtures import history_table

FRIDAY = dt.date(2024, 6, 7)
MONDAY_AFTER = dt.date(2024, 6, 10)
END_OF_MONDAY = dt.datetime(2024, 6, 11)  # the panel's "now" for today=MONDAY_AFTER
SETTINGS = FundSettings(demo_funds=12, demo_history_days=70)


def job(job_id, started_at, status):
    return {
        "job_id": job_id,
        "started_at": started_at,
        "status": status,
        "duration": 1.0,
        "trigger": "schedule",
    }


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
    """Demo NAVs up to Friday 2024-06-07, an unvalidated collection, and fixed-time log,
    quarantine and run-history rows around Monday 2024-06-10."""
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('monitor') / 'fund.db'}")
    for day in (dt.date(2024, 6, 6), FRIDAY):
        tasks.collect(engine, SETTINGS, day)
        tasks.validate(engine, SETTINGS, day)
        tasks.compute_metrics(engine, SETTINGS, day)
    waiting = tasks.collect(engine, SETTINGS, MONDAY_AFTER)["staged"]  # not validated yet
    assert waiting >= 12
    at = dt.datetime
    history = history_table(engine)
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
        runs = [job("daily_collection", at(2024, 6, d, 11), "success") for d in (4, 5, 6, 7, 10)]
        runs += [job("daily_validation", at(2024, 6, d, 11), "success") for d in (4, 5, 6)]
        runs += [job("daily_validation", at(2024, 6, 7, 11), "failed")]
        runs += [job("daily_validation", at(2024, 6, 10, 11), "timeout")]
        runs += [job("daily_metrics", at(2024, 6, 10, 23), "running")]
        runs += [job("weekly_pipeline", at(2024, 6, 8, 18), "missed")]
        runs += [job("daily_collection", at(2024, 6, 3, 23, 59), "failed")]  # older than 7 days
        conn.execute(sa.insert(history), runs)
    engine.waiting = waiting
    yield engine
    engine.dispose()


def test_panel_on_an_empty_database(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    panel = monitor.panel(engine, today=MONDAY_AFTER)
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
    assert panel["jobs"]["available"] is False
    assert panel["jobs"]["total"]["runs"] == 0 and panel["jobs"]["total"]["success_rate"] is None
    assert sa.inspect(engine).get_table_names() == []  # the panel creates nothing

    text = monitor.render_text(panel)
    assert "never" in text and "no run history available" in text
    assert "0 rows waiting for validation" in text


def test_panel_with_fund_tables_but_no_rows_and_no_history(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    create_schema(engine)
    panel = monitor.panel(engine, today=MONDAY_AFTER)
    assert panel["freshness"]["fund_nav"]["status"] == "never"
    history_table(engine)
    panel = monitor.panel(engine, today=MONDAY_AFTER)
    assert panel["jobs"]["available"] is True and panel["jobs"]["jobs"] == []
    assert "0 runs, - success" in monitor.render_text(panel)


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


def test_job_counts_and_success_rates_over_7_days(filled):
    jobs = monitor.panel(filled, today=MONDAY_AFTER)["jobs"]
    assert jobs["available"] is True and jobs["days"] == 7
    by_id = {j["job_id"]: j for j in jobs["jobs"]}
    assert list(by_id) == ["daily_collection", "daily_metrics", "daily_validation", "weekly_pipeline"]
    assert by_id["daily_collection"]["runs"] == 5 and by_id["daily_collection"]["success_rate"] == 1.0
    validation = by_id["daily_validation"]
    assert (validation["runs"], validation["success"], validation["failed"]) == (5, 3, 2)
    assert validation["by_status"] == {"success": 3, "failed": 1, "timeout": 1}
    assert validation["success_rate"] == pytest.approx(0.6)
    metrics = by_id["daily_metrics"]
    assert (metrics["runs"], metrics["running"], metrics["success_rate"]) == (1, 1, None)
    assert by_id["weekly_pipeline"]["success_rate"] == 0.0
    total = jobs["total"]
    assert (total["runs"], total["success"], total["failed"], total["running"]) == (12, 8, 3, 1)
    assert total["success_rate"] == pytest.approx(8 / 11)


def test_render_text_of_a_filled_panel(filled):
    panel = monitor.panel(filled, today=MONDAY_AFTER)
    text = monitor.render_text(panel)
    assert text == monitor.render_text(json.loads(json.dumps(panel)))
    for expected in (
        "Data freshness (today 2024-06-10)",
        "2024-06-07",
        "3 d (1 business)",
        f"{filled.waiting} rows waiting for validation",
        "2 rows in the last 7 days",
        "Updates in the last 24 h (since 2024-06-10 00:00 UTC): 3",
        "! validate 2024-06-10: ValidationFailed: x",
        "Jobs, last 7 days: 12 runs, 72.7 % success",
    ):
        assert expected in text, expected
    line = next(x for x in text.splitlines() if x.strip().startswith("daily_validation"))
    assert line.split()[1:7] == ["5", "3", "2", "0", "60.0", "%"]
    assert line.endswith("failed 1, timeout 1")


@pytest.mark.parametrize(
    ("counts", "rate"),
    [
        ({}, None),
        ({"running": 2}, None),
        ({"success": 3}, 1.0),
        ({"success": 3, "failed": 1}, 0.75),
        ({"success": 3, "failed": 1, "running": 4}, 0.75),
        ({"success": 1, "missed": 1, "skipped": 1, "timeout": 1, "interrupted": 1}, 0.2),
        ({"failed": 2}, 0.0),
    ],
)
def test_success_rate(counts, rate):
    assert monitor.success_rate(counts) == rate
    summary = monitor.count_summary(counts)
    assert summary["success_rate"] == rate
    assert (
        summary["runs"] == summary["success"] + summary["failed"] + summary["running"] == sum(counts.values())
    )


@pytest.mark.parametrize(
    ("latest", "today", "behind"),
    [
        ("2024-06-07", "2024-06-07", 0),  # Friday, same day
        ("2024-06-07", "2024-06-08", 0),  # Saturday
        ("2024-06-07", "2024-06-10", 1),  # Monday
        ("2024-06-07", "2024-06-12", 3),
        ("2024-06-07", "2024-06-14", 5),  # a week
        ("2024-06-05", "2024-06-26", 15),  # three weeks
        ("2024-06-08", "2024-06-10", 1),  # from a Saturday
        ("2024-06-10", "2024-06-07", 0),  # latest after today
    ],
)
def test_business_days_behind(latest, today, behind):
    assert monitor.business_days_behind(dt.date.fromisoformat(latest), dt.date.fromisoformat(today)) == behind


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
        assert empty["freshness"]["fund_nav"]["status"] == "never" and empty["jobs"]["available"] is False
        tasks.collect(engine, SETTINGS, FRIDAY)
        tasks.validate(engine, SETTINGS, FRIDAY)
        history = history_table(engine)
        with engine.begin() as conn:
            conn.execute(
                sa.insert(history),
                [
                    job("a", dt.datetime(2024, 6, 9, 1), "success"),
                    job("a", dt.datetime(2024, 6, 9, 2), "failed"),
                ],
            )
        panel = monitor.panel(engine, today=MONDAY_AFTER)
    finally:
        engine.dispose()
    assert panel["freshness"]["fund_nav"]["latest"] == "2024-06-07"
    assert panel["freshness"]["fund_metrics"]["status"] == "never"
    assert panel["jobs"]["jobs"][0]["success_rate"] == 0.5
    assert "Jobs, last 7 days: 2 runs, 50.0 % success" in monitor.render_text(panel)
