"""Metrics run: read the NAV window, compute every fund's metrics at once, write them in bulk."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fund_common.clock import utcnow_naive
from fundpipe.db import upsert_frame
from fundpipe.metrics import fund_metrics, nav_returns
from fundpipe.navwindow import load_nav_window
from fundpipe.schema import fund_metrics as fund_metrics_table
from fundpipe.schema import fund_nav

__all__ = ["WINDOW_RETURNS", "compute_and_store", "latest_nav_date"]

#: Daily returns in the metrics window (3 years of 252 days): 757 NAV dates.
WINDOW_RETURNS = 756

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
    engine: sa.Engine, calc_date: dt.date, *, risk_free_rate: float, min_observations: int
) -> dict[str, Any]:
    """Metrics of every fund over the last :data:`WINDOW_RETURNS` returns up to ``calc_date``.

    Funds with fewer than ``min_observations`` returns in the window are skipped (counted, not
    written). The others are upserted into ``fund_metrics`` with ``calc_date`` in one
    transaction; non-finite values (an infinite Sharpe, say) are stored as NULL.
    """
    with engine.connect() as conn:
        window = load_nav_window(conn, calc_date, WINDOW_RETURNS + 1)
    returns = nav_returns(window.unit, window.accum)[1:]  # the first date has no prior NAV
    values = fund_metrics(returns, risk_free_rate)
    keep = values["n_obs"] >= min_observations
    frame = pd.DataFrame({"fund_code": window.codes[keep], "n_obs": values["n_obs"][keep]})
    for name in _METRIC_COLUMNS:
        column = values[name][keep]
        frame[name] = np.where(np.isfinite(column), column, np.nan)
    constants = {"calc_date": calc_date, "window_days": int(returns.shape[0]), "updated_at": utcnow_naive()}
    with engine.begin() as conn:
        upsert_frame(
            conn,
            fund_metrics_table,
            frame,
            constants=constants,
            update=["window_days", "n_obs", *_METRIC_COLUMNS, "updated_at"],
        )
    return {
        "funds": int(keep.sum()),
        "skipped": int((~keep).sum()),
        "calc_date": calc_date.isoformat(),
        "window_days": int(returns.shape[0]),
        "nav_rows": window.rows,
    }
