"""The rules on the demo source's actual output: every planted fault is caught by its rule.

The demo labels its faulty rows (``DemoSource.faults``). Both run on XSHG's sessions, so the
batches cross holidays (Spring Festival, Labour Day 2024): the first session after one is
compared with the last before it. A stale repeat is only detectable where its return's base
(the previous session) was accepted and the return is larger than
a repeated NAV allows (the flat-day tolerance); a clean row may only be quarantined right
after an undetectable stale repeat (it was checked against the repeated NAV).
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fundpipe.schema import fund_info, fund_nav
from fundpipe.settings import FundSettings
from fundpipe.sources import staging_frame
from fundpipe.sources.demo import DemoSource
from fundpipe.validation import RuleContext, apply_rules, return_tolerance
from tests.support.schema import create_fund_tables

END = dt.date(2024, 6, 3)
EXPECTED_RULE = {
    "missing_unit_nav": "not_null",
    "non_positive_nav": "positive_nav",
    "duplicate_row": "no_duplicate_key",
    "typo_10x": "nav_jump",
    "stale_repeat": "return_consistent",
}
KEY = ["fund_code", "nav_date"]


@pytest.fixture
def conn():
    engine = sa.create_engine("sqlite://")
    create_fund_tables(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def stage(source, start, end, first_id=1):
    rows = staging_frame(source.fetch_range(start, end), "demo")
    rows.insert(0, "id", np.arange(first_id, first_id + len(rows)))
    rows.insert(1, "batch_id", f"b{first_id}")
    return rows


def load(conn, accepted):
    rows = accepted[[*KEY, "unit_nav", "accum_nav", "daily_return"]].to_dict("records")
    conn.execute(sa.insert(fund_nav), [{**r, "updated_at": dt.datetime(2024, 1, 1)} for r in rows])


def outcome(rows, result):
    """rows with ``rule`` ("" when accepted), sorted by fund, date and staging order."""
    rule = pd.Series("", index=rows.index, dtype=object)
    rule[result.rejected.index] = result.rejected["rule"]
    return rows.assign(rule=rule).sort_values([*KEY, "id"], kind="stable")


def check(rows, result, faults, accepted_before, calendar):
    """Assert each fault is caught by its rule, and clean rows pass (see the module docstring).

    ``accepted_before``: (fund_code, date) -> unit_nav of NAVs stored before this batch;
    ``calendar``: the sessions the demo published and the rules used.
    """
    before = calendar.previous_session
    got = outcome(rows, result)
    label = {(c, pd.Timestamp(d).date()): f for c, d, f in faults[[*KEY, "fault"]].itertuples(index=False)}
    known = dict(accepted_before)
    for r in got.loc[got["rule"] == ""].itertuples():
        known[(r.fund_code, r.nav_date)] = r.unit_nav
    missed_stale: set[tuple[str, dt.date]] = set()
    first_copy: set[tuple[str, dt.date]] = set()
    seen_kinds = set()
    for r in got.itertuples():
        key = (r.fund_code, r.nav_date)
        fault = label.get(key)
        if fault == "duplicate_row":
            expected = None if key not in first_copy else "no_duplicate_key"
            first_copy.add(key)
        elif fault == "stale_repeat":
            base = known.get((r.fund_code, before(r.nav_date)))
            flat = float(return_tolerance(0.0, base, 0.01)) if base is not None else np.inf
            expected = "return_consistent" if abs(r.daily_return) > flat else None
            if expected is None:
                missed_stale.add(key)
        elif fault is not None:
            expected = EXPECTED_RULE[fault]
        else:
            expected = ""
        expected = expected or ""
        if expected == "" and r.rule:
            after = (r.fund_code, before(r.nav_date))
            assert after in missed_stale and r.rule == "return_consistent", (r, fault)
            continue
        assert r.rule == expected, (r, fault)
        if expected:
            seen_kinds.add(fault)
    return seen_kinds


def test_a_backfill_batch_catches_every_demo_fault(conn, xshg):
    source = DemoSource(60, calendar=xshg)
    start = xshg.first_of_sessions(END, 260)
    funds = source.funds().assign(updated_at=dt.datetime(2024, 1, 1))
    conn.execute(sa.insert(fund_info), funds.to_dict("records"))
    rows = stage(source, start, END)
    result = apply_rules(rows, RuleContext(as_of=END, settings=FundSettings(), conn=conn, calendar=xshg))
    assert len(result.accepted) + len(result.rejected) == len(rows)
    assert rows["nav_date"].nunique() == 260 and result.counts["trading_day"] == 0
    seen = check(rows, result, source.faults(start, END), {}, xshg)
    assert seen >= set(EXPECTED_RULE)  # the sample holds every kind of fault
    assert result.is_valid and result.failed.keys() == set(EXPECTED_RULE.values())


def test_daily_batches_against_stored_history_catch_every_demo_fault(conn, xshg):
    source = DemoSource(120, calendar=xshg)
    history_end = END - dt.timedelta(days=28)
    conn.execute(
        sa.insert(fund_info), source.funds().assign(updated_at=dt.datetime(2024, 1, 1)).to_dict("records")
    )
    first = stage(source, xshg.first_of_sessions(history_end, 10), history_end)
    result = apply_rules(first, RuleContext(as_of=history_end, conn=conn, calendar=xshg))
    load(conn, result.accepted)
    stored = {(r.fund_code, r.nav_date): r.unit_nav for r in result.accepted.itertuples()}
    seen, next_id = set(), len(first) + 1
    for day in xshg.sessions(history_end + dt.timedelta(days=1), END):
        rows = stage(source, day, day, next_id)
        next_id += len(rows)
        result = apply_rules(rows, RuleContext(as_of=day, conn=conn, calendar=xshg))
        seen |= check(rows, result, source.faults(day, day), stored, xshg)
        assert result.findings["coverage"].value > 0.95
        load(conn, result.accepted)
        stored.update({(r.fund_code, r.nav_date): r.unit_nav for r in result.accepted.itertuples()})
    assert seen >= set(EXPECTED_RULE)
