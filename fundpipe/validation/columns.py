"""Columns of a batch of staging rows read as numpy arrays, as every rule needs them.

A batch comes as it was staged: dates may be ``date`` objects, datetimes or text, numbers may
be missing. These readers give ``datetime64[D]`` days (NaT where there is no date), floats
(NaN where there is no number) and the staging order of the rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from fund_common.escaping import one_line

__all__ = ["NAT", "as_date", "as_days", "as_floats", "is_missing", "num", "reject", "staging_order"]

NAT = np.datetime64("NaT", "D")


def as_days(values: pd.Series) -> np.ndarray:
    """``datetime64[D]`` of each value; NaT where it is not a date (or a date-like string)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy().astype("datetime64[D]")
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "empty":
        return np.full(len(values), NAT)
    if kind in ("date", "datetime"):  # the usual case (staging rows): vectorised
        parsed = pd.to_datetime(values.astype(object), errors="coerce")
        return parsed.to_numpy().astype("datetime64[D]")
    raw = values.to_numpy(dtype=object)
    out = np.full(len(raw), NAT)
    is_date = np.fromiter((isinstance(v, dt.date) for v in raw), dtype=bool, count=len(raw))
    if is_date.any():
        parsed = pd.to_datetime(pd.Series(raw[is_date], dtype=object), errors="coerce")
        out[is_date] = parsed.to_numpy().astype("datetime64[D]")
    is_text = np.fromiter((isinstance(v, str) for v in raw), dtype=bool, count=len(raw))
    if is_text.any():
        text = pd.Series(raw[is_text], dtype=object).str.strip()
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        out[is_text] = parsed.to_numpy().astype("datetime64[D]")
    return out


def as_date(day: np.datetime64) -> dt.date:
    """A (not NaT) ``datetime64`` day as a ``datetime.date``."""
    return dt.date.fromisoformat(str(day.astype("datetime64[D]")))


def as_floats(rows: pd.DataFrame, column: str) -> np.ndarray:
    """``rows[column]`` as floats, NaN where missing (all NaN when there is no such column)."""
    if column not in rows.columns:
        return np.full(len(rows), np.nan)
    return rows[column].to_numpy(dtype=float, na_value=np.nan)


def is_missing(values: pd.Series, *, blank_text: bool = False) -> np.ndarray:
    """True where a value is missing (or, with ``blank_text``, only whitespace)."""
    out = values.isna().to_numpy(copy=True)
    if blank_text:
        out |= values.astype(str).str.strip().eq("").to_numpy()
    return out


def staging_order(rows: pd.DataFrame) -> np.ndarray:
    """Staging order of the rows: their ``id`` if present, else their position."""
    if "id" in rows.columns:
        ids = pd.to_numeric(rows["id"], errors="coerce").to_numpy(dtype=float)
        if not np.isnan(ids).any():
            return ids
    return np.arange(len(rows), dtype=float)


def num(value: float) -> str:
    """A number as published: no trailing zeros, no exponent for NAV-sized values."""
    return f"{value:.10g}"


def reject(rows: pd.DataFrame, mask: Any, reasons: Any) -> pd.DataFrame:
    """The rows selected by ``mask`` with a ``reason`` column (``reasons`` aligned to them),
    each reason one line (:func:`fund_common.escaping.one_line`: a file name or raw value
    quoted in it cannot break the quarantine's lines)."""
    mask = np.asarray(mask, dtype=bool)
    out = rows.loc[mask].copy()
    out["reason"] = one_line(reasons) if isinstance(reasons, str) else [one_line(str(r)) for r in reasons]
    return out
