"""The fund day by the exchange: the demo source, collection, backfill, validation and metrics
on XSHG's sessions around National Day 2026 (2026-10-01..07 closed; 2026-09-30 and 2026-10-08
are sessions), and an operator-file closure honoured through the settings alone."""

import datetime as dt
import logging

import pandas as pd
import pytest
import sqlalchemy as sa

from fund_common.calendars import weekdays_only
from fundpipe import tasks
from fundpipe.collector import collect_into_staging, new_batch_id
from fundpipe.schema import data_update_log, fund_nav, fund_nav_quarantine, fund_nav_staging
from fundpipe.settings import FundSettings
from fundpipe.sources.demo import DemoSource

BEFORE, HOLIDAY, AFTER = dt.date(2026, 9, 30), dt.date(2026, 10, 1), dt.date(2026, 10, 8)
CLOSED = {dt.date(2026, 10, d) for d in (1, 2, 5, 6, 7)}
HISTORY = 61
SETTINGS = FundSettings(demo_funds=10, demo_history_days=HISTORY, min_observations=60)


def staged_dates(engine):
    with engine.connect() as conn:
        return sorted(set(conn.execute(sa.select(fund_nav_staging.c.nav_date)).scalars()))


def test_the_demo_source_publishes_sessions_only(xshg):
    source = DemoSource(5, calendar=xshg)
    assert source.fetch(HOLIDAY).empty
    assert len(source.fetch(AFTER)) >= 5 and set(source.fetch(AFTER)["nav_date"].dt.date) == {AFTER}
    days = {d.date() for d in source.fetch_range(dt.date(2026, 9, 28), dt.date(2026, 10, 9))["nav_date"]}
    assert days == {dt.date(2026, 9, 28), dt.date(2026, 9, 29), BEFORE, AFTER, dt.date(2026, 10, 9)}
    assert source.faults(HOLIDAY, HOLIDAY).empty


def test_a_demo_return_after_the_holiday_is_against_the_last_session_before_it(xshg):
    rows = (
        DemoSource(5, faults=False, calendar=xshg)
        .fetch_range(BEFORE, AFTER)
        .set_index(["fund_code", "nav_date"])
    )
    for code in rows.index.get_level_values(0).unique():
        before, after = rows.loc[(code, pd.Timestamp(BEFORE))], rows.loc[(code, pd.Timestamp(AFTER))]
        dividend = (after.accum_nav - after.unit_nav) - (before.accum_nav - before.unit_nav)
        change = ((after.unit_nav + dividend) / before.unit_nav - 1) * 100
        assert after.daily_return == pytest.approx(change, abs=0.02), code


def test_a_fresh_backfill_of_n_sessions_skips_the_holidays(engine, xshg):
    summary = tasks.collect(engine, SETTINGS, AFTER, calendar=xshg)
    assert summary["backfilled"] and summary["dates"] == HISTORY and summary["closed"] is None
    dates = staged_dates(engine)
    assert len(dates) == HISTORY and dates[-1] == AFTER and dates[0] == xshg.first_of_sessions(AFTER, HISTORY)
    assert not CLOSED & set(dates) and all(xshg.is_session(d) for d in dates)
    assert dates[-2] == BEFORE

    validated = tasks.validate(engine, SETTINGS, AFTER, calendar=xshg)
    assert validated["rules"]["trading_day"] == 0 and validated["is_valid"]
    with engine.connect() as conn:  # only the demo's planted faults are quarantined
        rules = set(conn.execute(sa.select(fund_nav_quarantine.c.rule)).scalars())
    assert rules <= {"not_null", "positive_nav", "no_duplicate_key", "nav_jump", "return_consistent"}
    metrics = tasks.compute_metrics(engine, SETTINGS, AFTER, calendar=xshg)
    assert (metrics["calc_date"], metrics["funds"] + metrics["skipped"], metrics["closed"]) == (
        "2026-10-08",
        10,
        None,
    )


def test_collect_on_a_closed_day_collects_nothing_and_says_why(engine, xshg, caplog):
    tasks.collect(engine, SETTINGS, BEFORE, calendar=xshg)  # not fresh any more
    before = staged_dates(engine)
    with caplog.at_level(logging.INFO, logger="fundpipe"):
        summary = tasks.collect(engine, SETTINGS, HOLIDAY, calendar=xshg)
    why = "nothing collected: 2026-10-01 is no session (XSHG closed: National Day)"
    assert (summary["staged"], summary["dates"], summary["closed"]) == (0, 0, "XSHG closed: National Day")
    assert summary["note"] == why and staged_dates(engine) == before
    assert any(
        why in r.getMessage() and r.getMessage().startswith("collect 2026-10-01") for r in caplog.records
    )
    with engine.connect() as conn:
        last = (
            conn.execute(sa.select(data_update_log).order_by(data_update_log.c.id.desc())).mappings().first()
        )
    assert (last["step"], last["status"], last["rows_in"]) == ("collect", "success", 0)
    assert why in last["message"]


def test_metrics_on_a_closed_day_are_the_last_sessions_and_say_so(engine, xshg):
    tasks.collect(engine, SETTINGS, BEFORE, calendar=xshg)
    tasks.validate(engine, SETTINGS, BEFORE, calendar=xshg)
    summary = tasks.compute_metrics(engine, SETTINGS, HOLIDAY, calendar=xshg)
    assert (summary["calc_date"], summary["closed"]) == ("2026-09-30", "XSHG closed: National Day")
    with engine.connect() as conn:
        message = conn.execute(
            sa.select(data_update_log.c.message).where(data_update_log.c.step == "compute_metrics")
        ).scalar_one()
    assert "on 2026-09-30 (as_of is no session: XSHG closed: National Day)" in message


def test_an_operator_closure_is_honoured_through_the_settings(engine, tmp_path, xshg):
    calendars = tmp_path / "calendars.toml"
    calendars.write_text(
        '[XSHG]\nknown_until = "2027-12-31"\n[XSHG.closed]\n"2027-02-08" = "Spring Festival"\n'
    )
    settings = FundSettings(demo_funds=10, demo_history_days=HISTORY, calendars_file=str(calendars))
    closed, friday = dt.date(2027, 2, 8), dt.date(2027, 2, 5)
    assert tasks.collect(engine, settings, friday)["backfilled"]  # no calendar passed: the settings'
    assert tasks.collect(engine, settings, closed)["closed"] == "XSHG closed: Spring Festival"
    # a source and a calendar that have the day open stage it anyway: validation has the last word
    planted = collect_into_staging(
        engine, DemoSource(10), closed, new_batch_id(closed), HISTORY, weekdays_only("WEEKDAYS")
    )["staged"]
    assert planted >= 10
    summary = tasks.validate(engine, settings, dt.date(2027, 2, 9))
    with engine.connect() as conn:
        reasons = set(
            conn.execute(
                sa.select(fund_nav_quarantine.c.reason).where(fund_nav_quarantine.c.rule == "trading_day")
            ).scalars()
        )
        stored = conn.execute(sa.select(sa.func.count()).where(fund_nav.c.nav_date == closed)).scalar()
    assert summary["rules"]["trading_day"] == planted
    assert reasons == {"nav_date 2027-02-08 is not a trading day (XSHG closed: Spring Festival)"}
    assert stored == 0
