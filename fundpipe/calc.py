"""Metrics run: read the NAV window in chunks of funds, compute each chunk's metrics at once,
write them in bulk chunk by chunk."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fund_common.clock import utcnow_naive
from fundpipe.db import upsert_frame
from fundpipe.errors import FundPipelineError
from fundpipe.metrics import fund_metrics, nav_returns
from fundpipe.navwindow import NavWindow, WindowMoved, nav_window_chunks
from fundpipe.schema import fund_metrics as fund_metrics_table
from fundpipe.schema import fund_nav
from fundpipe.settings import DEFAULT_METRICS_CHUNK_FUNDS

__all__ = ["WINDOW_RETURNS", "compute_and_store", "latest_nav_date"]

#: Daily returns in the metrics window (3 years of 252 days): 757 NAV dates.
WINDOW_RETURNS = 756
#: Runs started over when the window's dates keep changing under the read, before giving up.
_ATTEMPTS = 3

_METRIC_COLUMNS = [
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
]


def latest_nav_date(conn: sa.Connection, as_of: dt.date) -> dt.date | None:
    """The most recent ``fund_nav`` date on or before ``as_of`` (None if there is none)."""
    return conn.execute(
        sa.select(sa.func.max(fund_nav.c.nav_date)).where(fund_nav.c.nav_date <= as_of)
    ).scalar()


def compute_and_store(
    engine: sa.Engine,
    calc_date: dt.date,
    *,
    risk_free_rate: float,
    min_observations: int,
    chunk_funds: int = DEFAULT_METRICS_CHUNK_FUNDS,
    parallel: int | None = None,
) -> dict[str, Any]:
    """Metrics of every fund over the last :data:`WINDOW_RETURNS` returns up to ``calc_date``.

    The window is read ``chunk_funds`` funds at a time (:func:`fundpipe.navwindow.nav_window_chunks`:
    one date axis for all chunks, so the values do not depend on the chunk size; ``parallel`` as
    there); each chunk's metrics are computed in one vectorised pass and upserted into
    ``fund_metrics`` with ``calc_date`` in a transaction of their own, so memory is bounded by
    the chunk size. Funds with fewer than ``min_observations`` returns in the window are skipped
    (counted, not written); non-finite values (an infinite Sharpe, say) are stored as NULL. If
    the window's dates change during the run (a commit adding or removing a whole date inside
    it), the run starts over, at most :data:`_ATTEMPTS` times, then raises
    :class:`~fundpipe.errors.FundPipelineError`; chunks written before are overwritten by the
    run that completes.
    """
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _compute_chunks(engine, calc_date, risk_free_rate, min_observations, chunk_funds, parallel)
        except WindowMoved:
            if attempt == _ATTEMPTS:
                raise FundPipelineError(
                    f"the NAV window up to {calc_date} changed during each of {_ATTEMPTS} metrics runs"
                ) from None
    raise AssertionError("unreachable")


def _compute_chunks(
    engine: sa.Engine,
    calc_date: dt.date,
    risk_free_rate: float,
    min_observations: int,
    chunk_funds: int,
    parallel: int | None,
) -> dict[str, Any]:
    funds = skipped_funds = window_days = nav_rows = 0
    updated_at = utcnow_naive()
    for window in nav_window_chunks(engine, calc_date, WINDOW_RETURNS + 1, chunk_funds, parallel=parallel):
        frame, skipped = _chunk_metrics(window, risk_free_rate, min_observations)
        window_days = max(len(window.dates) - 1, 0)  # the first date has no prior NAV
        constants = {"calc_date": calc_date, "window_days": window_days, "updated_at": updated_at}
        with engine.begin() as conn:
            upsert_frame(
                conn,
                fund_metrics_table,
                frame,
                constants=constants,
                update=["window_days", "n_obs", *_METRIC_COLUMNS, "updated_at"],
            )
        funds += len(frame)
        skipped_funds += skipped
        nav_rows += window.rows
    return {
        "funds": funds,
        "skipped": skipped_funds,
        "calc_date": calc_date.isoformat(),
        "window_days": window_days,
        "nav_rows": nav_rows,
    }


def _chunk_metrics(
    window: NavWindow, risk_free_rate: float, min_observations: int
) -> tuple[pd.DataFrame, int]:
    """(the rows to write for the chunk's funds with enough returns, how many were skipped)."""
    returns = nav_returns(window.unit, window.accum)[1:]  # the first date has no prior NAV
    values = fund_metrics(returns, risk_free_rate)
    keep = values["n_obs"] >= min_observations
    frame = pd.DataFrame({"fund_code": window.codes[keep], "n_obs": values["n_obs"][keep]})
    for name in _METRIC_COLUMNS:
        column = values[name][keep]
        frame[name] = np.where(np.isfinite(column), column, np.nan)
    return frame, int((~keep).sum())
