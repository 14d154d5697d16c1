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
_BLOCK_FUNDS = 64  # funds per pass in fund_metrics
#: metric name -> trading days it looks back over
PERIOD_RETURNS = {"return_1m": 21, "return_3m": 63, "return_6m": 126, "return_1y": 252}


def nav_returns(unit: np.ndarray, accum: np.ndarray | None = None) -> np.ndarray:
    """Daily simple returns from NAV matrices (dates x funds, NaN where no NAV was published).

    A fund's return on a date is its NAV over its previous published NAV, minus 1, so a gap
    does not lose the move across it. Accumulated NAV is used where both ends have one (so
    dividends are not counted as losses), unit NAV otherwise. The first published date of
    each fund has no return (NaN). ``accum`` must be NaN wherever ``unit`` is.

    Most returns are between consecutive rows and are computed as whole-matrix slices; only
    the cells right after a gap look further back, for each fund's last published row.
    """
    unit = np.asarray(unit, dtype=float)
    out = np.full(unit.shape, np.nan)
    if unit.shape[0] < 2:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(unit[1:], unit[:-1], out=out[1:])  # in place: no 30 MB temporaries
        out[1:] -= 1.0
        if accum is not None:
            accum = np.asarray(accum, dtype=float)
            by_accum = np.divide(accum[1:], accum[:-1])
            by_accum -= 1.0
            np.copyto(out[1:], by_accum, where=~np.isnan(by_accum))
        seen = ~np.isnan(unit)
        at, fund = np.nonzero(seen[1:] & ~seen[:-1])  # published after an unpublished row
        at += 1
        prev = _last_published_before(seen, at - 1, fund)
        has_prev = prev >= 0
        at, fund, prev = at[has_prev], fund[has_prev], prev[has_prev]
        gap_returns = unit[at, fund] / unit[prev, fund] - 1.0
        if accum is not None:
            by_accum = accum[at, fund] / accum[prev, fund] - 1.0
            gap_returns = np.where(np.isnan(by_accum), gap_returns, by_accum)
        out[at, fund] = gap_returns
    return out


def _last_published_before(seen: np.ndarray, row: np.ndarray, fund: np.ndarray) -> np.ndarray:
    """For each cell (``row``, ``fund``), the last row at or above it that ``seen``; -1 if none.

    Steps up one row at a time, each step only for the cells still looking, so the cost
    follows the number of gap cells and their lengths, not the size of the matrix.
    """
    found = np.full(len(row), -1)
    row = row.copy()
    looking = np.flatnonzero(row >= 0)
    while len(looking):
        hit = seen[row[looking], fund[looking]]
        found[looking[hit]] = row[looking[hit]]
        looking = looking[~hit]
        row[looking] -= 1
        looking = looking[row[looking] >= 0]
    return found


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
    return _calmar(annual_return(returns), max_drawdown(returns))


def _calmar(annual: np.ndarray, mdd: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = annual / np.abs(mdd)
    return np.where((mdd < 0) & ~np.isinf(out), out, np.nan)


def period_return(returns: np.ndarray, days: int) -> np.ndarray:
    """Compound return of each column's last ``days`` returns; NaN with fewer than ``days``."""
    return _period_returns(returns, [days])[0]


def _period_returns(returns: np.ndarray, periods: list[int]) -> list[np.ndarray]:
    valid = ~np.isnan(returns)
    from_end = np.cumsum(valid[::-1], axis=0)[::-1]  # observations at or after each row
    count = from_end[0] if len(returns) else np.zeros(returns.shape[1], dtype=int)
    growth = returns + 1.0
    out = []
    for days in periods:
        total = np.prod(np.where(valid & (from_end <= days), growth, 1.0), axis=0) - 1.0
        out.append(np.where(count >= days, total, np.nan))
    return out


def fund_metrics(returns: np.ndarray, risk_free_annual: float = 0.0) -> dict[str, np.ndarray]:
    """Every ``fund_metrics`` column for each fund (column), plus ``n_obs``.

    ``risk_free_annual`` is converted to a per-period rate as ``annual / 252`` for Sharpe.
    Each value is exactly what the single-metric function above gives. The funds are taken
    :data:`_BLOCK_FUNDS` at a time: the dozens of temporaries then fit in the CPU caches and
    are recycled by the allocator instead of being faulted in fresh, which at 5,000 funds
    halves the time. A fund's values do not depend on which other funds are passed with it
    (to the last bit): a block of one fund is computed beside a copy of itself, since numpy
    sums a lone column pairwise but the columns of a wider block row after row.
    """
    returns = np.asarray(returns, dtype=float)
    blocks = [
        _fund_metrics_block(returns[:, start : start + _BLOCK_FUNDS], risk_free_annual)
        for start in range(0, max(returns.shape[1], 1), _BLOCK_FUNDS)
    ]
    return {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}


def _fund_metrics_block(returns: np.ndarray, risk_free_annual: float) -> dict[str, np.ndarray]:
    if returns.shape[1] == 1:  # see fund_metrics: summed like a column of a wider block
        wide = _fund_metrics_columns(np.repeat(returns, 2, axis=1), risk_free_annual)
        return {name: values[:1] for name, values in wide.items()}
    return _fund_metrics_columns(returns, risk_free_annual)


def _fund_metrics_columns(returns: np.ndarray, risk_free_annual: float) -> dict[str, np.ndarray]:
    annual = annual_return(returns)
    mdd = max_drawdown(returns)
    out = {
        "n_obs": _count(returns),
        "annual_return": annual,
        "annual_volatility": annual_volatility(returns),
        "sharpe_ratio": sharpe_ratio(returns, risk_free_annual / PERIODS_PER_YEAR),
        "sortino_ratio": sortino_ratio(returns),
        "max_drawdown": mdd,
        "calmar_ratio": _calmar(annual, mdd),
    }
    values = _period_returns(returns, list(PERIOD_RETURNS.values()))
    out.update(zip(PERIOD_RETURNS, values, strict=True))
    return out
