"""Read a window of ``fund_nav`` into dates x funds matrices with one streamed query."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fundpipe.schema import fund_nav

__all__ = ["NavWindow", "load_nav_window"]

_STREAM_ROWS = 100_000
_NO_DATE = dt.date(1900, 1, 1)


@dataclasses.dataclass(frozen=True)
class NavWindow:
    """NAVs of every fund over the window: ``unit[i, j]`` is fund ``codes[j]`` on ``dates[i]``."""

    dates: np.ndarray  # datetime64[D], ascending
    codes: np.ndarray  # fund codes (object), ascending
    unit: np.ndarray  # float64, NaN where the fund has no row that date
    accum: np.ndarray  # float64, NaN where missing
    rows: int  # fund_nav rows read


def load_nav_window(conn: sa.Connection, as_of: dt.date, n_dates: int) -> NavWindow:
    """The last ``n_dates`` distinct NAV dates on or before ``as_of``, all funds.

    One query: the window's first date is a scalar subquery, and the rows stream in chunks
    that are folded into integer ids at once, so memory stays near the size of the result
    matrices instead of one Python object per value. Reading dominates the cost (about 2 s per
    million rows with SQLite here); the matrices cost 16 bytes per (date, fund) cell.
    """
    first = (
        sa.select(fund_nav.c.nav_date)
        .where(fund_nav.c.nav_date <= as_of)
        .distinct()
        .order_by(fund_nav.c.nav_date.desc())
        .limit(1)
        .offset(n_dates - 1)
        .scalar_subquery()
    )
    # Dates come back raw (ISO text on SQLite, date objects from pymysql) and are converted
    # once per distinct value below, not once per row.
    raw_date = sa.type_coerce(fund_nav.c.nav_date, sa.String)
    stmt = sa.select(fund_nav.c.fund_code, raw_date, fund_nav.c.unit_nav, fund_nav.c.accum_nav).where(
        fund_nav.c.nav_date <= as_of,
        fund_nav.c.nav_date >= sa.func.coalesce(first, sa.literal(_NO_DATE, sa.Date)),
    )
    code_ids: dict[str, int] = {}
    date_ids: dict[object, int] = {}
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    # SQLite cursors already stream; elsewhere ask for a server-side cursor.
    options = {} if conn.dialect.name == "sqlite" else {"stream_results": True}
    result = conn.execution_options(**options).execute(stmt)
    while chunk := result.fetchmany(_STREAM_ROWS):
        codes, dates, unit, accum = zip(*chunk, strict=True)
        parts.append(
            (
                _intern(codes, code_ids),
                _intern(dates, date_ids),
                np.array(unit, dtype=float),
                np.array(accum, dtype=float),
            )
        )
    n_rows = sum(len(p[0]) for p in parts)
    code_keys = np.array(list(code_ids), dtype=object)
    date_keys = np.array(list(date_ids), dtype="datetime64[D]")
    code_order = np.argsort(code_keys, kind="stable")
    date_order = np.argsort(date_keys, kind="stable")
    code_pos = np.empty(len(code_keys), dtype=np.int64)
    code_pos[code_order] = np.arange(len(code_keys))
    date_pos = np.empty(len(date_keys), dtype=np.int64)
    date_pos[date_order] = np.arange(len(date_keys))

    unit_m = np.full((len(date_keys), len(code_keys)), np.nan)
    accum_m = np.full_like(unit_m, np.nan)
    for c, d, u, a in parts:
        unit_m[date_pos[d], code_pos[c]] = u
        accum_m[date_pos[d], code_pos[c]] = a
    return NavWindow(date_keys[date_order], code_keys[code_order], unit_m, accum_m, n_rows)


def _intern(values: tuple[object, ...], ids: dict) -> np.ndarray:
    """Integer ids of ``values``, extending ``ids`` with values not seen before."""
    codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=False)
    mapping = np.array([ids.setdefault(u, len(ids)) for u in uniques.tolist()], dtype=np.int64)
    return mapping[codes]
