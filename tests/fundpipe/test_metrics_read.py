"""The fast NAV window read and the metrics job give exactly what a plain pandas reference gives.

Every read path (SQLite packed, packed in parallel parts, row by row; MariaDB packed, row by row) must
return the same window, bit for bit, as ``pandas.read_sql`` + ``pivot`` on a small gappy
database: funds launched late or stopped early, missing days, accumulated NAV missing for a
whole fund or on some days, a hostile and a non-ASCII fund code. The stored metrics must equal
``fund_metrics`` on that reference window, and each fund's returns must equal the ones pandas
computes fund by fund.
"""

import datetime as dt

import empyrical
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fund_common.clock import utcnow_naive
from fundpipe import calc, navwindow
from fundpipe.db import upsert_frame
from fundpipe.metrics import fund_metrics, nav_returns
from fundpipe.schema import fund_metrics as fund_metrics_table
from fundpipe.schema import fund_nav

AS_OF = dt.date(2024, 6, 3)
N_DATES = 70
VALUES = ["unit_nav", "accum_nav", "daily_return", "source", "batch_id", "updated_at"]
CODES = ["000001", "000002", "000003", "000004", "110011", "519001", "x' OR '1'='1", "基金0007", "ZZ"]


def gappy_navs(seed=5, days=90):
    """NAV rows as a frame: 4-decimal NAVs with every kind of hole the window must survive."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(end=AS_OF + dt.timedelta(days=7), periods=days).date  # a week past AS_OF
    frames = []
    for j, code in enumerate(CODES):
        unit = np.round(np.cumprod(1 + rng.normal(0.0003, 0.012, days)), 4)
        accum = np.round(unit + np.cumsum(np.where(rng.random(days) < 0.03, 0.05, 0.0)), 4)
        keep = rng.random(days) > 0.12
        if j == 1:
            keep[:40] = False  # launched late
        if j == 2:
            keep[60:] = False  # stopped early
        if j == 3:
            accum[:] = np.nan  # publishes no accumulated NAV
        if j == 4:
            accum[rng.random(days) < 0.3] = np.nan  # some days without it
        frames.append(
            pd.DataFrame(
                {
                    "fund_code": code,
                    "nav_date": dates[keep],
                    "unit_nav": unit[keep],
                    "accum_nav": accum[keep],
                    "daily_return": np.round(rng.normal(0, 1, keep.sum()), 2),
                    "source": "test",
                    "batch_id": "b1",
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def store(engine, frame):
    with engine.begin() as conn:
        upsert_frame(conn, fund_nav, frame, update=VALUES[:-1], constants={"updated_at": utcnow_naive()})


def reference_window(engine, as_of=AS_OF, n_dates=N_DATES):
    """The window the plain way: every row into pandas, the last n dates, pivoted."""
    with engine.connect() as conn:
        navs = pd.read_sql(
            sa.select(fund_nav.c.fund_code, fund_nav.c.nav_date, fund_nav.c.unit_nav, fund_nav.c.accum_nav),
            conn,
        )
    navs["nav_date"] = pd.to_datetime(navs["nav_date"])
    navs = navs[navs["nav_date"] <= pd.Timestamp(as_of)]
    last = np.sort(navs["nav_date"].unique())[-n_dates:]
    navs = navs[navs["nav_date"].isin(last)]
    unit = navs.pivot(index="nav_date", columns="fund_code", values="unit_nav").sort_index()
    accum = navs.pivot(index="nav_date", columns="fund_code", values="accum_nav").reindex_like(unit)
    unit = unit[sorted(unit.columns)]
    accum = accum[unit.columns]
    return navwindow.NavWindow(
        unit.index.to_numpy().astype("datetime64[D]"),
        np.array(list(unit.columns), dtype=object),
        unit.to_numpy(dtype=float),
        accum.to_numpy(dtype=float),
        len(navs),
    )


def assert_same_window(got, expected):
    np.testing.assert_array_equal(got.dates, expected.dates)
    assert got.codes.tolist() == expected.codes.tolist()
    np.testing.assert_array_equal(got.unit, expected.unit)  # NaN where NaN, bits elsewhere
    np.testing.assert_array_equal(got.accum, expected.accum)
    assert got.rows == expected.rows


def read_paths(engine):
    """Every way in that the engine's database has, by name."""
    if engine.dialect.name != "sqlite":
        return {
            "packed": lambda conn: navwindow._read_packed(conn, AS_OF, N_DATES, 1),
            "packed in 3 parts": lambda conn: navwindow._read_packed(conn, AS_OF, N_DATES, 3),
            "rows": lambda conn: navwindow._read_rows(conn, AS_OF, N_DATES),
            "load_nav_window": lambda conn: navwindow.load_nav_window(conn, AS_OF, N_DATES),
        }
    return {
        "packed": lambda conn: navwindow._read_packed(conn, AS_OF, N_DATES, 1),
        "packed in 3 parts": lambda conn: navwindow._read_packed(conn, AS_OF, N_DATES, 3),
        "rows": lambda conn: navwindow._read_rows(conn, AS_OF, N_DATES),
        "load_nav_window": lambda conn: navwindow.load_nav_window(conn, AS_OF, N_DATES),
    }


def test_every_read_path_gives_the_reference_window(engine):
    store(engine, gappy_navs())
    expected = reference_window(engine)
    assert expected.unit.shape == (N_DATES, len(CODES))
    for name, read in read_paths(engine).items():
        with engine.connect() as conn:
            window = read(conn)
        assert window is not None, name
        assert_same_window(window, expected)


def test_stored_metrics_equal_the_reference_exactly(engine):
    store(engine, gappy_navs())
    summary = calc.compute_and_store(engine, AS_OF, risk_free_rate=0.02, min_observations=20)
    reference = reference_window(engine, n_dates=calc.WINDOW_RETURNS + 1)
    returns = nav_returns(reference.unit, reference.accum)[1:]
    expected = fund_metrics(returns, 0.02)
    keep = expected["n_obs"] >= 20
    assert summary["funds"] == int(keep.sum()) and summary["skipped"] == int((~keep).sum())
    with engine.connect() as conn:
        stored = pd.read_sql(sa.select(fund_metrics_table), conn).set_index("fund_code")
    assert sorted(stored.index) == sorted(reference.codes[keep].tolist())
    for name in ["n_obs", *calc._METRIC_COLUMNS]:
        want = pd.Series(expected[name][keep], index=reference.codes[keep], dtype=float)
        got = stored[name].astype(float).reindex(want.index)
        want = want.where(np.isfinite(want))  # inf is stored as NULL
        np.testing.assert_array_equal(got.to_numpy(), want.to_numpy(), err_msg=name)


def test_returns_match_pandas_fund_by_fund_and_metrics_match_empyrical(engine):
    store(engine, gappy_navs())
    with engine.connect() as conn:
        window = navwindow.load_nav_window(conn, AS_OF, N_DATES)
    returns = nav_returns(window.unit, window.accum)
    for j, code in enumerate(window.codes):
        fund = pd.DataFrame({"unit": window.unit[:, j], "accum": window.accum[:, j]}).dropna(subset=["unit"])
        prev = fund.shift()
        by_accum = fund["accum"] / prev["accum"] - 1  # accumulated NAV where both ends have one
        expected = by_accum.where(by_accum.notna(), fund["unit"] / prev["unit"] - 1)
        np.testing.assert_array_equal(returns[fund.index, j], expected.to_numpy(), err_msg=code)
        series = expected.dropna().to_numpy()
        got = fund_metrics(returns[1:, [j]])
        for ours, theirs in [
            ("annual_return", empyrical.annual_return),
            ("sharpe_ratio", empyrical.sharpe_ratio),
            ("sortino_ratio", empyrical.sortino_ratio),
            ("max_drawdown", empyrical.max_drawdown),
        ]:
            np.testing.assert_allclose(got[ours][0], theirs(series), rtol=1e-9, err_msg=f"{code} {ours}")


@pytest.mark.parametrize("column", ["unit_nav", "accum_nav"])
@pytest.mark.parametrize(
    ("odd", "why"),
    [
        (1 / 3, "more than 8 decimals"),
        (123456.123456789, "more than 8 decimals"),
        (0.0, "not positive"),
        (-1.25, "not positive"),
    ],
)
def test_a_value_the_packed_read_cannot_carry_falls_back_to_rows(engine, column, odd, why):
    navs = gappy_navs()
    inside = navs.index[(navs["fund_code"] == "000001") & (navs["nav_date"] == AS_OF - dt.timedelta(days=3))]
    navs.loc[inside, column] = odd
    store(engine, navs)
    with engine.connect() as conn:
        assert navwindow._read_packed(conn, AS_OF, N_DATES, 1) is None, why
        assert navwindow._read_packed(conn, AS_OF, N_DATES, 2) is None, why
        window = navwindow.load_nav_window(conn, AS_OF, N_DATES)
    assert_same_window(window, reference_window(engine))
    day = window.dates.tolist().index(AS_OF - dt.timedelta(days=3))
    assert getattr(window, column.removesuffix("_nav"))[day, 0] == odd  # to the last bit


def test_window_bounds_take_the_last_n_distinct_dates_up_to_as_of(engine):
    store(engine, gappy_navs())
    for as_of, n_dates in [(AS_OF, 5), (AS_OF, 1), (AS_OF - dt.timedelta(days=30), 10), (AS_OF, 500)]:
        with engine.connect() as conn:
            window = navwindow.load_nav_window(conn, as_of, n_dates)
        assert_same_window(window, reference_window(engine, as_of, n_dates))
    with engine.connect() as conn:
        empty = navwindow.load_nav_window(conn, dt.date(2000, 1, 3), 10)
    assert empty.unit.shape == (0, 0) and empty.rows == 0


def test_a_commit_during_a_parallel_read_makes_it_read_again_in_one_statement(engine, monkeypatch):
    store(engine, gappy_navs())
    before = reference_window(engine)
    late = pd.DataFrame(
        {"fund_code": ["000001"], "nav_date": [AS_OF], "unit_nav": [9.5], "accum_nav": [9.5]}
    ).assign(daily_return=None, source="late", batch_id="b2")
    real_range, real_serial = navwindow._read_packed_range, navwindow._read_packed_serial
    serial_reads = []

    def part_then_commit(*args):
        real_range(*args)
        store(engine, late)  # another writer commits while the parts are being read

    def serial(*args):
        serial_reads.append(args[1:])
        return real_serial(*args)

    monkeypatch.setattr(navwindow, "_read_packed_range", part_then_commit)
    monkeypatch.setattr(navwindow, "_read_packed_serial", serial)
    with engine.connect() as conn:
        window = navwindow._read_packed(conn, AS_OF, N_DATES, 2)
    assert serial_reads == [(AS_OF, N_DATES)]  # the parts were thrown away
    if engine.dialect.name == "sqlite":  # the state after the commit, whole
        assert_same_window(window, reference_window(engine))
        assert window.unit[-1, window.codes.tolist().index("000001")] == 9.5
    else:  # InnoDB: the snapshot the connection took before the commits, whole
        assert_same_window(window, before)
