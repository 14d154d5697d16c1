"""validate on a real database: every staged row ends in exactly one place, and the log says so.

A batch with every kind of fault; an idempotent re-run; a corrected NAV; the coverage warning;
a hostile fund code; and the accounting check itself refusing a result that loses a row.
"""

import datetime as dt
import logging

import pandas as pd
import pytest
import sqlalchemy as sa

from fund_common.calendars import weekdays_only
from fundpipe import merge, tasks
from fundpipe.collector import collect_into_staging, new_batch_id
from fundpipe.errors import FundPipelineError
from fundpipe.schema import (
    data_update_log,
    fund_nav,
    fund_nav_corrections,
    fund_nav_quarantine,
    fund_nav_staging,
)
from fundpipe.settings import FundSettings

THURSDAY, FRIDAY, SATURDAY = dt.date(2024, 5, 30), dt.date(2024, 5, 31), dt.date(2024, 6, 1)
MONDAY, TUESDAY = dt.date(2024, 6, 3), dt.date(2024, 6, 4)
WEEKDAYS = weekdays_only("WEEKDAYS")
SETTINGS = FundSettings(demo_funds=10, demo_history_days=80)
INJECTION = "x' OR '1'='1"
CODES = [f"00000{i}" for i in range(10)]
TYPES = ["stock"] * 4 + ["bond"] * 3 + ["hybrid"] * 2 + ["money_market"]


class ListSource:
    name = "test"

    def __init__(self, rows, funds=()):
        self.rows = pd.DataFrame(
            rows, columns=["fund_code", "nav_date", "unit_nav", "accum_nav", "daily_return"]
        )
        self._funds = pd.DataFrame(list(funds), columns=["fund_code", "fund_name", "fund_type", "is_active"])

    def fetch(self, as_of):
        return self.rows

    def funds(self):
        return self._funds


def deliver(engine, rows, funds=(), day=MONDAY):
    return collect_into_staging(engine, ListSource(rows, funds), day, new_batch_id(day), 80, WEEKDAYS)


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()


def last_log(engine):
    with engine.connect() as conn:
        return (
            conn.execute(sa.select(data_update_log).order_by(data_update_log.c.id.desc()).limit(1))
            .mappings()
            .one()
        )


def snapshot(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(fund_nav).order_by(fund_nav.c.fund_code, fund_nav.c.nav_date)).all()


def friday_nav(i):
    return round(1.0 + i / 10, 4)


@pytest.fixture
def history(engine):
    """Ten active funds with clean Thursday and Friday NAVs stored."""
    funds = [(code, f"基金{i}", TYPES[i], True) for i, code in enumerate(CODES)]
    rows = [(code, THURSDAY, friday_nav(i), friday_nav(i), 0.0) for i, code in enumerate(CODES)]
    rows += [(code, FRIDAY, friday_nav(i), friday_nav(i), 0.0) for i, code in enumerate(CODES)]
    deliver(engine, rows, funds, day=FRIDAY)
    summary = tasks.validate(engine, SETTINGS, FRIDAY)
    assert (summary["loaded"], summary["quarantined"]) == (20, 0)
    return engine


def monday(i, change=0.5):
    """A clean Monday row of fund i: its Friday NAV moved by ``change`` percent."""
    unit = round(friday_nav(i) * (1 + change / 100), 4)
    return (CODES[i], MONDAY, unit, unit, change)


def faulty_monday():
    """A Monday delivery with one row of every fault, one clean row per other fund."""
    return [
        (CODES[0], MONDAY, "abc", 1.0, 0.5),  # parses
        (CODES[1], MONDAY, None, 1.1, 0.5),  # not_null
        ("9" * 40, MONDAY, 1.0, 1.0, 0.0),  # fund_code_length
        ("000007\x1b[31mRED", MONDAY, 1.0, 1.0, 0.0),  # fund_code_printable
        (CODES[2], TUESDAY, 1.2, 1.2, 0.0),  # date_not_future
        (CODES[2], SATURDAY, 1.2, 1.2, 0.0),  # trading_day
        (INJECTION, MONDAY, -1.0, 1.0, 0.0),  # positive_nav, for a hostile code
        monday(3),
        monday(3),  # no_duplicate_key
        (CODES[4], MONDAY, round(friday_nav(4) * 10, 4), friday_nav(4), 0.3),  # nav_jump: 10x typo
        (CODES[5], MONDAY, friday_nav(5), friday_nav(5), 0.85),  # return_consistent: stale repeat
        monday(6, change=6.0),  # return_bounds: +6 % for a bond fund
        monday(7),
        monday(8),
        monday(9),
        (INJECTION, FRIDAY, 1.2345, 1.5, None),  # the hostile code as good data
    ]


ONE_EACH = {
    "parses": 1,
    "not_null": 1,
    "fund_code_length": 1,
    "fund_code_printable": 1,
    "date_not_future": 1,
    "trading_day": 1,
    "positive_nav": 1,
    "no_duplicate_key": 1,
    "nav_jump": 1,
    "return_consistent": 1,
    "return_bounds": 1,
}


def test_every_fault_is_quarantined_and_every_row_accounted_for(history):
    engine = history
    staged = deliver(engine, faulty_monday())["staged"]
    summary = tasks.validate(engine, SETTINGS, MONDAY)

    assert summary["staged"] == staged == 16
    assert summary["rules"] == ONE_EACH
    assert summary["loaded"] + summary["quarantined"] == summary["staged"]
    assert (summary["loaded"], summary["quarantined"], summary["inserted"]) == (5, 11, 5)
    assert count(engine, fund_nav_staging, fund_nav_staging.c.processed_at.is_(None)) == 0
    assert not summary["is_valid"]  # 11 of 16 rows rejected

    with engine.connect() as conn:
        quarantined = conn.execute(
            sa.select(
                fund_nav_quarantine.c.fund_code, fund_nav_quarantine.c.rule, fund_nav_quarantine.c.reason
            )
        ).all()
        loaded = conn.execute(
            sa.select(fund_nav.c.fund_code).where(fund_nav.c.batch_id == summary["batches"][0])
        )
        loaded = sorted(loaded.scalars())
    assert sorted(rule for _, rule, _ in quarantined) == sorted(ONE_EACH)
    reason = {rule: text for _, rule, text in quarantined}
    assert reason["parses"] == "unit_nav 'abc' is not a number"
    assert reason["nav_jump"] == "unit_nav 14 is +900.0% against 1.4 on 2024-05-31 (limit ±30%)"
    assert reason["return_consistent"].startswith(
        "daily_return 0.85% but unit_nav 1.5 against 1.5 on 2024-05-31"
    )
    assert reason["return_bounds"] == "daily_return 6% outside ±5% (bond)"
    assert reason["fund_code_printable"] == "fund_code '000007\\x1b[31mRED' holds control characters (\\x1b)"
    assert (INJECTION, "positive_nav") in {(c, r) for c, r, _ in quarantined}
    assert loaded == sorted([CODES[3], CODES[7], CODES[8], CODES[9], INJECTION])

    log = last_log(engine)
    assert (log["step"], log["status"]) == ("validate", "success")
    assert (log["rows_in"], log["rows_loaded"], log["rows_rejected"]) == (16, 5, 11)
    assert log["message"].startswith("loaded 5 + quarantined 11 = staged 16 (loaded: new 5, corrected 0")
    assert "NOT VALID (68.8% of rows quarantined, more than 5%)" in log["message"]


def test_rerunning_a_day_changes_nothing(history):
    engine = history
    deliver(engine, faulty_monday())
    first = tasks.validate(engine, SETTINGS, MONDAY)
    before = snapshot(engine)

    nothing = tasks.validate(engine, SETTINGS, MONDAY)
    assert (nothing["staged"], nothing["loaded"], nothing["quarantined"]) == (0, 0, 0)
    assert last_log(engine)["message"].startswith("loaded 0 + quarantined 0 = staged 0")

    deliver(engine, faulty_monday())  # the same delivery again
    again = tasks.validate(engine, SETTINGS, MONDAY)
    assert again["rules"] == first["rules"]
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, first["loaded"])
    assert snapshot(engine) == before  # not even updated_at or batch_id moved
    assert count(engine, fund_nav_corrections) == 0
    assert count(engine, fund_nav_quarantine) == 2 * first["quarantined"]  # each delivery accounted


def test_a_corrected_nav_updates_the_row_and_is_recorded(history, caplog):
    engine = history
    deliver(engine, [monday(i) for i in range(10)])
    first = tasks.validate(engine, SETTINGS, MONDAY)
    assert first["inserted"] == 10
    old = monday(7)
    fixed = monday(7, change=0.8)
    deliver(engine, [fixed])
    caplog.set_level(logging.INFO, logger="fundpipe")
    summary = tasks.validate(engine, SETTINGS, MONDAY)
    assert (summary["updated"], summary["inserted"], summary["loaded"]) == (1, 0, 1)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(fund_nav.c.unit_nav, fund_nav.c.daily_return, fund_nav.c.batch_id).where(
                fund_nav.c.fund_code == CODES[7], fund_nav.c.nav_date == MONDAY
            )
        ).one()
        audit = conn.execute(sa.select(fund_nav_corrections)).mappings().all()
    assert (stored.unit_nav, stored.daily_return) == (fixed[2], 0.8)
    assert len(audit) == 1
    row = audit[0]
    assert (row["fund_code"], row["nav_date"]) == (CODES[7], MONDAY)
    assert (row["old_unit_nav"], row["new_unit_nav"]) == (old[2], fixed[2])
    assert (row["old_daily_return"], row["new_daily_return"]) == (0.5, 0.8)
    assert row["old_batch_id"] == first["batches"][0] and row["batch_id"] == summary["batches"][0]
    line = f"{CODES[7]} 2024-06-03: unit_nav {old[2]!r} -> {fixed[2]!r}"
    assert summary["corrections"][0].startswith(line)
    assert f"corrected: {line}" in last_log(engine)["message"]
    assert any(r.levelno == logging.WARNING and line in r.getMessage() for r in caplog.records)


def test_low_coverage_warns_but_loads(history, caplog):
    engine = history
    caplog.set_level(logging.INFO, logger="fundpipe")
    deliver(engine, [monday(i) for i in range(8)])  # 8 of 10 active funds
    summary = tasks.validate(engine, SETTINGS, MONDAY)
    assert (summary["loaded"], summary["quarantined"]) == (8, 0)
    assert summary["coverage"] == 0.8 and not summary["is_valid"]
    assert summary["warnings"] == [
        "coverage: coverage 80.0% (8 of 10 active funds have a NAV for 2024-06-03), below "
        "FUND_MIN_COVERAGE 0.9; missing: 000008, 000009"
    ]
    log = last_log(engine)
    assert log["status"] == "success"
    assert "coverage 80.0%; NOT VALID; warning: coverage: coverage 80.0%" in log["message"]
    warned = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.getMessage().startswith("validate")
    ]
    assert len(warned) == 1

    deliver(engine, [monday(8)])  # a late delivery brings it to 90 %
    late = tasks.validate(engine, SETTINGS, MONDAY)
    assert late["coverage"] == 0.9 and late["warnings"] == [] and late["is_valid"]


def test_a_hostile_fund_code_is_data(history):
    engine = history
    funds = [(INJECTION, "注入'; DROP TABLE fund_nav; --", "stock", True)]
    deliver(engine, [(INJECTION, FRIDAY, 1.0, 1.0, None)], funds, day=FRIDAY)
    tasks.validate(engine, SETTINGS, FRIDAY)
    deliver(engine, [(INJECTION, MONDAY, 10.0, 1.0, 0.1), (INJECTION, TUESDAY, 1.0, 1.0, 0.0), monday(0)])
    summary = tasks.validate(engine, SETTINGS, MONDAY)
    assert summary["rules"]["nav_jump"] == 1 and summary["rules"]["date_not_future"] == 1
    with engine.connect() as conn:
        stored = conn.execute(sa.select(fund_nav.c.unit_nav).where(fund_nav.c.fund_code == INJECTION)).all()
        held = conn.execute(
            sa.select(fund_nav_quarantine.c.rule).where(fund_nav_quarantine.c.fund_code == INJECTION)
        ).all()
    assert stored == [(1.0,)] and sorted(held) == [("date_not_future",), ("nav_jump",)]
    assert count(engine, fund_nav) == 22


def test_a_result_that_loses_a_row_is_refused_and_rolled_back(history, monkeypatch):
    engine = history
    real = merge.apply_rules

    def lossy(rows, context):
        result = real(rows, context)
        return type(result)(
            result.rows_in, result.counts, result.accepted.iloc[1:], result.rejected, result.findings
        )

    monkeypatch.setattr(merge, "apply_rules", lossy)
    deliver(engine, [monday(i) for i in range(10)])
    before = snapshot(engine)
    with pytest.raises(FundPipelineError, match="accounting broken: 10 staged rows but 9 accepted"):
        tasks.validate(engine, SETTINGS, MONDAY)
    assert snapshot(engine) == before
    assert count(engine, fund_nav_staging, fund_nav_staging.c.processed_at.is_(None)) == 10
    assert last_log(engine)["status"] == "failed"
