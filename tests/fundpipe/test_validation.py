"""Validation rules: each with passing and failing rows (boundaries included); the result object."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fund_common.calendars import SessionCalendar
from fundpipe.errors import FundPipelineError
from fundpipe.schema import fund_info, fund_nav
from fundpipe.settings import FundSettings
from fundpipe.validation import (
    MAX_REJECT_SHARE,
    RULES,
    Finding,
    Rule,
    RuleContext,
    ValidationResult,
    apply_rules,
    coverage,
    date_not_future,
    fund_code_length,
    fund_code_printable,
    nav_jump,
    no_duplicate_key,
    not_null,
    parses,
    positive_nav,
    return_bounds,
    return_consistent,
    return_tolerance,
    trading_day,
)
from tests.support.schema import create_fund_tables

THURSDAY, FRIDAY, SATURDAY = dt.date(2024, 5, 30), dt.date(2024, 5, 31), dt.date(2024, 6, 1)
DAY = MONDAY = dt.date(2024, 6, 3)
TUESDAY, WEDNESDAY = dt.date(2024, 6, 4), dt.date(2024, 6, 5)
CTX = RuleContext(as_of=DAY)
COLUMNS = [
    "id",
    "batch_id",
    "fund_code",
    "nav_date",
    "unit_nav",
    "accum_nav",
    "daily_return",
    "source",
    "parse_error",
]


def staged(*rows):
    """Staging-shaped frame from (fund_code, nav_date, unit_nav, accum_nav[, batch_id]) tuples."""
    return frame(
        *(
            {"code": code, "date": date, "unit": unit, "accum": accum, "ret": 0.1, "batch": (b or ["b1"])[0]}
            for code, date, unit, accum, *b in rows
        )
    )


def frame(*rows):
    """Staging-shaped frame from dicts with keys code, date, unit, accum, ret, batch, error."""
    records = [
        {
            "id": i,
            "batch_id": r.get("batch", "b1"),
            "fund_code": r.get("code", "000001"),
            "nav_date": r.get("date", DAY),
            "unit_nav": np.nan if r.get("unit") is None else float(r["unit"]),
            "accum_nav": np.nan if r.get("accum") is None else float(r["accum"]),
            "daily_return": np.nan if r.get("ret") is None else float(r["ret"]),
            "source": "test",
            "parse_error": r.get("error"),
        }
        for i, r in enumerate(rows, start=1)
    ]
    out = pd.DataFrame.from_records(records, columns=COLUMNS)
    for col in ("fund_code", "nav_date", "parse_error", "batch_id", "source"):
        out[col] = out[col].astype(object)
    return out


def nav(code, date, unit, accum=None, ret=None):
    return {"code": code, "date": date, "unit": unit, "accum": accum, "ret": ret}


@pytest.fixture
def conn():
    """A connection to a fresh in-memory database with the fund tables."""
    engine = sa.create_engine("sqlite://")
    create_fund_tables(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def store(conn, *rows, funds=()):
    """Insert fund_nav rows (code, date, unit[, accum]) and fund_info rows (code, type[, active])."""
    now = dt.datetime(2024, 1, 1)
    if rows:
        conn.execute(
            sa.insert(fund_nav),
            [
                {"fund_code": r[0], "nav_date": r[1], "unit_nav": r[2], "accum_nav": (r[3:] or [None])[0]}
                | {"updated_at": now}
                for r in rows
            ],
        )
    if funds:
        conn.execute(
            sa.insert(fund_info),
            [
                {"fund_code": f[0], "fund_type": f[1], "is_active": (f[2:] or [True])[0], "updated_at": now}
                for f in funds
            ],
        )


def ctx(conn=None, as_of=DAY, calendar=None, **settings):
    return RuleContext(as_of=as_of, settings=FundSettings(**settings), conn=conn, calendar=calendar)


def reasons(bad):
    return dict(zip(bad["id"], bad["reason"], strict=True))


# -- registry and apply_rules ---------------------------------------------------------------


def test_rules_are_registered_in_order():
    assert [r.name for r in RULES] == [
        "parses",
        "not_null",
        "fund_code_length",
        "fund_code_printable",
        "date_not_future",
        "trading_day",
        "positive_nav",
        "no_duplicate_key",
        "nav_jump",
        "return_consistent",
        "return_bounds",
        "coverage",
    ]
    assert [r.name for r in RULES if r.soft] == ["coverage"]
    assert all(r.description for r in RULES)


def test_apply_rules_files_every_row_once_with_the_first_objecting_rule():
    rows = staged(
        ("000001", DAY, None, 1.0),  # not_null (also not positive: first rule wins)
        ("000001", DAY, 1.0, 1.0),  # kept: the null row above was removed before dedup
        ("000001", DAY, 1.0, 1.0),  # duplicate of the row above
        ("000002", DAY, -1.0, 1.0),  # positive_nav
        ("x" * 33, DAY, 1.0, 1.0),  # fund_code_length
        ("000003", DAY, 2.0, 2.5),
        ("000004", SATURDAY, 2.0, 2.5),  # trading_day
        ("000004", TUESDAY, 2.0, 2.5),  # date_not_future
    )
    result = apply_rules(rows, CTX)
    assert result.rows_in == 8
    assert len(result.accepted) + len(result.rejected) == 8
    assert set(result.accepted.index).isdisjoint(result.rejected.index)
    assert result.accepted["id"].tolist() == [2, 6]
    assert dict(zip(result.rejected["id"], result.rejected["rule"], strict=True)) == {
        1: "not_null",
        3: "no_duplicate_key",
        4: "positive_nav",
        5: "fund_code_length",
        7: "trading_day",
        8: "date_not_future",
    }
    assert result.failed == {
        "not_null": 1,
        "fund_code_length": 1,
        "date_not_future": 1,
        "trading_day": 1,
        "positive_nav": 1,
        "no_duplicate_key": 1,
    }
    assert set(result.passed) == {
        "parses",
        "fund_code_printable",
        "nav_jump",
        "return_consistent",
        "return_bounds",
        "coverage",
    }
    assert result.findings["coverage"] == Finding(True, "not checked: no database")
    assert not result.is_valid  # 6 of 8 rejected


def test_clean_rows_pass_every_rule():
    result = apply_rules(staged(("000001", DAY, 1.0, 1.0), ("000002", DAY, 2.0, None)), CTX)
    assert result.is_valid and result.failed == {} and result.warnings == []
    assert result.passed == [r.name for r in RULES]
    assert result.rejected.empty and len(result.accepted) == 2


def test_empty_input():
    result = apply_rules(staged(), CTX)
    assert result.rows_in == 0 and result.is_valid and result.reject_share == 0.0


def test_adding_a_rule_is_one_function():
    def odd_code(rows, context):
        """fund_code must be even."""
        bad = rows["fund_code"].str[-1].isin(list("13579")).to_numpy()
        out = rows.loc[bad].copy()
        out["reason"] = "odd code"
        return out

    rules = [*RULES, Rule("even", odd_code, "fund_code must be even")]
    result = apply_rules(staged(("000001", DAY, 1.0, 1.0), ("000002", DAY, 1.0, 1.0)), CTX, rules)
    assert result.failed == {"even": 1}


def test_a_rule_returning_foreign_rows_is_named():
    def broken(rows, context):
        return pd.DataFrame({"reason": ["?"]}, index=[999])

    with pytest.raises(FundPipelineError, match="rule 'broken'"):
        apply_rules(staged(("000001", DAY, 1.0, 1.0)), CTX, [Rule("broken", broken, "")])
    with pytest.raises(FundPipelineError, match="soft validation rule 'vague'"):
        apply_rules(staged(), CTX, [Rule("vague", lambda rows, c: "fine", "", soft=True)])


def test_is_valid_allows_a_small_share_of_rejects_and_no_warning():
    accepted = pd.DataFrame(index=range(95))

    def result(rejected, findings=None):
        return ValidationResult(
            100, {}, accepted.iloc[: 100 - rejected], pd.DataFrame(index=range(rejected)), findings or {}
        )

    assert MAX_REJECT_SHARE == 0.05
    assert result(5).is_valid  # exactly the limit
    assert not result(6).is_valid
    warned = result(0, {"coverage": Finding(False, "coverage 50.0% ...", 0.5)})
    assert not warned.is_valid and warned.warnings == ["coverage: coverage 50.0% ..."]
    assert warned.passed == [] and warned.failed == {}


# -- one rule at a time ---------------------------------------------------------------------


def test_parses_rejects_what_the_collector_could_not_read():
    rows = frame(
        nav("000001", DAY, 1.0),
        {"code": "000002", "unit": None, "error": "unit_nav 'abc' is not a number"},
        {"code": "000003", "date": "garbage"},
        {"code": "000004", "date": "2024-06-03"},  # text that reads is fine
        {"code": "000005", "date": None},  # missing: not_null's business
    )
    assert reasons(parses(rows, CTX)) == {
        2: "unit_nav 'abc' is not a number",
        3: "nav_date 'garbage' is not a date",
    }
    assert parses(rows.drop(columns="parse_error"), CTX)["id"].tolist() == [3]


def test_not_null_passes_complete_rows_and_names_missing_fields():
    rows = staged(
        ("000001", DAY, 1.0, 1.2),
        ("000002", DAY, 1.0, None),  # accum_nav is optional
        (None, DAY, 1.0, 1.0),
        ("  ", None, None, 1.0),
        ("000003", None, 1.0, 1.0),
    )
    bad = not_null(rows, CTX)
    assert bad.index.tolist() == [2, 3, 4]
    assert bad["reason"].tolist() == [
        "missing fund_code",
        "missing fund_code, nav_date, unit_nav",
        "missing nav_date",
    ]


def test_fund_code_length_boundary():
    rows = staged(("9" * 32, DAY, 1.0, 1.0), ("9" * 33, DAY, 1.0, 1.0))
    assert reasons(fund_code_length(rows, CTX)) == {
        2: f"fund_code {'9' * 33!r}... has 33 characters (at most 32)"
    }


def test_fund_code_printable_quarantines_control_characters_naming_them():
    rows = staged(
        ("000001", DAY, 1.0, 1.0),
        ("x' OR '1'='1 华夏", DAY, 1.0, 1.0),  # odd but printable: the code format allows it
        ("0000\r\n08", DAY, 1.0, 1.0),
        ("000009\u2028", DAY, 1.0, 1.0),
    )
    assert reasons(fund_code_printable(rows, CTX)) == {
        3: "fund_code '0000\\r\\n08' holds control characters (\\r \\n)",
        4: "fund_code '000009\\u2028' holds control characters (\\u2028)",
    }


def test_date_not_future_is_relative_to_as_of_not_the_clock():
    rows = staged(("000001", FRIDAY, 1.0, 1.0), ("000001", MONDAY, 1.0, 1.0), ("000001", TUESDAY, 1.0, 1.0))
    assert reasons(date_not_future(rows, CTX)) == {
        3: "nav_date 2024-06-04 is after the validated day 2024-06-03"
    }
    long_ago = RuleContext(as_of=dt.date(2001, 1, 1))  # every row is "future" for that day
    assert len(date_not_future(rows, long_ago)) == 3
    assert date_not_future(rows, RuleContext(as_of=dt.date(2030, 1, 1))).empty


def test_trading_day_rejects_weekends_and_the_calendar_decides():
    rows = staged(
        ("000001", FRIDAY, 1.0, 1.0),
        ("000001", SATURDAY, 1.0, 1.0),
        ("000001", dt.date(2024, 6, 2), 1.0, 1.0),
        ("000001", MONDAY, 1.0, 1.0),
    )
    assert reasons(trading_day(rows, CTX)) == {  # no calendar: every weekday
        2: "nav_date 2024-06-01 is not a trading day (weekdays closed: weekend)",
        3: "nav_date 2024-06-02 is not a trading day (weekdays closed: weekend)",
    }
    closed_monday = SessionCalendar("TEST", FRIDAY, TUESDAY, closed={MONDAY: ""})
    assert reasons(trading_day(rows, ctx(calendar=closed_monday))) == {
        2: "nav_date 2024-06-01 is not a trading day (TEST closed: weekend)",
        3: "nav_date 2024-06-02 is not a trading day (TEST closed: weekend)",
        4: "nav_date 2024-06-03 is not a trading day (TEST closed: holiday)",
    }


def test_trading_day_rejects_a_nav_dated_on_an_exchange_holiday(xshg):
    rows = staged(("000001", dt.date(2026, 9, 30), 1.0, 1.0), ("000001", dt.date(2026, 10, 1), 1.0, 1.0))
    result = apply_rules(rows, ctx(as_of=dt.date(2026, 10, 8), calendar=xshg))
    assert result.counts["trading_day"] == 1
    assert result.rejected[["id", "rule", "reason"]].values.tolist() == [
        [2, "trading_day", "nav_date 2026-10-01 is not a trading day (XSHG closed: National Day)"]
    ]


def test_the_return_rules_compare_with_the_previous_session_across_a_holiday(conn, xshg):
    before, after = dt.date(2026, 9, 30), dt.date(2026, 10, 8)
    store(conn, ("000001", before, 1.0, 1.0), ("000002", before, 1.0, 1.0), ("000003", before, 1.0, 1.0))
    rows = frame(
        nav("000001", after, 1.02, 1.02, 2.0),  # +2 % against 2026-09-30: consistent
        nav("000002", after, 1.02, 1.02, 0.5),
        nav("000003", after, 1.2, 1.2, None),  # no return: the implied +20 % is out of bounds
    )
    on_xshg = ctx(conn, as_of=after, calendar=xshg)
    assert reasons(return_consistent(rows, on_xshg)) == {
        2: "daily_return 0.5% but unit_nav 1.02 against 1 on 2026-09-30 is +2.00% (tolerance 0.045 pp)"
    }
    assert reasons(return_bounds(rows, on_xshg)) == {
        3: "implied return +20.00% (unit_nav 1.2 against 1 on 2026-09-30) outside ±10% (no fund type)"
    }
    weekdays = ctx(conn, as_of=after)  # 2026-10-07 would be the previous day: the base is unknown
    assert return_consistent(rows, weekdays).empty and return_bounds(rows, weekdays).empty


def test_positive_nav_rejects_zero_negative_and_infinite():
    rows = staged(
        ("000001", DAY, 1.0, 1.0),
        ("000002", DAY, 0.0, 1.0),
        ("000003", DAY, -1.25, 1.0),
        ("000004", DAY, 1.0, -2.0),
        ("000005", DAY, float("inf"), 1.0),
        ("000006", DAY, 0.0001, None),
    )
    bad = positive_nav(rows, CTX)
    assert bad["fund_code"].tolist() == ["000002", "000003", "000004", "000005"]
    assert bad["reason"].tolist()[:3] == [
        "unit_nav=0.0 is not positive",
        "unit_nav=-1.25 is not positive",
        "accum_nav=-2.0 is not positive",
    ]


def test_no_duplicate_key_keeps_the_first_within_a_batch():
    rows = staged(
        ("000001", DAY, 1.0, 1.0, "b1"),
        ("000001", DAY, 1.1, 1.1, "b1"),
        ("000001", DAY, 1.2, 1.2, "b1"),
        ("000001", DAY, 1.3, 1.3, "b2"),  # another batch: a re-delivery, not a duplicate here
        ("000002", DAY, 1.0, 1.0, "b1"),
        ("000001", DAY + dt.timedelta(days=1), 1.0, 1.0, "b1"),
    )
    bad = no_duplicate_key(rows, CTX)
    assert bad["id"].tolist() == [2, 3]
    assert bad["reason"].tolist()[0] == (
        "duplicate of staging row 1 (fund_code='000001', nav_date=2024-06-03); the first is kept"
    )
    assert no_duplicate_key(rows.drop(index=[1, 2]), CTX).empty


def test_nav_jump_against_the_last_stored_nav_boundaries(conn):
    store(conn, ("000001", FRIDAY, 1.0), *((f"00000{i}", THURSDAY, 1.0) for i in range(2, 7)))
    rows = frame(
        nav("000001", DAY, 10.0),  # the 10x typo
        nav("000002", DAY, 1.3),  # exactly +30 %: allowed
        nav("000003", DAY, 1.3001),
        nav("000004", DAY, 0.7),  # exactly -30 %
        nav("000005", DAY, 0.6999),
        nav("000006", DAY, 1.1),
        nav("000009", DAY, 55.0),  # no stored NAV, a single row: nothing to compare with
    )
    assert reasons(nav_jump(rows, ctx(conn))) == {
        1: "unit_nav 10 is +900.0% against 1 on 2024-05-31 (limit ±30%)",
        3: "unit_nav 1.3001 is +30.0% against 1 on 2024-05-30 (limit ±30%)",
        5: "unit_nav 0.6999 is -30.0% against 1 on 2024-05-30 (limit ±30%)",
    }
    assert nav_jump(rows, ctx(conn, max_jump=9.5)).empty  # FUND_MAX_JUMP


def test_nav_jump_a_rejected_row_is_no_reference_for_the_next(conn):
    store(conn, ("000001", THURSDAY, 1.0))
    rows = frame(
        nav("000001", FRIDAY, 10.0),
        nav("000001", MONDAY, 1.01),  # against Thursday's 1.0, not Friday's typo
        nav("000002", THURSDAY, 12.0),  # first rows of a new fund: a typo on day one...
        nav("000002", FRIDAY, 1.2),
        nav("000002", MONDAY, 1.21),
        nav("000002", TUESDAY, 1.22),
    )
    got = reasons(nav_jump(rows, ctx(conn, as_of=TUESDAY)))
    assert list(got) == [1, 3]
    assert got[3] == (
        "unit_nav 12 is +887.7% against 1.215, the median of the fund's first 5 NAVs in the batch "
        "(limit ±30%)"
    )


def test_return_consistent_against_the_previous_trading_day(conn):
    store(conn, *((f"00000{i}", FRIDAY, 1.0, 1.0) for i in range(1, 8)), ("000008", THURSDAY, 1.0, 1.0))
    rows = frame(
        nav("000001", DAY, 1.01, 1.01, 1.0),  # +1.00 %: consistent
        nav("000002", DAY, 1.01, 1.01, 1.03),  # within the tolerance (0.01 + 1 % of 1 + 0.015)
        nav("000003", DAY, 1.01, 1.01, 1.04),
        nav("000004", DAY, 1.0, 1.0, 0.85),  # stale repeat: Friday's NAV with a real return
        nav("000005", DAY, 1.0, 1.0, 0.02),  # a flat day within rounding: fine
        nav("000006", DAY, 1.2, 1.0, 0.1),  # a unit typo of +20 % (no jump) with accum unchanged
        nav("000007", DAY, 1.01, 1.01, None),  # no return published: nothing to check
        nav("000008", DAY, 1.5, 1.5, 0.3),  # previous NAV from Thursday: the return's base is unknown
        nav("000009", DAY, 1.0, 1.0, 5.0),  # no previous NAV at all
    )
    got = reasons(return_consistent(rows, ctx(conn)))
    assert list(got) == [3, 4, 6]
    assert (
        got[3]
        == "daily_return 1.04% but unit_nav 1.01 against 1 on 2024-05-31 is +1.00% (tolerance 0.035 pp)"
    )
    assert (
        got[4] == "daily_return 0.85% but unit_nav 1 against 1 on 2024-05-31 is +0.00% (tolerance 0.025 pp)"
    )
    assert return_consistent(rows, ctx(conn, return_tolerance=1.0))["id"].tolist() == [6]


def test_return_consistent_adds_a_dividend_back(conn):
    store(conn, *((f"00000{i}", FRIDAY, 1.5, 2.0) for i in range(1, 4)))
    rows = frame(
        nav("000001", DAY, 1.44, 2.0, 0.0),  # paid 0.06: unit + dividend unchanged
        nav("000002", DAY, 1.44, 2.0, -4.0),  # the unadjusted change is accepted too
        nav("000003", DAY, 1.44, 2.0, 2.0),
    )
    assert reasons(return_consistent(rows, ctx(conn))) == {
        3: "daily_return 2% but unit_nav 1.44 with dividend 0.06 against 1.5 on 2024-05-31 is +0.00% "
        "(tolerance 0.033 pp)"
    }


def test_return_consistent_within_a_batch_skips_past_a_rejected_day():
    rows = frame(
        nav("000001", FRIDAY, 1.0, 1.0, 0.5),
        nav("000001", MONDAY, 1.0, 1.0, 0.7),  # stale repeat of Friday
        nav("000001", TUESDAY, 1.02, 1.02, 1.3),  # true move from Monday's unpublished 1.007
        nav("000001", WEDNESDAY, 1.0302, 1.0302, 1.0),
    )
    bad = return_consistent(rows, RuleContext(as_of=WEDNESDAY))
    assert bad["id"].tolist() == [2]  # Tuesday's base (Monday) was rejected: not checked


def test_return_tolerance_grows_for_low_navs_large_moves_and_dividends():
    assert return_tolerance(0.0, 1.0, 0.01) == pytest.approx(0.025)
    assert return_tolerance(0.0, 0.5, 0.01) == pytest.approx(0.04)
    assert return_tolerance(-5.0, 1.0, 0.01) == pytest.approx(0.075)
    assert return_tolerance(0.0, 1.0, 0.01, dividend=0.1) == pytest.approx(0.045)


def test_return_bounds_default_and_per_type(conn):
    store(
        conn, funds=[("000001", "stock"), ("000002", "bond"), ("000003", "Money_Market"), ("000004", "qdii")]
    )
    rows = frame(
        nav("000001", DAY, 1.0, None, 10.0),  # boundary: allowed
        nav("000001", FRIDAY, 1.0, None, -12.5),
        nav("000002", DAY, 1.0, None, -5.0),
        nav("000002", FRIDAY, 1.0, None, 5.01),
        nav("000003", DAY, 1.0, None, 1.0),
        nav("000003", FRIDAY, 1.0, None, -1.2),
        nav("000004", DAY, 1.0, None, 10.01),  # a type without override: the default bound
        nav("000005", DAY, 1.0, None, -10.5),  # not in fund_info
    )
    assert reasons(return_bounds(rows, ctx(conn))) == {
        2: "daily_return -12.5% outside ±10% (stock)",
        4: "daily_return 5.01% outside ±5% (bond)",
        6: "daily_return -1.2% outside ±1% (Money_Market)",
        7: "daily_return 10.01% outside ±10% (qdii)",
        8: "daily_return -10.5% outside ±10% (no fund type)",
    }
    wide = ctx(conn, return_bound=10.2, return_bounds_by_type="stock=15, bond=6")  # money_market: default
    assert reasons(return_bounds(rows, wide)) == {8: "daily_return -10.5% outside ±10.2% (no fund type)"}


def test_return_bounds_uses_the_implied_return_when_none_is_published(conn):
    store(conn, ("000001", FRIDAY, 1.0, 1.0), ("000002", FRIDAY, 1.0, 1.0), funds=[("000001", "stock")])
    rows = frame(nav("000001", DAY, 1.12, 1.12), nav("000002", DAY, 1.09, 1.09))
    assert reasons(return_bounds(rows, ctx(conn))) == {
        1: "implied return +12.00% (unit_nav 1.12 against 1 on 2024-05-31) outside ±10% (stock)"
    }


def test_coverage_warns_below_the_minimum_and_never_rejects(conn):
    store(
        conn,
        ("000010", DAY, 1.0),  # stored earlier for the day: counts
        funds=[*((f"0000{i:02d}", "stock") for i in range(1, 11)), ("000099", "stock", False)],
    )
    nine = frame(*(nav(f"0000{i:02d}", DAY, 1.0) for i in range(1, 9)), nav("000099", DAY, 1.0))
    ok = coverage(nine, ctx(conn))
    assert ok == Finding(
        True,
        "coverage 90.0% (9 of 10 active funds have a NAV for 2024-06-03), at least FUND_MIN_COVERAGE 0.9",
        0.9,
    )
    low = coverage(nine.iloc[1:], ctx(conn))
    assert not low.ok and low.value == pytest.approx(0.8)
    assert low.message.endswith("below FUND_MIN_COVERAGE 0.9; missing: 000001, 000009")
    assert coverage(nine.iloc[1:], ctx(conn, min_coverage=0.8)).ok
    assert coverage(nine, ctx(conn, as_of=SATURDAY)) == Finding(
        True, "not checked: 2024-06-01 is not a trading day (weekdays closed: weekend)"
    )

    result = apply_rules(nine.iloc[1:], ctx(conn))
    assert len(result.accepted) == 8 and result.rejected.empty  # warns only
    assert not result.is_valid and result.warnings[0].startswith("coverage: coverage 80.0%")


def test_stored_navs_are_read_with_one_query_whatever_the_fund_count(conn):
    def statements(n_funds):
        codes = [f"{i:06d}" for i in range(n_funds)]
        store(conn, *((c, FRIDAY, 1.0, 1.0) for c in codes), funds=[(c, "stock") for c in codes])
        seen = []
        listen = lambda *a: seen.append(a[2])  # noqa: E731
        sa.event.listen(conn, "before_cursor_execute", listen)
        apply_rules(frame(*(nav(c, DAY, 1.01, 1.01, 1.0) for c in codes)), ctx(conn))
        sa.event.remove(conn, "before_cursor_execute", listen)
        conn.execute(sa.delete(fund_nav))
        conn.execute(sa.delete(fund_info))
        return seen

    small, large = statements(3), statements(60)
    assert len(small) == len(large) == 4  # stored NAVs, fund types, active funds, stored for as_of
    assert sum("max(fund_nav.nav_date)" in s for s in large) == 1


def test_context_settings_default_and_cache_is_per_run():
    assert CTX.config == FundSettings()
    context = dataclasses.replace(CTX, cache={"fund_types": {"000001": "bond"}})
    apply_rules(staged(("000001", DAY, 1.0, 1.0)), context)
    assert context.cache == {"fund_types": {"000001": "bond"}}  # apply_rules used its own
