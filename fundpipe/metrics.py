"""Risk/return metrics for many funds at once, on a returns matrix (dates x funds).

Every function takes simple daily returns as a 2-D float array, one column per fund, NaN
where the fund has no return that day, and returns one value per column. A column's value is
exactly what the reference library empyrical-reloaded gives for that fund's non-NaN returns
as a series (same formulas, same order of operations): 252 periods a year, ``annual_return``
geometric (CAGR), ``annual_volatility`` and Sharpe with ``ddof=1``, Sortino with a 0 target
and downside deviation over all observations, ``max_drawdown`` negative (0 without a loss),
Calmar NaN unless there was a drawdown. Undefined values are NaN; Sharpe and Sortino may be
``inf`` when dispersion or downside is zero, as in empyrical.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PERIODS_PER_YEAR",
    "PERIOD_RETURNS",
    "annual_return",
    "annual_volatility",
    "calmar_ratio",
    "fund_metrics",
    "max_drawdown",
    "nav_returns",
    "period_return",
    "sharpe_ratio",
    "sortino_ratio",
]

PERIODS_PER_YEAR = 252
#: metric name -> trading days it looks back over
PERIOD_RETURNS = {"return_1m": 21, "return_3m": 63, "return_6m": 126, "return_1y": 252}


def nav_returns(unit: np.ndarray, accum: np.ndarray | None = None) -> np.ndarray:
    """Daily simple returns from NAV matrices (dates x funds, NaN where no NAV was published).

    A fund's return on a date is its NAV over its previous published NAV, minus 1, so a gap
    does not lose the move across it. Accumulated NAV is used where both ends have one (so
    dividends are not counted as losses), unit NAV otherwise. The first published date of
    each fund has no return (NaN).
    """
    unit = np.asarray(unit, dtype=float)
    n_dates, n_funds = unit.shape
    if n_dates == 0:
        return unit.copy()
    seen = ~np.isnan(unit)
    row = np.where(seen, np.arange(n_dates)[:, None], -1)
    last_seen = np.maximum.accumulate(row, axis=0)
    prev = np.vstack([np.full((1, n_funds), -1), last_seen[:-1]])
    has_prev = seen & (prev >= 0)
    prev = np.where(prev >= 0, prev, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(has_prev, unit / np.take_along_axis(unit, prev, axis=0) - 1.0, np.nan)
        if accum is not None:
            accum = np.asarray(accum, dtype=float)
            by_accum = accum / np.take_along_axis(accum, prev, axis=0) - 1.0
            out = np.where(has_prev & ~np.isnan(by_accum), by_accum, out)
    return out


def _count(returns: np.ndarray) -> np.ndarray:
    return np.count_nonzero(~np.isnan(returns), axis=0)


def _nanmean(returns: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nansum(returns, axis=0) / n


def _nanstd(returns: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sample standard deviation (ddof=1) per column; NaN below two observations."""
    mean = _nanmean(returns, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.nansum((returns - mean) ** 2, axis=0) / (n - 1)
    return np.where(n >= 2, np.sqrt(var), np.nan)


def annual_return(returns: np.ndarray) -> np.ndarray:
    """Compound annual growth rate per column (empyrical ``annual_return``)."""
    n = _count(returns)
    ending = np.nanprod(returns + 1.0, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = ending ** (1.0 / (n / PERIODS_PER_YEAR)) - 1.0
    return np.where(n >= 1, out, np.nan)


def annual_volatility(returns: np.ndarray) -> np.ndarray:
    """Annualised standard deviation (ddof=1) per column (empyrical ``annual_volatility``)."""
    return _nanstd(returns, _count(returns)) * PERIODS_PER_YEAR ** (1.0 / 2.0)


def sharpe_ratio(returns: np.ndarray, risk_free: float = 0.0) -> np.ndarray:
    """Annualised Sharpe ratio per column; ``risk_free`` is per period (empyrical convention).

    A column whose returns are all equal has zero dispersion: the ratio is then ``±inf``
    (or NaN for a zero mean), not a huge number from rounding residue.
    """
    adj = returns if risk_free == 0 else returns - risk_free
    n = _count(adj)
    std = _nanstd(adj, n)
    with np.errstate(invalid="ignore"):
        highest = np.fmax.reduce(adj, axis=0, initial=np.nan)
        lowest = np.fmin.reduce(adj, axis=0, initial=np.nan)
        constant = (highest == lowest) & np.isfinite(std)
    std = np.where(constant, 0.0, std)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _nanmean(adj, n) / std * np.sqrt(PERIODS_PER_YEAR)
    return np.where(n >= 2, out, np.nan)


def sortino_ratio(returns: np.ndarray) -> np.ndarray:
    """Annualised Sortino ratio with a 0 target per column (empyrical ``sortino_ratio``)."""
    n = _count(returns)
    downside = np.clip(returns, -np.inf, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        risk = np.sqrt(_nanmean(downside * downside, n)) * np.sqrt(PERIODS_PER_YEAR)
        out = (_nanmean(returns, n) * PERIODS_PER_YEAR) / risk
    return np.where(n >= 2, out, np.nan)


def max_drawdown(returns: np.ndarray) -> np.ndarray:
    """Largest peak-to-trough loss per column, as a negative fraction (0 if none)."""
    n_dates, n_funds = returns.shape
    wealth = np.empty((n_dates + 1, n_funds))
    wealth[0] = 100.0
    np.add(np.where(np.isnan(returns), 0.0, returns), 1.0, out=wealth[1:])
    np.cumprod(wealth[1:], axis=0, out=wealth[1:])
    np.multiply(wealth[1:], 100.0, out=wealth[1:])
    peak = np.fmax.accumulate(wealth, axis=0)
    drawdown = (wealth - peak) / peak
    return np.where(_count(returns) >= 1, np.fmin.reduce(drawdown, axis=0), np.nan)


def calmar_ratio(returns: np.ndarray) -> np.ndarray:
    """Annual return over the absolute max drawdown per column; NaN without a drawdown."""
    mdd = max_drawdown(returns)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = annual_return(returns) / np.abs(mdd)
    return np.where((mdd < 0) & ~np.isinf(out), out, np.nan)


def period_return(returns: np.ndarray, days: int) -> np.ndarray:
    """Compound return of each column's last ``days`` returns; NaN with fewer than ``days``."""
    valid = ~np.isnan(returns)
    from_end = np.cumsum(valid[::-1], axis=0)[::-1]  # observations at or after each row
    take = valid & (from_end <= days)
    out = np.prod(np.where(take, returns + 1.0, 1.0), axis=0) - 1.0
    return np.where(np.count_nonzero(valid, axis=0) >= days, out, np.nan)


def fund_metrics(returns: np.ndarray, risk_free_annual: float = 0.0) -> dict[str, np.ndarray]:
    """Every ``fund_metrics`` column for each fund (column), plus ``n_obs``.

    ``risk_free_annual`` is converted to a per-period rate as ``annual / 252`` for Sharpe.
    """
    returns = np.asarray(returns, dtype=float)
    out = {
        "n_obs": _count(returns),
        "annual_return": annual_return(returns),
        "annual_volatility": annual_volatility(returns),
        "sharpe_ratio": sharpe_ratio(returns, risk_free_annual / PERIODS_PER_YEAR),
        "sortino_ratio": sortino_ratio(returns),
        "max_drawdown": max_drawdown(returns),
        "calmar_ratio": calmar_ratio(returns),
    }
    for name, days in PERIOD_RETURNS.items():
        out[name] = period_return(returns, days)
    return out
