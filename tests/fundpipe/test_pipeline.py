"""collect -> validate -> compute_metrics -> weekly_full_calc on a real database file."""

import dataclasses
import datetime as dt
import json
import logging

import empyrical
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fundpipe import tasks
from fundpipe.calendar import fund_calendar
from fundpipe.collector import collect_into_staging, new_batch_id
from fundpipe.errors import ValidationFailed
from fundpipe.schema import (
    data_update_log,
    fund_info,
    fund_metrics,
    fund_nav,
    fund_nav_quarantine,
    fund_nav_staging,
)
from fundpipe.settings import FundSettings
from tests.support.schema import create_fund_tables

MONDAY = dt.date(2024, 6, 3)
FRIDAY = dt.date(2024, 5, 31)
SETTINGS = FundSettings(demo_funds=20, demo_history_days=80)
INJECTION = "x' OR '1'='1"


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def engine(request, tmp_path):
    """A fresh database with the fund tables: a WAL-mode SQLite file, or a MariaDB database
    (tests/support/mariadb.py)."""
    if request.param == "mariadb":
        eng = sa.create_engine(request.getfixturevalue("mariadb_db_url"), pool_pre_ping=True)
    else:
        eng = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")

        @sa.event.listens_for(eng, "connect")
        def _pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    create_fund_tables(eng)
    yield eng
    eng.dispose()


class ListSource:
    """A source delivering fixed rows (the test's stand-in for a CSV or HTTP feed)."""

    name = "test"

    def __init__(self, rows, funds=None):
        self.rows = pd.DataFrame(
            rows, columns=["fund_code", "nav_date", "unit_nav", "accum_nav", "daily_return"]
        )
        self._funds = pd.DataFrame(funds or [], columns=["fund_code", "fund_name", "fund_type", "is_active"])

    def fetch(self, as_of):
        return self.rows

    def funds(self):
        return self._funds


def deliver(engine, rows, funds=None, day=MONDAY):
    """Stage rows as a new batch, as a collection from ListSource would (on the tasks' calendar)."""
    calendar = fund_calendar(engine, SETTINGS)
    return collect_into_staging(engine, ListSource(rows, funds), day, new_batch_id(day), 80, calendar)


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()


def log_rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(data_update_log).order_by(data_update_log.c.id)).mappings().all()


@pytest.fixture
def loaded(engine):
    """A database after one full daily chain on a fresh demo database."""
    collected = tasks.collect(engine, SETTINGS, MONDAY)
    validated = tasks.validate(engine, SETTINGS, MONDAY)
    computed = tasks.compute_metrics(engine, SETTINGS, MONDAY)
    return engine, collected, validated, computed


def test_daily_chain_on_a_fresh_database(loaded, caplog):
    engine, collected, validated, computed = loaded
    for summary in (collected, validated, computed):
        json.dumps(summary)  # JSON-serialisable for the run history

    assert collected["backfilled"] is True and collected["dates"] == 80
    assert collected["staged"] >= 20 * 80 and collected["funds"] == 20
    assert count(engine, fund_nav_staging) == collected["staged"]
    assert count(engine, fund_info) == 20

    assert validated["staged"] == collected["staged"]
    assert validated["loaded"] + validated["quarantined"] == validated["staged"]
    assert validated["quarantined"] > 0  # the demo's faults were caught
    assert sum(validated["rules"].values()) == validated["quarantined"]
    assert validated["inserted"] == validated["loaded"] == count(engine, fund_nav)
    assert count(engine, fund_nav_quarantine) == validated["quarantined"]
    assert count(engine, fund_nav_staging, fund_nav_staging.c.processed_at.is_(None)) == 0

    assert computed == {
        "funds": 20,
        "skipped": 0,
        "calc_date": "2024-06-03",
        "window_days": 79,
        "nav_rows": validated["loaded"],
        "closed": None,
    }
    assert count(engine, fund_metrics, fund_metrics.c.calc_date == MONDAY) == 20

    log = log_rows(engine)
    assert [(r["step"], r["status"], r["as_of"]) for r in log] == [
        ("collect", "success", MONDAY),
        ("validate", "success", MONDAY),
        ("compute_metrics", "success", MONDAY),
    ]
    assert log[0]["batch_id"] == collected["batch_id"] == log[1]["batch_id"]
    assert (log[1]["rows_in"], log[1]["rows_loaded"], log[1]["rows_rejected"]) == (
        validated["staged"],
        validated["loaded"],
        validated["quarantined"],
    )
    assert all(r["finished_at"] >= r["started_at"] for r in log)


def test_each_step_logs_one_summary_line(engine, caplog):
    caplog.set_level(logging.INFO, logger="fundpipe")
    tasks.collect(engine, SETTINGS, MONDAY)
    tasks.validate(engine, SETTINGS, MONDAY)
    tasks.compute_metrics(engine, SETTINGS, MONDAY)
    lines = [r.getMessage() for r in caplog.records if r.name == "fundpipe"]
    assert [line.split(" ")[0] for line in lines] == ["collect", "validate", "compute_metrics"]
    assert "quarantined" in lines[1] and "metrics for 20 funds" in lines[2]


def test_stored_metrics_match_empyrical_on_the_stored_navs(loaded):
    engine = loaded[0]
    with engine.connect() as conn:
        navs = pd.DataFrame(conn.execute(sa.select(fund_nav).order_by(fund_nav.c.nav_date)).all())
        stored = pd.DataFrame(conn.execute(sa.select(fund_metrics)).all()).set_index("fund_code")
    for code, nav in navs.groupby("fund_code"):
        returns = nav["accum_nav"].to_numpy() / nav["accum_nav"].shift().to_numpy() - 1
        returns = returns[1:]
        row = stored.loc[code]
        assert row["n_obs"] == len(returns)
        assert row["annual_return"] == pytest.approx(empyrical.annual_return(returns), rel=1e-9)
        assert row["annual_volatility"] == pytest.approx(empyrical.annual_volatility(returns), rel=1e-9)
        assert row["sharpe_ratio"] == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-9)
        assert row["sortino_ratio"] == pytest.approx(empyrical.sortino_ratio(returns), rel=1e-9)
        assert row["max_drawdown"] == pytest.approx(empyrical.max_drawdown(returns), rel=1e-9)
        assert row["return_1m"] == pytest.approx(empyrical.cum_returns_final(returns[-21:]), rel=1e-9)
        assert pd.isna(row["return_1y"])  # fewer than 252 observations


def test_rerunning_a_day_changes_nothing(loaded):
    engine, collected, validated, _ = loaded
    with engine.connect() as conn:
        before = conn.execute(sa.select(fund_nav).order_by(fund_nav.c.fund_code, fund_nav.c.nav_date)).all()
        metrics_before = conn.execute(sa.select(fund_metrics.c.fund_code, fund_metrics.c.sharpe_ratio)).all()

    nothing = tasks.validate(engine, SETTINGS, MONDAY)
    assert (nothing["staged"], nothing["loaded"], nothing["quarantined"]) == (0, 0, 0)

    again = tasks.collect(engine, SETTINGS, MONDAY)
    assert again["backfilled"] is False and again["dates"] == 1
    revalidated = tasks.validate(engine, SETTINGS, MONDAY)
    assert revalidated["loaded"] + revalidated["quarantined"] == again["staged"]
    assert (revalidated["inserted"], revalidated["updated"]) == (0, 0)
    assert revalidated["unchanged"] == revalidated["loaded"]
    tasks.compute_metrics(engine, SETTINGS, MONDAY)

    with engine.connect() as conn:
        after = conn.execute(sa.select(fund_nav).order_by(fund_nav.c.fund_code, fund_nav.c.nav_date)).all()
        metrics_after = conn.execute(sa.select(fund_metrics.c.fund_code, fund_metrics.c.sharpe_ratio)).all()
    assert after == before  # not even updated_at or batch_id moved
    assert sorted(metrics_after) == sorted(metrics_before)


def test_a_corrected_nav_updates_the_row_and_is_logged(loaded, caplog):
    engine = loaded[0]
    with engine.connect() as conn:
        code, unit, accum = conn.execute(
            sa.select(fund_nav.c.fund_code, fund_nav.c.unit_nav, fund_nav.c.accum_nav)
            .where(fund_nav.c.nav_date == MONDAY)
            .limit(1)
        ).one()
    total = count(engine, fund_nav)
    deliver(engine, [(code, MONDAY, unit + 0.01, accum + 0.01, None)])  # no return to check
    caplog.set_level(logging.INFO, logger="fundpipe")
    summary = tasks.validate(engine, SETTINGS, MONDAY)
    assert (summary["updated"], summary["inserted"], summary["loaded"]) == (1, 0, 1)
    assert count(engine, fund_nav) == total
    with engine.connect() as conn:
        new_unit = conn.execute(
            sa.select(fund_nav.c.unit_nav).where(fund_nav.c.fund_code == code, fund_nav.c.nav_date == MONDAY)
        ).scalar()
    assert new_unit == pytest.approx(unit + 0.01)
    assert any("corrected" in r.getMessage() and code in r.getMessage() for r in caplog.records)


def test_a_later_batch_supersedes_an_earlier_one_for_the_same_key(engine):
    deliver(engine, [("000001", MONDAY, 1.0, 1.0, 0.0), ("000001", MONDAY, 9.0, 9.0, 0.0)])
    deliver(engine, [("000001", MONDAY, 1.5, 1.5, 0.0)])
    summary = tasks.validate(engine, SETTINGS, MONDAY)
    assert summary["staged"] == 3 and summary["loaded"] + summary["quarantined"] == 3
    assert summary["rules"]["no_duplicate_key"] == 1  # within the first batch only
    assert (summary["inserted"], summary["superseded"]) == (1, 1)
    with engine.connect() as conn:
        assert conn.execute(sa.select(fund_nav.c.unit_nav)).scalars().all() == [1.5]


def test_a_hostile_fund_code_is_stored_as_data(engine):
    rows = [(INJECTION, MONDAY, 1.2345, 1.5, 0.1), ("000001", MONDAY, 1.0, 1.0, 0.0)]
    deliver(engine, rows, funds=[(INJECTION, "注入'; DROP TABLE fund_nav; --", "stock", True)])
    summary = tasks.validate(engine, SETTINGS, MONDAY)
    assert summary["loaded"] == 2
    with engine.connect() as conn:
        found = conn.execute(sa.select(fund_nav.c.unit_nav).where(fund_nav.c.fund_code == INJECTION)).all()
        name = conn.execute(
            sa.select(fund_info.c.fund_name).where(fund_info.c.fund_code == INJECTION)
        ).scalar()
    assert found == [(1.2345,)]
    assert name == "注入'; DROP TABLE fund_nav; --"
    assert count(engine, fund_nav) == 2
    assert tasks.compute_metrics(engine, SETTINGS, MONDAY)["skipped"] == 2


def test_metrics_skip_funds_with_too_few_observations(loaded):
    engine = loaded[0]
    newcomer = [("999999", MONDAY - dt.timedelta(days=d), 1.0 + d / 100, None, None) for d in range(10)]
    deliver(engine, newcomer)
    tasks.validate(engine, SETTINGS, MONDAY)
    summary = tasks.compute_metrics(engine, SETTINGS, MONDAY)
    assert (summary["funds"], summary["skipped"]) == (20, 1)
    assert count(engine, fund_metrics, fund_metrics.c.fund_code == "999999") == 0
    strict = FundSettings(demo_funds=20, demo_history_days=200, min_observations=100)
    assert tasks.compute_metrics(engine, strict, MONDAY) == {**summary, "funds": 0, "skipped": 21}


@pytest.mark.parametrize(("chunk_funds", "chunks"), [(5000, 1), (7, 3)])
def test_compute_metrics_reads_fund_nav_with_one_query_per_chunk(loaded, chunk_funds, chunks):
    engine = loaded[0]
    statements = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    settings = FundSettings(demo_funds=20, demo_history_days=80, metrics_chunk_funds=chunk_funds)
    assert tasks.compute_metrics(engine, settings, MONDAY)["funds"] == 20
    sa.event.remove(engine, "before_cursor_execute", _record)
    # the reads may open with a CTE (SQLite finds the window's dates and the fund codes with one)
    reads = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH")) and "fund_nav" in s]
    navs = [s for s in reads if "unit_nav" in s]
    # one read of the NAV rows per chunk; small lookups: the latest NAV date (calc_date), the
    # window's dates and the fund codes once (on MariaDB the oldest date too), the window's dates
    # again after each chunk
    lookups = 3 if engine.dialect.name == "sqlite" else 4
    assert len(navs) == chunks and len(reads) == lookups + 2 * chunks
    assert reads[0].startswith("SELECT max(fund_nav.nav_date)")


def test_weekend_collection_stages_nothing(loaded):
    engine = loaded[0]
    saturday = tasks.collect(engine, SETTINGS, dt.date(2024, 6, 8))
    assert (saturday["staged"], saturday["dates"]) == (0, 0)
    assert tasks.validate(engine, SETTINGS, dt.date(2024, 6, 8))["staged"] == 0


def test_a_day_with_nothing_loadable_fails_after_recording_it(engine):
    deliver(engine, [("000001", MONDAY, None, None, None), ("000002", MONDAY, -1.0, 1.0, 0.0)])
    with pytest.raises(ValidationFailed, match="all 2 staged rows were rejected"):
        tasks.validate(engine, SETTINGS, MONDAY)
    last = log_rows(engine)[-1]
    assert (last["step"], last["status"], last["rows_in"], last["rows_rejected"]) == (
        "validate",
        "failed",
        2,
        2,
    )
    assert "ValidationFailed" in last["message"]
    assert count(engine, fund_nav_quarantine) == 2
    assert tasks.validate(engine, SETTINGS, MONDAY)["staged"] == 0  # recorded, not retried forever


def test_a_crashing_step_is_logged_as_failed(engine, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tasks, "latest_nav_date", boom)
    with pytest.raises(RuntimeError):
        tasks.compute_metrics(engine, SETTINGS, MONDAY)
    last = log_rows(engine)[-1]
    assert (last["step"], last["status"]) == ("compute_metrics", "failed")
    assert last["message"] == "RuntimeError: disk on fire" and last["finished_at"] is not None


def test_weekly_full_calc_recomputes_the_last_trading_day_and_purges_old_staging(loaded, tmp_path):
    engine = loaded[0]
    settings = dataclasses.replace(SETTINGS, report_dir=str(tmp_path))
    pending = deliver(engine, [("000001", MONDAY, 1.0, 1.0, 0.0)])  # not validated yet: kept
    sunday = dt.date(2024, 6, 9)
    kept = tasks.weekly_full_calc(engine, settings, sunday)
    assert kept["calc_date"] == "2024-06-03" and kept["purged_staging"] == 0

    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=31)
    summary = tasks.weekly_full_calc(engine, settings, sunday, now=later)
    assert summary["report"] == str(tmp_path / "weekly-2024-W23.html")
    assert summary["funds"] == 20 and summary["calc_date"] == "2024-06-03"
    assert summary["purged_staging"] == loaded[1]["staged"]
    assert count(engine, fund_nav_staging) == pending["staged"] == 1
    assert count(engine, fund_metrics) == 20  # recomputed in place, no Sunday rows
    assert log_rows(engine)[-1]["step"] == "weekly_full_calc"


def test_weekly_full_calc_on_an_empty_database(engine, tmp_path):
    settings = dataclasses.replace(SETTINGS, report_dir=str(tmp_path))
    summary = tasks.weekly_full_calc(engine, settings, FRIDAY)
    summary.pop("report_seconds")
    assert summary == {
        "funds": 0,
        "skipped": 0,
        "calc_date": None,
        "purged_staging": 0,
        "report": str(tmp_path / "weekly-2024-W22.html"),
    }


def test_as_of_may_be_a_datetime_or_iso_string(engine):
    assert tasks.collect(engine, SETTINGS, "2024-06-03")["as_of"] == "2024-06-03"
    assert tasks.validate(engine, SETTINGS, dt.datetime(2024, 6, 3, 19, 30))["as_of"] == "2024-06-03"
    with pytest.raises(ValueError, match="as_of='June'"):
        tasks.compute_metrics(engine, SETTINGS, "June")


def test_metric_values_are_finite_or_null(loaded):
    engine = loaded[0]
    with engine.connect() as conn:
        values = conn.execute(sa.select(fund_metrics.c.sharpe_ratio, fund_metrics.c.max_drawdown)).all()
    assert all(np.isfinite(s) and m <= 0 for s, m in values)


def test_only_the_rows_read_are_marked_processed(engine):
    deliver(engine, [("000001", MONDAY, 1.0, 1.0, 0.0), ("000002", MONDAY, 1.0, 1.0, 0.0)])
    deliver(engine, [("000003", MONDAY, 1.0, 1.0, 0.0)])
    with engine.begin() as conn:  # a row already handled elsewhere leaves a hole in the ids
        conn.execute(
            sa.update(fund_nav_staging)
            .where(fund_nav_staging.c.fund_code == "000002")
            .values(processed_at=dt.datetime(2024, 6, 3))
        )
    summary = tasks.validate(engine, SETTINGS, MONDAY)
    assert (summary["staged"], summary["loaded"]) == (2, 2)
    with engine.connect() as conn:
        marks = dict(
            conn.execute(sa.select(fund_nav_staging.c.fund_code, fund_nav_staging.c.processed_at)).all()
        )
    assert marks["000002"] == dt.datetime(2024, 6, 3)
    assert marks["000001"] == marks["000003"] > dt.datetime(2024, 6, 3)
