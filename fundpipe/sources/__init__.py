"""Where NAVs come from: one small interface, one module per source.

A source is any object with a ``name``, ``fetch(as_of)`` returning one day's NAV rows and
``funds()`` returning the fund master data it knows (possibly none). A source that can also
produce history implements ``fetch_range(start, end)``; the collector uses it to backfill a
fresh database. All three return a :class:`pandas.DataFrame`:

* NAV rows: ``fund_code``, ``nav_date``, ``unit_nav`` (required columns), ``accum_nav``,
  ``daily_return`` (optional; percent). Values may be missing or wrong: the collector stages
  them as they are and validation decides.
* funds: ``fund_code``, ``fund_name``, ``fund_type``, ``is_active``.

Adding a source: write ``fundpipe/sources/<name>.py``, register it in :data:`_FACTORIES` and
add the name to :data:`fundpipe.settings.KNOWN_SOURCES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import pandas as pd

from fundpipe.errors import FundConfigError, SourceError
from fundpipe.schema import RAW_CODE_LENGTH
from fundpipe.settings import FundSettings

__all__ = [
    "FUND_COLUMNS",
    "NAV_COLUMNS",
    "HistorySource",
    "Source",
    "get_source",
    "staging_frame",
]

NAV_COLUMNS = ("fund_code", "nav_date", "unit_nav", "accum_nav", "daily_return")
REQUIRED_NAV_COLUMNS = ("fund_code", "nav_date", "unit_nav")
FUND_COLUMNS = ("fund_code", "fund_name", "fund_type", "is_active")


@runtime_checkable
class Source(Protocol):
    """Delivers one day's NAV rows and the fund master data it knows."""

    name: str

    def fetch(self, as_of: dt.date) -> pd.DataFrame:
        """NAV rows published for ``as_of`` (an empty frame when there are none)."""
        ...

    def funds(self) -> pd.DataFrame:
        """Fund master data, ``FUND_COLUMNS``; an empty frame if the source has none."""
        ...


@runtime_checkable
class HistorySource(Source, Protocol):
    """A source that can also deliver a range of past days (used to backfill)."""

    def fetch_range(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """NAV rows for every date from ``start`` to ``end`` inclusive."""
        ...


def _demo(settings: FundSettings) -> Source:
    from fundpipe.sources.demo import DemoSource

    return DemoSource(n_funds=settings.demo_funds)


_FACTORIES: dict[str, Callable[[FundSettings], Source]] = {"demo": _demo}


def get_source(settings: FundSettings) -> Source:
    """The source named by ``settings.source``; raise :class:`FundConfigError` if unknown."""
    try:
        factory = _FACTORIES[settings.source]
    except KeyError:
        raise FundConfigError(
            f"FUND_SOURCE={settings.source!r} is not a known source "
            f"(choose from: {', '.join(sorted(_FACTORIES))})"
        ) from None
    return factory(settings)


def staging_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """``frame`` reduced to :data:`NAV_COLUMNS` with staging types, ready to be staged.

    Codes become stripped strings, dates ``datetime.date``, numbers floats; a value that does
    not convert becomes missing (validation will reject the row). Raise :class:`SourceError`
    when a required column is absent or a fund code is longer than the staging column.
    """
    missing = [c for c in REQUIRED_NAV_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceError(
            f"source {source!r} returned rows without column(s) {', '.join(missing)} "
            f"(got: {', '.join(map(str, frame.columns)) or 'none'})"
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    codes = frame["fund_code"].reset_index(drop=True)
    out["fund_code"] = codes.where(codes.isna(), codes.astype(str).str.strip())
    too_long = out["fund_code"].str.len() > RAW_CODE_LENGTH
    if too_long.any():
        row = int(too_long.to_numpy().nonzero()[0][0])
        raise SourceError(
            f"source {source!r} row {row}: fund_code {out['fund_code'][row][:80]!r}... is longer "
            f"than {RAW_CODE_LENGTH} characters"
        )
    dates = pd.to_datetime(frame["nav_date"].reset_index(drop=True), errors="coerce", format="mixed")
    out["nav_date"] = dates.dt.date.astype(object).where(dates.notna(), None)
    for col in ("unit_nav", "accum_nav", "daily_return"):
        if col in frame.columns:
            values = frame[col].reset_index(drop=True)
            out[col] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            out[col] = float("nan")
    out["source"] = source
    return out
