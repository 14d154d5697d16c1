"""The metrics run in chunks of funds gives exactly what the whole window at once gives.

One date axis for every chunk: funds of later chunks miss dates that funds of the first chunk
have, and hold history older than the window, so a window decided per chunk would reach further
back (different ``n_obs`` and metrics) or drop dates. Chunk sizes 1, 7 and more than the funds,
serial and in parallel parts, on SQLite and MariaDB; a commit that moves the window mid-run
makes the run start over.
"""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fund_common.clock import utcnow_naive
from fundpipe import calc, navwindow
from fundpipe.db import upsert_frame
from fundpipe.errors import FundPipelineError
from fundpipe.metrics import fund_metrics, nav_returns
from fundpipe.schema import fund_metrics as fund_metrics_table
from fundpipe.schema import fund_nav
from fundpipe.settings import FundConfigError, FundSettings, config_problems

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2024, 6, 3)
N_DATES = 60
FUNDS = 40
#: a date only the first funds publish (a Saturday: no other fund has a row that day)
ODD_DATE = dt.date(2024, 5, 18)
CHUNK_SIZES = [1, 7, 1000]


def navs(seed=11, days=120):
    """NAV rows of FUNDS funds; funds from code 020 on never publish on ODD_DATE nor on the window's
    third date, and the last funds start late, stop early or publish no accumulated NAV."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(end=AS_OF, periods=days).date
    frames = []
    for j in range(FUNDS):
        unit = np.round(np.cumprod(1 + rng.normal(0.0003, 0.012, days)), 4)
        accum = np.round(unit + np.cumsum(np.where(rng.random(days) < 0.03, 0.05, 0.0)), 4)
        keep = rng.random(days) > 0.08
        fund_dates = list(dates)
        if j >= 20:
            keep[days - N_DATES + 2] = False  # a window date only the first chunk's funds have
        if j == 33:
            keep[: days - 30] = False  # launched late
        if j == 35:
            keep[days - 20 :] = False  # stopped early
        if j == 37:
            accum[:] = np.nan
        frame = pd.DataFrame(
            {
                "fund_code": f"F{j:03d}",
                "nav_date": np.array(fund_dates)[keep],
                "unit_nav": unit[keep],
                "accum_nav": accum[keep],
            }
        )
        if j < 20:  # the odd date, published by the first funds only
            frame.loc[len(frame)] = [f"F{j:03d}", ODD_DATE, 1.2345, 1.3345]
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    return frame.assign(daily_return=None, source="test", batch_id="b1")


def store(engine, frame):
    with engine.begin() as conn:
        upsert_frame(
            conn,
            fund_nav,
            frame,
            update=["unit_nav", "accum_nav", "daily_return", "source", "batch_id"],
            constants={"updated_at": utcnow_naive()},
        )


def whole_window(engine, n_dates=N_DATES):
    with engine.connect() as conn:
        return navwindow.load_nav_window(conn, AS_OF, n_dates, parallel=1)


@pytest.mark.parametrize("parallel", [1, 3])
@pytest.mark.parametrize("chunk_funds", CHUNK_SIZES)
def test_chunks_put_together_are_the_whole_window(engine, chunk_funds, parallel):
    store(engine, navs())
    expected = whole_window(engine)
    assert np.datetime64(ODD_DATE) in expected.dates and len(expected.dates) == N_DATES
    chunks = list(navwindow.nav_window_chunks(engine, AS_OF, N_DATES, chunk_funds, parallel=parallel))
    assert len(chunks) == -(-FUNDS // chunk_funds)
    for chunk in chunks:  # one date axis: the odd date too, for funds that never publish on it
        np.testing.assert_array_equal(chunk.dates, expected.dates)
        assert len(chunk.codes) <= chunk_funds
    assert sum(chunk.rows for chunk in chunks) == expected.rows
    assert np.concatenate([c.codes for c in chunks]).tolist() == expected.codes.tolist()
    np.testing.assert_array_equal(np.hstack([c.unit for c in chunks]), expected.unit)
    np.testing.assert_array_equal(np.hstack([c.accum for c in chunks]), expected.accum)


def stored_metrics(engine):
    with engine.connect() as conn:
        frame = pd.read_sql(sa.select(fund_metrics_table), conn).set_index("fund_code").sort_index()
    return frame.drop(columns=["updated_at"])


@pytest.mark.parametrize("chunk_funds", CHUNK_SIZES)
def test_stored_metrics_do_not_depend_on_the_chunk_size(engine, chunk_funds):
    store(engine, navs())
    n_dates = calc.WINDOW_RETURNS + 1
    whole = whole_window(engine, n_dates)
    returns = nav_returns(whole.unit, whole.accum)[1:]
    values = fund_metrics(returns, 0.02)
    keep = values["n_obs"] >= 20

    summary = calc.compute_and_store(
        engine, AS_OF, risk_free_rate=0.02, min_observations=20, chunk_funds=chunk_funds
    )
    assert summary == {
        "funds": int(keep.sum()),
        "skipped": int((~keep).sum()),
        "calc_date": AS_OF.isoformat(),
        "window_days": returns.shape[0],
        "nav_rows": whole.rows,
    }
    stored = stored_metrics(engine)
    assert stored.index.tolist() == whole.codes[keep].tolist()
    assert set(stored["window_days"]) == {returns.shape[0]}
    for name in ["n_obs", *calc._METRIC_COLUMNS]:
        want = values[name][keep].astype(float)
        want = np.where(np.isfinite(want), want, np.nan)
        np.testing.assert_array_equal(stored[name].astype(float).to_numpy(), want, err_msg=name)


def test_a_date_committed_into_the_window_mid_run_makes_the_run_start_over(engine, monkeypatch):
    store(engine, navs())
    real = navwindow._read_chunk_packed
    calls = []

    def read_then_commit(*args):
        window = real(*args)
        calls.append(len(window.codes))
        if len(calls) == 2:  # another writer adds a new date inside the window
            late = {"fund_code": ["F039"], "nav_date": [dt.date(2024, 5, 25)], "unit_nav": [2.5]}
            store(
                engine, pd.DataFrame(late).assign(accum_nav=2.5, daily_return=None, source="x", batch_id="b2")
            )
        return window

    monkeypatch.setattr(navwindow, "_read_chunk_packed", read_then_commit)
    calc.compute_and_store(engine, AS_OF, risk_free_rate=0.0, min_observations=5, chunk_funds=10, parallel=1)
    assert len(calls) > 4  # started over
    monkeypatch.setattr(navwindow, "_read_chunk_packed", real)
    got = stored_metrics(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(fund_metrics_table))
    calc.compute_and_store(
        engine, AS_OF, risk_free_rate=0.0, min_observations=5, chunk_funds=FUNDS, parallel=1
    )
    pd.testing.assert_frame_equal(got, stored_metrics(engine))


def test_a_window_that_keeps_moving_is_an_error(engine, monkeypatch):
    store(engine, navs())

    def moved(*args):
        raise navwindow.WindowMoved("moved")

    monkeypatch.setattr(navwindow, "_read_chunk_packed", moved)
    with pytest.raises(FundPipelineError, match="changed during each of 3 metrics runs"):
        calc.compute_and_store(engine, AS_OF, risk_free_rate=0.0, min_observations=5, chunk_funds=10)


def test_a_chunk_that_cannot_be_packed_is_read_row_by_row(engine):
    frame = navs()
    frame.loc[frame.index[frame.fund_code == "F025"][-3], "unit_nav"] = 1 / 3  # not packable
    store(engine, frame)
    expected = whole_window(engine)
    chunks = list(navwindow.nav_window_chunks(engine, AS_OF, N_DATES, 7))
    np.testing.assert_array_equal(np.hstack([c.unit for c in chunks]), expected.unit)
    np.testing.assert_array_equal(np.hstack([c.accum for c in chunks]), expected.accum)
    for chunk in chunks:
        np.testing.assert_array_equal(chunk.dates, expected.dates)


def test_no_nav_gives_no_chunk(engine):
    assert list(navwindow.nav_window_chunks(engine, AS_OF, N_DATES, 7)) == []
    with pytest.raises(ValueError, match="chunk_funds"):
        list(navwindow.nav_window_chunks(engine, AS_OF, N_DATES, 0))


def test_the_chunk_size_setting():
    assert FundSettings().metrics_chunk_funds == 5000
    assert FundSettings.from_env({"FUND_METRICS_CHUNK_FUNDS": "250"}).metrics_chunk_funds == 250
    assert config_problems({"FUND_METRICS_CHUNK_FUNDS": "0"}) == [
        "FUND_METRICS_CHUNK_FUNDS=0 must be an integer from 1 to 30000"
    ]
    with pytest.raises(FundConfigError, match="FUND_METRICS_CHUNK_FUNDS=40000"):
        FundSettings.from_env({"FUND_METRICS_CHUNK_FUNDS": "40000"})


def test_metrics_bench_large_set_runs_and_agrees():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.metrics_bench",
            "--large",
            "--funds",
            "60",
            "--years",
            "4",
            "--chunk-funds",
            "7",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "results equal to the baseline's: yes" in done.stdout
    assert "RESULT\tmetrics job, 60 funds x 4 years" in done.stdout
