"""Validation rules: each with passing and failing rows; every row ends in exactly one place."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fundpipe.errors import FundPipelineError
from fundpipe.validation import (
    RULES,
    Rule,
    RuleContext,
    apply_rules,
    no_duplicate_key,
    not_null,
    positive_nav,
)

DAY = dt.date(2024, 6, 3)
CTX = RuleContext(as_of=DAY)


def staged(*rows):
    """Staging-shaped frame from (fund_code, nav_date, unit_nav, accum_nav[, batch_id]) tuples."""
    records = []
    for i, row in enumerate(rows, start=1):
        code, date, unit, accum, *batch = row
        records.append(
            {
                "id": i,
                "batch_id": batch[0] if batch else "b1",
                "fund_code": code,
                "nav_date": date,
                "unit_nav": np.nan if unit is None else float(unit),
                "accum_nav": np.nan if accum is None else float(accum),
                "daily_return": 0.1,
                "source": "test",
            }
        )
    columns = ["id", "batch_id", "fund_code", "nav_date", "unit_nav", "accum_nav", "daily_return", "source"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["fund_code"] = frame["fund_code"].astype(object)
    return frame


def test_rules_are_registered_in_order():
    assert [r.name for r in RULES] == ["not_null", "fund_code_length", "positive_nav", "no_duplicate_key"]
    assert all(r.description for r in RULES)


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


def test_apply_rules_files_every_row_once_with_the_first_objecting_rule():
    rows = staged(
        ("000001", DAY, None, 1.0),  # not_null (also not positive: first rule wins)
        ("000001", DAY, 1.0, 1.0),  # kept: the null row above was removed before dedup
        ("000001", DAY, 1.0, 1.0),  # duplicate of the row above
        ("000002", DAY, -1.0, 1.0),  # positive_nav
        ("x" * 33, DAY, 1.0, 1.0),  # fund_code_length
        ("000003", DAY, 2.0, 2.5),
    )
    result = apply_rules(rows, CTX)
    assert result.rows_in == 6
    assert len(result.accepted) + len(result.rejected) == 6
    assert set(result.accepted.index).isdisjoint(result.rejected.index)
    assert result.accepted["id"].tolist() == [2, 6]
    assert dict(zip(result.rejected["id"], result.rejected["rule"], strict=True)) == {
        1: "not_null",
        3: "no_duplicate_key",
        4: "positive_nav",
        5: "fund_code_length",
    }
    assert result.counts == {"not_null": 1, "fund_code_length": 1, "positive_nav": 1, "no_duplicate_key": 1}
    assert result.failed == result.counts and result.passed == [] and not result.is_valid


def test_clean_rows_pass_every_rule():
    result = apply_rules(staged(("000001", DAY, 1.0, 1.0), ("000002", DAY, 2.0, None)), CTX)
    assert result.is_valid and result.failed == {}
    assert result.passed == [r.name for r in RULES]
    assert result.rejected.empty and len(result.accepted) == 2


def test_empty_input():
    result = apply_rules(staged(), CTX)
    assert result.rows_in == 0 and result.is_valid


def test_adding_a_rule_is_one_function():
    def weekday_only(rows, context):
        """nav_date must be Monday to Friday."""
        bad = np.array([d.weekday() >= 5 for d in rows["nav_date"]], dtype=bool)
        out = rows.loc[bad].copy()
        out["reason"] = "nav_date is a weekend day"
        return out

    rules = [*RULES, Rule("weekday", weekday_only, "nav_date must be a weekday")]
    rows = staged(("000001", DAY, 1.0, 1.0), ("000001", dt.date(2024, 6, 1), 1.0, 1.0))
    result = apply_rules(rows, CTX, rules)
    assert result.failed == {"weekday": 1}


def test_a_rule_returning_foreign_rows_is_named():
    def broken(rows, context):
        return pd.DataFrame({"reason": ["?"]}, index=[999])

    with pytest.raises(FundPipelineError, match="rule 'broken'"):
        apply_rules(staged(("000001", DAY, 1.0, 1.0)), CTX, [Rule("broken", broken, "")])
