"""Vectorised metrics agree with empyrical-reloaded, column by column, on random and gappy data."""

import empyrical
import numpy as np
import pytest

from fundpipe import metrics

RTOL = 1e-9


def random_returns(seed, n_dates=300, n_funds=25, gap_rate=0.0):
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0004, 0.015, size=(n_dates, n_funds))
    if gap_rate:
        returns[rng.random(returns.shape) < gap_rate] = np.nan
        for j in range(0, n_funds, 3):  # funds launched late or stopped early
            returns[: rng.integers(0, n_dates // 2), j] = np.nan
        for j in range(1, n_funds, 4):
            returns[n_dates - rng.integers(1, 40) :, j] = np.nan
    return returns


def edge_cases(n_dates=300):
    cols = [
        np.full(n_dates, 0.001),  # constant: zero dispersion, no drawdown
        np.abs(np.random.default_rng(1).normal(0.001, 0.002, n_dates)),  # never down
        np.full(n_dates, np.nan),  # no data
        np.r_[np.full(n_dates - 1, np.nan), 0.01],  # one observation
        np.r_[np.full(n_dates - 2, np.nan), 0.01, -0.02],  # two
        np.r_[-0.5, np.full(n_dates - 1, 0.0)],  # one crash then flat
    ]
    return np.column_stack(cols)


def reference(func, returns, **kwargs):
    """empyrical on each column's non-NaN series."""
    out = []
    for j in range(returns.shape[1]):
        series = returns[:, j][~np.isnan(returns[:, j])]
        out.append(func(series, **kwargs))
    return np.array(out, dtype=float)


CASES = {
    "random": random_returns(7),
    "gappy": random_returns(11, gap_rate=0.25),
    "edges": edge_cases(),
}

PAIRS = [
    (metrics.annual_return, empyrical.annual_return, {}),
    (metrics.annual_volatility, empyrical.annual_volatility, {}),
    (metrics.sharpe_ratio, empyrical.sharpe_ratio, {}),
    (metrics.sortino_ratio, empyrical.sortino_ratio, {}),
    (metrics.max_drawdown, empyrical.max_drawdown, {}),
    (metrics.calmar_ratio, empyrical.calmar_ratio, {}),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("ours", "theirs", "kwargs"), PAIRS, ids=lambda p: getattr(p, "__name__", ""))
def test_matches_empyrical(case, ours, theirs, kwargs):
    returns = CASES[case]
    with np.errstate(all="ignore"):
        expected = reference(theirs, returns, **kwargs)
    np.testing.assert_allclose(ours(returns, **kwargs), expected, rtol=RTOL, atol=0, equal_nan=True)


@pytest.mark.parametrize("case", CASES)
def test_sharpe_with_risk_free_matches_empyrical(case):
    returns = CASES[case]
    daily = 0.025 / 252
    with np.errstate(all="ignore"):
        expected = reference(empyrical.sharpe_ratio, returns, risk_free=daily)
    got = metrics.fund_metrics(returns, risk_free_annual=0.025)["sharpe_ratio"]
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0, equal_nan=True)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("days", [21, 63, 126, 252])
def test_period_returns_compound_the_last_n_observations(case, days):
    returns = CASES[case]
    expected = []
    for j in range(returns.shape[1]):
        series = returns[:, j][~np.isnan(returns[:, j])]
        expected.append(empyrical.cum_returns_final(series[-days:]) if len(series) >= days else np.nan)
    got = metrics.period_return(returns, days)
    np.testing.assert_allclose(got, np.array(expected), rtol=RTOL, atol=1e-15, equal_nan=True)


def test_fund_metrics_has_every_column_and_n_obs():
    returns = CASES["gappy"]
    out = metrics.fund_metrics(returns)
    assert set(out) == {
        "n_obs",
        "annual_return",
        "annual_volatility",
        "sharpe_ratio",
        "sortino_ratio",
        "max_drawdown",
        "calmar_ratio",
        "return_1m",
        "return_3m",
        "return_6m",
        "return_1y",
    }
    assert out["n_obs"].tolist() == (~np.isnan(returns)).sum(axis=0).tolist()
    assert all(v.shape == (returns.shape[1],) for v in out.values())


def test_nav_returns_span_gaps_and_prefer_accumulated_nav():
    nan = np.nan
    unit = np.array(
        [
            [1.00, nan, 2.0],
            [1.10, 1.0, 2.0],
            [nan, 1.1, 1.5],  # fund 0 missing: its next return spans the gap
            [1.21, 1.2, 1.5],
        ]
    )
    accum = np.array(
        [
            [1.00, nan, 3.0],
            [1.10, 1.0, 3.0],
            [nan, 1.1, 3.0],  # fund 2 paid a 0.5 dividend: accum NAV unchanged
            [1.21, nan, 3.3],  # fund 1: no accum NAV -> unit NAV return
        ]
    )
    got = metrics.nav_returns(unit, accum)
    expected = np.array(
        [
            [nan, nan, nan],
            [0.10, nan, 0.0],
            [nan, 0.10, 0.0],
            [0.10, 1.2 / 1.1 - 1, 0.1],
        ]
    )
    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(metrics.nav_returns(unit)[3, 2], 0.0)
    assert metrics.nav_returns(np.empty((0, 3))).shape == (0, 3)


@pytest.mark.parametrize("n_dates", [0, 1])
def test_too_short_windows_give_nan_not_errors(n_dates):
    out = metrics.fund_metrics(np.full((n_dates, 3), 0.01))
    assert out["n_obs"].tolist() == [n_dates] * 3
    assert np.isnan(out["sharpe_ratio"]).all() and np.isnan(out["return_1m"]).all()


def test_no_per_fund_loop_scales_to_thousands_of_funds():
    returns = random_returns(3, n_dates=756, n_funds=5000, gap_rate=0.02)
    out = metrics.fund_metrics(returns, 0.02)
    assert np.isfinite(out["sharpe_ratio"]).all()
