"""The embedded demo source: deterministic synthetic NAVs for a few hundred funds.

Same fund and date give the same row on any machine and in any order of calls: every random
number is a counter-based hash (splitmix64) of (fund, business day, stream), turned into a
near-normal draw with integer and IEEE arithmetic only (no transcendental functions, no
library random streams), and NAVs grow by ``cumprod``. Each fund walks the Monday-Friday days
from :data:`EPOCH` (the walk's own index, the same under any calendar); a call costs one
vectorised walk over that history (~3,000 days), independent of how many days it returns.

Rows are published for the sessions of the source's calendar only: on a closed weekday (a
holiday) the walk stands still (no move, no dividend) and no row is published, so the first
session after a holiday moves, and states its return, against the last session before it.

Funds: index ``i`` has code ``(7919 * i + 1) mod 10**6`` as 6 digits; types cycle through
4 stock, 3 hybrid, 2 bond, 1 money-market per 10 funds, with per-type drift and volatility
(stock ~22 %/yr, hybrid ~15 %, bond ~3 %, money-market ~0.2 %; each fund scaled 0.7-1.3x) and
a shared equity-market factor. Stock, hybrid and bond funds pay occasional cash dividends:
``unit_nav`` drops by the dividend and ``accum_nav`` = unit NAV + dividends paid to date, as
Chinese fund sites publish it. ``daily_return`` is the dividend-adjusted change in percent,
2 decimals; NAVs have 4 decimals.

Faults, on purpose and deterministic, so validation has something to catch (rates per row,
:data:`FAULT_RATES`; at most one fault per row; the rule expected to catch it in brackets):

* 0.5 % ``unit_nav`` missing (``not_null``);
* 0.1 % non-positive ``unit_nav``: ``0.0`` or a sign typo (``positive_nav``);
* 0.3 % the row is delivered twice (``no_duplicate_key``; the copies are identical);
* 0.1 % a 10x typo: ``unit_nav`` is the true value times 10 (rounded to 4 decimals) while
  ``accum_nav`` and ``daily_return`` are the true ones, so the NAV jumps ~+900 % against the
  previous day's while ``daily_return`` says otherwise, and ``accum_nav < unit_nav``
  (daily return consistent with the NAV change; no implausible jump);
* 0.2 % a stale repeat: ``unit_nav`` and ``accum_nav`` are the previous business day's true
  values while ``daily_return`` is the day's true, non-zero return (daily return consistent
  with the NAV change). Drawn only where that return is at least
  :data:`STALE_MIN_RETURN` (0.10 %) in size: a smaller move is within the rounding of a
  4-decimal NAV and a 2-decimal return, so a repeat could not be told from a flat day. That
  is ~78 % of rows over the mixed universe (stock and hybrid funds ~93 % of days, bond funds
  ~62 %, money-market funds never), so about 0.155 % of all rows.

A fault never alters the underlying series: the next day is published correctly.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from fund_common.calendars import SessionCalendar, weekdays_only
from fundpipe.calendar import trading_day_mask
from fundpipe.sources import FUND_COLUMNS, NAV_COLUMNS

__all__ = ["EPOCH", "FAULT_RATES", "STALE_MIN_RETURN", "DemoSource", "fund_code"]

EPOCH = np.datetime64("2015-01-01", "D")
_FUND_CHUNK = 100  # funds per vectorised walk: bounds memory at any fund count

# type: (mean annual return, annual volatility, beta to the equity factor,
#        dividend probability per day, dividend as a fraction of unit NAV (low, high))
_TYPES: dict[str, tuple[float, float, float, float, tuple[float, float]]] = {
    "stock": (0.08, 0.22, 0.8, 1 / 250, (0.02, 0.06)),
    "hybrid": (0.06, 0.15, 0.7, 1 / 250, (0.01, 0.04)),
    "bond": (0.035, 0.03, 0.0, 2 / 250, (0.005, 0.015)),
    "money_market": (0.02, 0.002, 0.0, 0.0, (0.0, 0.0)),
}
_TYPE_CYCLE = ("stock",) * 4 + ("hybrid",) * 3 + ("bond",) * 2 + ("money_market",)
_TYPE_LABELS = {"stock": "股票型", "hybrid": "混合型", "bond": "债券型", "money_market": "货币型"}

#: Share of rows with each fault (see the module docstring); the order fixes each fault's slice
#: of the per-row fault draw, so adding a fault at the end leaves the earlier ones where they were.
FAULT_RATES = {
    "missing_unit_nav": 0.005,
    "non_positive_nav": 0.001,
    "duplicate_row": 0.003,
    "typo_10x": 0.001,
    "stale_repeat": 0.002,
}

#: Smallest |daily_return| (percent) on which a stale repeat is drawn (see the module docstring).
STALE_MIN_RETURN = 0.1

# hash streams
_S_PARAMS, _S_MOVE, _S_EVENT, _S_MARKET = 1, 2, 3, 4

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def fund_code(index: int) -> str:
    """The 6-digit code of demo fund ``index`` (unique for indexes below 10**6)."""
    return f"{(7919 * index + 1) % 1_000_000:06d}"


def _fault_slices(u: np.ndarray) -> dict[str, np.ndarray]:
    """One mask per fault: consecutive slices of the uniform draw ``u``, sized by FAULT_RATES."""
    out: dict[str, np.ndarray] = {}
    lo = 0.0
    for kind, rate in FAULT_RATES.items():
        out[kind] = (u >= lo) & (u < lo + rate)
        lo += rate
    return out


def _walk_dates(days: np.ndarray) -> np.ndarray:
    """The dates of the walk's days (its own index: the Monday-Friday days from EPOCH)."""
    return np.busday_offset(EPOCH, days, roll="forward")


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash(fund: np.ndarray, day: np.ndarray, stream: int) -> np.ndarray:
    key = (fund.astype(np.uint64) << np.uint64(24)) ^ day.astype(np.uint64)
    return _mix(_mix(key) ^ np.uint64(stream))


def _fields(h: np.ndarray) -> list[np.ndarray]:
    """Four uniforms in (0, 1) with 16-bit resolution from each 64-bit hash."""
    return [
        (((h >> np.uint64(16 * k)) & np.uint64(0xFFFF)).astype(np.float64) + 0.5) / 65536.0 for k in range(4)
    ]


def _normal(h: np.ndarray) -> np.ndarray:
    """Near-normal draws (mean 0, variance 1, Irwin-Hall of 4 uniforms) from hashes."""
    u = _fields(h)
    return ((u[0] + u[1]) + (u[2] + u[3]) - 2.0) * np.sqrt(3.0)


class DemoSource:
    """Deterministic synthetic NAVs for ``n_funds`` funds (see the module docstring)."""

    name = "demo"

    def __init__(self, n_funds: int = 300, *, faults: bool = True, calendar: SessionCalendar | None = None):
        """``n_funds`` funds; ``faults=False`` publishes every row correctly (a clean baseline);
        rows on the sessions of ``calendar`` (None: every weekday)."""
        if n_funds < 1:
            raise ValueError(f"n_funds={n_funds!r} must be positive")
        self.n_funds = n_funds
        self.with_faults = faults
        self.calendar = calendar if calendar is not None else weekdays_only("weekdays")
        self._index = np.arange(n_funds, dtype=np.int64)
        self._types = np.array([_TYPE_CYCLE[i % len(_TYPE_CYCLE)] for i in range(n_funds)])

    def funds(self) -> pd.DataFrame:
        """One row per demo fund: code, Chinese name, type, active."""
        return pd.DataFrame(
            {
                "fund_code": [fund_code(i) for i in range(self.n_funds)],
                "fund_name": [f"演示{_TYPE_LABELS[t]}基金{i + 1:04d}" for i, t in enumerate(self._types)],
                "fund_type": self._types.tolist(),
                "is_active": True,
            },
            columns=list(FUND_COLUMNS),
        )

    def fetch(self, as_of: dt.date) -> pd.DataFrame:
        """Rows for ``as_of``; empty on a day that is no session or before :data:`EPOCH`."""
        return self.fetch_range(as_of, as_of)

    def fetch_range(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Rows for every session from ``start`` to ``end`` inclusive, date by date."""
        return self._range(start, end, labelled=False)

    def faults(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """The faulty rows :meth:`fetch_range` delivers for the same days, labelled.

        Columns ``fund_code``, ``nav_date``, ``fault`` (a key of :data:`FAULT_RATES`); both
        copies of a duplicated row are listed. Meant for tests of the validation rules.
        """
        frame = self._range(start, end, labelled=True)
        out = frame.loc[frame["fault"].notna(), ["fund_code", "nav_date", "fault"]].reset_index(drop=True)
        out["fault"] = out["fault"].astype(str)  # one dtype however many chunks were joined
        return out

    def _range(self, start: dt.date, end: dt.date, *, labelled: bool) -> pd.DataFrame:
        columns = [*NAV_COLUMNS, "fault"] if labelled else list(NAV_COLUMNS)
        first = max(np.datetime64(start, "D"), EPOCH)
        last = np.datetime64(end, "D")
        if last < first:
            return pd.DataFrame(columns=columns)
        lo = int(np.busday_count(EPOCH, first))  # the walk's index of the first wanted day
        hi = int(np.busday_count(EPOCH, last + 1))  # one past the last wanted day
        if hi <= lo:
            return pd.DataFrame(columns=columns)
        is_open = trading_day_mask(self.calendar, _walk_dates(np.arange(hi)))
        if not is_open[lo:hi].any():
            return pd.DataFrame(columns=columns)
        parts = [
            self._rows(self._index[c : c + _FUND_CHUNK], lo, hi, is_open, labelled)
            for c in range(0, self.n_funds, _FUND_CHUNK)
        ]
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return frame.sort_values(["nav_date"], kind="stable", ignore_index=True)

    def _rows(
        self, funds: np.ndarray, lo: int, hi: int, is_open: np.ndarray, labelled: bool = False
    ) -> pd.DataFrame:
        """Published rows of ``funds`` for the walk's days ``lo`` to ``hi - 1`` that are open
        (``is_open``, per walk day from 0: a session of the calendar).

        With ``labelled``, a ``fault`` column names each row's fault (``None`` for a clean row).
        """
        unit, accum, ret = self._walk(funds, hi, is_open)  # shape (hi, n): day 0 is EPOCH
        days = np.arange(lo, hi)[is_open[lo:hi]]
        before = np.maximum(days - 1, 0)  # the walk's day before (stale repeats never use day 0's)
        prev_unit, prev_accum = unit[before], accum[before]
        unit, accum, ret = unit[days], accum[days], ret[days]
        grid_day, grid_fund = np.meshgrid(days, funds, indexing="ij")

        ev = _fields(_hash(grid_fund, grid_day, _S_EVENT))  # [2]: fault kind, [3]: fault draw
        fault = _fault_slices(ev[3] if self.with_faults else np.ones_like(ev[3]))  # 1.0: no fault
        missing, bad, dup = fault["missing_unit_nav"], fault["non_positive_nav"], fault["duplicate_row"]
        typo = fault["typo_10x"]
        stale = fault["stale_repeat"] & (grid_day > 0) & (np.abs(ret) >= STALE_MIN_RETURN)
        unit = np.where(missing, np.nan, unit)
        unit = np.where(bad, np.where(ev[2] < 0.5, 0.0, -unit), unit)
        unit = np.where(typo, np.round(unit * 10.0, 4), unit)
        unit = np.where(stale, prev_unit, unit)
        accum = np.where(stale, prev_accum, accum)

        dates = _walk_dates(days)
        codes = np.array([fund_code(int(i)) for i in funds], dtype=object)
        repeat = 1 + dup.ravel().astype(np.int64)  # day-major order: dates ascend
        data = {
            "fund_code": np.repeat(np.tile(codes, len(days)), repeat),
            "nav_date": np.repeat(np.repeat(dates, len(funds)), repeat),
            "unit_nav": np.repeat(unit.ravel(), repeat),
            "accum_nav": np.repeat(accum.ravel(), repeat),
            "daily_return": np.repeat(ret.ravel(), repeat),
        }
        if labelled:
            kinds = {**fault, "stale_repeat": stale}
            label = np.select(list(kinds.values()), list(kinds), default="")
            faults = label.astype(object)
            faults[label == ""] = None
            data["fault"] = np.repeat(faults.ravel(), repeat)
        return pd.DataFrame(data, columns=list(data))

    def _walk(
        self, funds: np.ndarray, n_days: int, is_open: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Published (unit_nav, accum_nav, daily_return %) for the walk's days ``0..n_days-1``;
        on a day not open the NAVs stand still (no move, no dividend)."""
        types = self._types[funds]
        mu, vol, beta, p_div = (np.array([_TYPES[t][k] for t in types]) for k in range(4))
        f_lo = np.array([_TYPES[t][4][0] for t in types])
        f_hi = np.array([_TYPES[t][4][1] for t in types])
        p = _fields(_hash(funds, np.zeros_like(funds), _S_PARAMS))
        mu = mu * (0.5 + p[0])
        vol = vol * (0.7 + 0.6 * p[1])

        days = np.arange(n_days)
        grid_day, grid_fund = np.meshgrid(days, funds, indexing="ij")
        market = _normal(_hash(np.zeros_like(days), days, _S_MARKET))[:, None]
        own = _normal(_hash(grid_fund, grid_day, _S_MOVE))
        z = beta * market + np.sqrt(1.0 - beta * beta) * own
        gross = 1.0 + mu / 252.0 + vol / np.sqrt(252.0) * z
        gross[0] = 1.0  # every fund starts at 1.0000 on EPOCH
        gross[~is_open[:n_days]] = 1.0
        total = np.cumprod(gross, axis=0)

        ev = _fields(_hash(grid_fund, grid_day, _S_EVENT))  # [0]: pays?, [1]: how much
        pays = (ev[0] < p_div) & (days[:, None] > 0) & is_open[:n_days, None]
        frac = np.where(pays, f_lo + (f_hi - f_lo) * ev[1], 0.0)
        keep = np.cumprod(1.0 - frac, axis=0)  # share of the total-return index still in units
        keep_before = np.vstack([np.ones((1, len(funds))), keep[:-1]])
        dividend = np.round(frac * total * keep_before, 4)  # cash per unit, paid on its day
        unit = np.round(total * keep, 4)
        accum = np.round(unit + np.cumsum(dividend, axis=0), 4)
        prev = np.vstack([np.full((1, len(funds)), np.nan), unit[:-1]])
        ret = np.round(((unit + dividend) / prev - 1.0) * 100.0, 2)
        return unit, accum, ret
