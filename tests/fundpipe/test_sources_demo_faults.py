"""The demo source's faults: each has the documented shape, rate, and lands on the same rows everywhere."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fundpipe.sources.demo import FAULT_RATES, STALE_MIN_RETURN, DemoSource

START, END = dt.date(2022, 1, 1), dt.date(2024, 6, 30)  # ~650 business days
KEY = ["fund_code", "nav_date"]


@pytest.fixture(scope="module")
def universe():
    """300 funds over START..END: published rows, clean rows, fault labels."""
    faulty = DemoSource(300)
    rows = faulty.fetch_range(START, END)
    # from the business day before START, so every row has its previous day's clean values
    clean = DemoSource(300, faults=False).fetch_range(START - dt.timedelta(days=4), END)
    clean = clean[clean["nav_date"] >= pd.Timestamp(START)].reset_index(drop=True)
    before = DemoSource(300, faults=False).fetch_range(START - dt.timedelta(days=4), START)
    labels = faulty.faults(START, END)
    return rows, clean, labels, before


def one_per_key(labels):
    return labels.drop_duplicates(KEY)


def test_each_fault_occurs_at_its_documented_rate(universe):
    rows, clean, labels, _ = universe
    n = len(clean)  # one row per fund and day
    assert n > 180_000
    counts = one_per_key(labels)["fault"].value_counts()
    assert set(counts.index) == set(FAULT_RATES)
    for kind, rate in FAULT_RATES.items():
        if kind != "stale_repeat":
            assert counts[kind] / n == pytest.approx(rate, rel=0.2), kind
    # a stale repeat is drawn only on days whose true return is large enough to tell ...
    moving = clean["daily_return"].abs() >= STALE_MIN_RETURN
    stale = one_per_key(labels).query("fault == 'stale_repeat'")
    assert len(stale) / moving.sum() == pytest.approx(FAULT_RATES["stale_repeat"], rel=0.2)
    assert len(stale) / n == pytest.approx(0.00155, rel=0.2)
    # ... which a money-market fund's never is
    types = DemoSource(300).funds().set_index("fund_code")["fund_type"]
    assert not stale["fund_code"].map(types).eq("money_market").any()
    assert len(rows) == n + counts["duplicate_row"]  # each duplicate adds one row


def test_faults_are_the_same_on_every_machine(universe):
    """Integer hashing only: these exact counts and first rows hold everywhere."""
    rows, _, labels, _ = universe
    counts = one_per_key(labels)["fault"].value_counts().to_dict()
    assert counts == {
        "missing_unit_nav": 954,
        "duplicate_row": 615,
        "stale_repeat": 310,
        "typo_10x": 197,
        "non_positive_nav": 177,
    }
    first = one_per_key(labels).groupby("fault").first()
    assert {k: (r.fund_code, r.nav_date.date().isoformat()) for k, r in first.iterrows()} == {
        "duplicate_row": ("197976", "2022-01-03"),
        "missing_unit_nav": ("035184", "2022-01-03"),
        "non_positive_nav": ("868885", "2022-01-04"),
        "stale_repeat": ("530574", "2022-01-03"),
        "typo_10x": ("369988", "2022-01-06"),
    }
    again = DemoSource(300).fetch_range(START, END)
    pd.testing.assert_frame_equal(rows, again)
    # a smaller universe and a single day see the same faults on the same rows
    small = DemoSource(50).faults(START, END)
    codes = set(small["fund_code"])
    pd.testing.assert_frame_equal(labels[labels["fund_code"].isin(codes)].reset_index(drop=True), small)
    day = labels["nav_date"].iloc[len(labels) // 2].date()
    on_day = DemoSource(300).faults(day, day)
    pd.testing.assert_frame_equal(
        labels[labels["nav_date"] == pd.Timestamp(day)].reset_index(drop=True), on_day
    )


def joined(universe, kind):
    """Faulty rows of ``kind`` beside the clean row and the clean previous business day's row."""
    rows, clean, labels, before = universe
    keys = one_per_key(labels)
    keys = keys[keys["fault"] == kind]
    published = rows.drop_duplicates(KEY).merge(keys, on=KEY)
    full = pd.concat([before[before["nav_date"] < pd.Timestamp(START)], clean], ignore_index=True)
    prev = full.assign(prev_unit=full.groupby("fund_code")["unit_nav"].shift(1))
    prev["prev_accum"] = full.groupby("fund_code")["accum_nav"].shift(1)
    out = published.merge(prev, on=KEY, suffixes=("", "_true"))
    assert len(out) == len(keys) > 0
    return out


def test_typo_multiplies_unit_nav_by_ten_and_nothing_else(universe):
    t = joined(universe, "typo_10x")
    np.testing.assert_array_equal(t["unit_nav"], np.round(t["unit_nav_true"] * 10, 4))
    np.testing.assert_array_equal(t["accum_nav"], t["accum_nav_true"])
    np.testing.assert_array_equal(t["daily_return"], t["daily_return_true"])
    # what a rule sees: accum below unit, and a NAV change far from the stated daily return
    assert (t["accum_nav"] < t["unit_nav"]).all()
    implied = (t["unit_nav"] / t["prev_unit"] - 1) * 100
    assert ((implied - t["daily_return"]).dropna() > 700).all()


def test_stale_repeat_publishes_yesterdays_navs_with_todays_nonzero_return(universe):
    s = joined(universe, "stale_repeat")
    np.testing.assert_array_equal(s["unit_nav"], s["prev_unit"])
    np.testing.assert_array_equal(s["accum_nav"], s["prev_accum"])
    np.testing.assert_array_equal(s["daily_return"], s["daily_return_true"])
    assert (s["daily_return"].abs() >= STALE_MIN_RETURN).all()
    # what a rule sees: no NAV change against the previous day, a stated return of >= 0.1 %
    assert ((s["unit_nav"] / s["prev_unit"] - 1).abs() * 100 < 1e-9).all()


def test_missing_non_positive_and_duplicates_keep_the_other_values(universe):
    rows, _, _, _ = universe
    m = joined(universe, "missing_unit_nav")
    assert m["unit_nav"].isna().all()
    np.testing.assert_array_equal(m["accum_nav"], m["accum_nav_true"])
    p = joined(universe, "non_positive_nav")
    assert ((p["unit_nav"] == 0) | (p["unit_nav"] == -p["unit_nav_true"])).all()
    assert (p["unit_nav"] == 0).any() and (p["unit_nav"] < 0).any()
    d = joined(universe, "duplicate_row")
    copies = rows.merge(d[KEY], on=KEY)
    assert len(copies) == 2 * len(d)
    assert not copies.drop_duplicates().duplicated(KEY).any()  # the two copies are identical


def test_clean_rows_are_published_unchanged(universe):
    rows, clean, labels, _ = universe
    merged = rows.drop_duplicates(KEY).merge(labels.drop_duplicates(KEY), on=KEY, how="left")
    good = merged[merged["fault"].isna()].drop(columns="fault").reset_index(drop=True)
    expected = clean.merge(good[KEY], on=KEY).reset_index(drop=True)
    pd.testing.assert_frame_equal(good, expected)
