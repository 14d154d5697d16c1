"""The demo source: deterministic, realistic enough, with its documented faults."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fundpipe.errors import FundConfigError, SourceError
from fundpipe.settings import FundSettings
from fundpipe.sources import HistorySource, Source, get_source, staging_frame
from fundpipe.sources.demo import FAULT_RATES, DemoSource, fund_code

MONDAY = dt.date(2024, 6, 3)


def test_same_fund_and_date_give_the_same_row_on_any_call():
    one = DemoSource(12).fetch(MONDAY)
    again = DemoSource(12).fetch(MONDAY)
    pd.testing.assert_frame_equal(one, again)
    # independent of the fund count and of fetching a single day or a range
    wide = DemoSource(300).fetch(MONDAY)
    pd.testing.assert_frame_equal(wide[wide["fund_code"].isin(one["fund_code"])].reset_index(drop=True), one)
    week = DemoSource(12).fetch_range(MONDAY - dt.timedelta(days=7), MONDAY)
    pd.testing.assert_frame_equal(week[week["nav_date"] == pd.Timestamp(MONDAY)].reset_index(drop=True), one)


def test_golden_values_do_not_drift():
    """Integer hashing and IEEE arithmetic only: these exact values hold on any machine."""
    rows = DemoSource(4).fetch(MONDAY).to_dict("records")
    assert [(r["fund_code"], r["unit_nav"], r["accum_nav"], r["daily_return"]) for r in rows] == [
        ("000001", 2.1345, 2.7436, -0.2),
        ("007920", 1.7319, 2.3678, 0.25),
        ("015839", 1.7555, 2.1338, -0.86),
        ("023758", 1.5897, 2.1418, -0.24),
    ]


def test_weekends_and_days_before_the_epoch_are_empty():
    source = DemoSource(5)
    assert source.fetch(dt.date(2024, 6, 1)).empty  # Saturday
    assert source.fetch(dt.date(2024, 6, 2)).empty  # Sunday
    assert source.fetch(dt.date(2014, 12, 31)).empty
    assert list(source.fetch(dt.date(2024, 6, 1)).columns) == list(source.fetch(MONDAY).columns)


def test_funds_have_unique_six_digit_codes_and_every_type():
    funds = DemoSource(300).funds()
    assert len(funds) == 300 and funds["fund_code"].is_unique
    assert funds["fund_code"].str.fullmatch(r"\d{6}").all()
    assert set(funds["fund_type"]) == {"stock", "hybrid", "bond", "money_market"}
    assert funds["fund_name"].str.startswith("演示").all()
    assert fund_code(0) == "000001" and fund_code(1) == "007920"


def test_history_has_dividends_realistic_volatility_and_the_documented_faults():
    source = DemoSource(60)
    rows = source.fetch_range(dt.date(2023, 1, 1), dt.date(2024, 6, 30))
    faulty = source.faults(dt.date(2023, 1, 1), dt.date(2024, 6, 30))
    faulty = faulty[faulty["fault"] != "duplicate_row"]  # a duplicate's copies are correct
    keys = ["fund_code", "nav_date"]
    clean = rows.drop_duplicates(keys).merge(faulty, on=keys, how="left")
    clean = clean[clean["fault"].isna()]
    assert clean["unit_nav"].notna().all() and (clean["unit_nav"] > 0).all()
    assert (clean["accum_nav"] >= clean["unit_nav"] - 1e-9).all()
    paid = clean.groupby("fund_code").apply(lambda f: (f["accum_nav"] - f["unit_nav"]).max())
    assert (paid > 0).sum() > 20  # many funds have paid dividends by then

    types = source.funds().set_index("fund_code")["fund_type"]
    navs = clean.pivot(index="nav_date", columns="fund_code", values="accum_nav")
    vol = (navs.pct_change(fill_method=None).std() * np.sqrt(252)).groupby(types).median()
    assert vol["money_market"] < vol["bond"] < vol["hybrid"] < vol["stock"]
    assert 0.1 < vol["stock"] < 0.35 and vol["bond"] < 0.06

    n = len(rows)
    missing = rows["unit_nav"].isna().mean()
    non_positive = (rows["unit_nav"] <= 0).mean()
    duplicated = rows.duplicated(["fund_code", "nav_date"]).mean()
    assert missing == pytest.approx(FAULT_RATES["missing_unit_nav"], rel=0.5)
    assert non_positive == pytest.approx(FAULT_RATES["non_positive_nav"], rel=0.7)
    assert duplicated == pytest.approx(FAULT_RATES["duplicate_row"], rel=0.5)
    assert n > 20_000


def test_get_source_and_protocols():
    source = get_source(FundSettings(demo_funds=7))
    assert isinstance(source, Source) and isinstance(source, HistorySource)
    assert source.name == "demo" and len(source.funds()) == 7


def test_get_source_rejects_unknown_names():
    settings = FundSettings()
    object.__setattr__(settings, "source", "ftp")  # bypass validation to reach get_source
    with pytest.raises(FundConfigError, match="FUND_SOURCE='ftp' is not a known source"):
        get_source(settings)


def test_staging_frame_coerces_raw_values_and_names_bad_shapes():
    raw = pd.DataFrame(
        {
            "fund_code": [" 000001 ", None, 123],
            "nav_date": ["2024-06-03", "garbage", dt.date(2024, 6, 4)],
            "unit_nav": ["1.5", "x", None],
        }
    )
    staged = staging_frame(raw, "test")
    assert staged["fund_code"].tolist()[0] == "000001" and staged["fund_code"].tolist()[2] == "123"
    assert pd.isna(staged["fund_code"].tolist()[1])
    assert staged["nav_date"].tolist() == [dt.date(2024, 6, 3), None, dt.date(2024, 6, 4)]
    assert staged["unit_nav"].tolist()[0] == 1.5 and staged["unit_nav"].isna().tolist()[1:] == [True, True]
    assert staged["accum_nav"].isna().all() and (staged["source"] == "test").all()

    with pytest.raises(SourceError, match="without column.*unit_nav"):
        staging_frame(raw.drop(columns="unit_nav"), "test")
    with pytest.raises(SourceError, match="row 1: fund_code"):
        staging_frame(raw.assign(fund_code=["1", "9" * 65, "2"]), "test")
