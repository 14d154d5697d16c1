"""The dashboard's run statistics (the daemon's own "runs" panel): per job, the runs of the last
7 days and their success rate, from the run history. Ported from the fund monitor's tests when
the fund domain stopped reading the daemon's history."""

from __future__ import annotations

import datetime as dt

import pytest

from fund_scheduler.cli.context import Cli
from fund_scheduler.cli.report_commands import runs_panel
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from tests.support.schema import create_scheduler_tables

END_OF_MONDAY = dt.datetime(2024, 6, 11, tzinfo=dt.UTC)  # the panel's "now"


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def cli_on(tmp_path) -> Cli:
    return Cli(Settings.from_env({"SCHEDULER_HOME": str(tmp_path)}))


@pytest.fixture
def filled(tmp_path):
    cli = cli_on(tmp_path)
    engine = make_engine(cli.settings.database_url)
    create_scheduler_tables(engine)
    runs = [("daily_collection", at(2024, 6, d, 11), "success") for d in (4, 5, 6, 7, 10)]
    runs += [("daily_validation", at(2024, 6, d, 11), "success") for d in (4, 5, 6)]
    runs += [("daily_validation", at(2024, 6, 7, 11), "failed")]
    runs += [("daily_validation", at(2024, 6, 10, 11), "timeout")]
    runs += [("weekly_pipeline", at(2024, 6, 8, 18), "missed")]
    runs += [("daily_collection", at(2024, 6, 3, 23, 59), "failed")]  # older than 7 days
    for job_id, started, status in runs:
        history.record(engine, job_id, status, scheduled_run_time=None, trigger="schedule", now=started)
    history.start(
        engine, "daily_metrics", scheduled_run_time=None, trigger="schedule", now=at(2024, 6, 10, 23)
    )
    history.record(
        engine, "daily_metrics", "success", scheduled_run_time=None, now=at(2024, 6, 11, 1)
    )  # after now
    engine.dispose()
    return cli


def test_job_counts_and_success_rates_over_7_days(filled) -> None:
    data = runs_panel(filled, END_OF_MONDAY)["data"]
    assert data["available"] is True and data["days"] == 7
    by_id = {j["job_id"]: j for j in data["jobs"]}
    assert list(by_id) == ["daily_collection", "daily_metrics", "daily_validation", "weekly_pipeline"]
    assert by_id["daily_collection"]["runs"] == 5 and by_id["daily_collection"]["success_rate"] == 1.0
    validation = by_id["daily_validation"]
    assert (validation["runs"], validation["success"], validation["failed"]) == (5, 3, 2)
    assert validation["by_status"] == {"success": 3, "failed": 1, "timeout": 1}
    assert validation["success_rate"] == pytest.approx(0.6)
    metrics = by_id["daily_metrics"]
    assert (metrics["runs"], metrics["running"], metrics["success_rate"]) == (1, 1, None)
    assert by_id["weekly_pipeline"]["success_rate"] == 0.0
    total = data["total"]
    assert (total["runs"], total["success"], total["failed"], total["running"]) == (12, 8, 3, 1)
    assert total["success_rate"] == pytest.approx(8 / 11, abs=1e-4)


def test_the_text_shown_by_dashboard(filled) -> None:
    text = runs_panel(filled, END_OF_MONDAY)["text"]
    assert "Jobs, last 7 days: 12 runs, 72.7 % success" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("daily_validation"))
    assert line.split()[1:7] == ["5", "3", "2", "0", "60.0", "%"]
    assert line.endswith("failed 1, timeout 1")


def test_without_a_history_it_says_so_and_creates_nothing(tmp_path) -> None:
    panel = runs_panel(cli_on(tmp_path), END_OF_MONDAY)
    assert panel["data"]["available"] is False and panel["data"]["total"]["success_rate"] is None
    assert "no run history available" in panel["text"]
    assert list(tmp_path.iterdir()) == []


def test_an_empty_history_is_zero_runs(tmp_path) -> None:
    cli = cli_on(tmp_path)
    engine = make_engine(cli.settings.database_url)
    create_scheduler_tables(engine)
    engine.dispose()
    panel = runs_panel(cli, END_OF_MONDAY)
    assert panel["data"]["available"] is True and panel["data"]["jobs"] == []
    assert "Jobs, last 7 days: 0 runs, - success" in panel["text"]
