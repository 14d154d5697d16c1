"""Where NAVs come from: one small interface, one module per source.

A source is any object with a ``name``, ``fetch(as_of)`` returning one day's NAV rows and
``funds()`` returning the fund master data it knows (possibly none). A source that can also
produce history implements ``fetch_range(start, end)``; the collector uses it to backfill a
fresh database. All three return a :class:`pandas.DataFrame`:

* NAV rows: ``fund_code``, ``nav_date``, ``unit_nav`` (required columns), ``accum_nav``,
  ``daily_return`` (optional; percent). Values may be missing or wrong: the collector stages
  them as they are and validation decides.
* funds: ``fund_code``, ``fund_name``, ``fund_type``, ``is_active``.

A source that has to act around the staging transaction (the CSV inbox records and archives
its files) or report more than rows (the HTTP source: URL and attempts) implements
``deliver(as_of)`` instead, returning a :class:`Delivery`; the collector then calls
``deliver`` rather than ``fetch``.

Bundled sources (``FUND_SOURCE``): ``demo`` (:mod:`fundpipe.sources.demo`), ``csv``
(:mod:`fundpipe.sources.csv`), ``http`` (:mod:`fundpipe.sources.http`).

Adding a source: write ``fundpipe/sources/<name>.py``, register it in :data:`_FACTORIES` and
add the name to :data:`fundpipe.settings.KNOWN_SOURCES`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from fundpipe.errors import FundConfigError, SourceError
from fundpipe.schema import PARSE_ERROR_LENGTH, RAW_CODE_LENGTH
from fundpipe.settings import FundSettings

if TYPE_CHECKING:
    import sqlalchemy as sa

    from fund_common.calendars import SessionCalendar

__all__ = [
    "FUND_COLUMNS",
    "MISSING_TEXT",
    "NAV_COLUMNS",
    "STAGING_COLUMNS",
    "Delivering",
    "Delivery",
    "HistorySource",
    "Source",
    "empty_funds",
    "get_source",
    "staging_frame",
]

NAV_COLUMNS = ("fund_code", "nav_date", "unit_nav", "accum_nav", "daily_return")
REQUIRED_NAV_COLUMNS = ("fund_code", "nav_date", "unit_nav")
FUND_COLUMNS = ("fund_code", "fund_name", "fund_type", "is_active")
#: Columns of :func:`staging_frame`'s result.
STAGING_COLUMNS = (*NAV_COLUMNS, "source", "parse_error")

#: Text values read as "no value" (compared stripped and case-insensitively) in dates and
#: numbers: what fund sites print for a value not published.
MISSING_TEXT = frozenset({"", "-", "--", "n/a", "na", "nan", "null", "none"})


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


@dataclasses.dataclass
class Delivery:
    """One collection's rows from a source, in staging form, and what to do around staging.

    The collector calls :meth:`claim` inside the staging transaction and :meth:`done` after it
    committed. The base class stages every row and does nothing afterwards.
    """

    rows: pd.DataFrame  # a staging_frame() result
    details: dict[str, Any] = dataclasses.field(default_factory=dict)  # JSON-serialisable

    def claim(self, conn: sa.Connection, batch_id: str, now: dt.datetime) -> pd.DataFrame:
        """The rows to stage as ``batch_id``; may write bookkeeping rows in the same transaction."""
        return self.rows

    def done(self) -> dict[str, Any]:
        """Called once the staging transaction committed; returns the details for the summary."""
        return self.details

    def note(self) -> str:
        """A short phrase for the collect log line ('' for nothing to add)."""
        return ""


@runtime_checkable
class Delivering(Source, Protocol):
    """A source the collector asks for a :class:`Delivery` instead of calling ``fetch``."""

    def deliver(self, as_of: dt.date) -> Delivery:
        """Read the rows for ``as_of``; nothing may be changed before :meth:`Delivery.done`."""
        ...


def empty_funds() -> pd.DataFrame:
    """A fund master frame with no rows (for sources that deliver NAVs only)."""
    return pd.DataFrame(columns=list(FUND_COLUMNS))


def _demo(settings: FundSettings, calendar: SessionCalendar | None) -> Source:
    from fundpipe.sources.demo import DemoSource

    return DemoSource(n_funds=settings.demo_funds, calendar=calendar)


def _csv(settings: FundSettings, calendar: SessionCalendar | None) -> Source:
    from fundpipe.sources.csv import CsvSource

    return CsvSource(settings.csv_inbox)


def _http(settings: FundSettings, calendar: SessionCalendar | None) -> Source:
    from fundpipe.sources.http import HttpSource

    return HttpSource(settings.http_url, timeout=settings.http_timeout)


_FACTORIES: dict[str, Callable[[FundSettings, SessionCalendar | None], Source]] = {
    "demo": _demo,
    "csv": _csv,
    "http": _http,
}


def get_source(settings: FundSettings, calendar: SessionCalendar | None = None) -> Source:
    """The source named by ``settings.source``; raise :class:`FundConfigError` if unknown.

    ``calendar`` is the trading calendar, for a source that makes its own days (the demo
    source publishes its sessions; None: every weekday)."""
    try:
        factory = _FACTORIES[settings.source]
    except KeyError:
        raise FundConfigError(
            f"FUND_SOURCE={settings.source!r} is not a known source "
            f"(choose from: {', '.join(sorted(_FACTORIES))})"
        ) from None
    return factory(settings, calendar)


def staging_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """``frame`` reduced to :data:`STAGING_COLUMNS` with staging types, ready to be staged.

    Codes become stripped strings (an integer code becomes its digits), dates
    ``datetime.date``, numbers floats. Text is read strictly: dates as ``YYYY-MM-DD``,
    ``YYYY/MM/DD`` or ``YYYYMMDD`` (a time after the date is ignored), numbers as decimals
    (``daily_return`` may end in ``%``); :data:`MISSING_TEXT` and blanks are missing values. A
    value that is present but does not convert (``'abc'``, ``'1,234.5'``, ``'2024-02-30'``,
    ``inf``, ``True``) is staged as missing and named, with its raw text, in the row's
    ``parse_error`` (``None`` when every value read), so validation can quarantine the row
    with that reason. Raise :class:`SourceError` when a required column is absent or a fund
    code is longer than the staging column.
    """
    missing = [c for c in REQUIRED_NAV_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceError(
            f"source {source!r} returned rows without column(s) {', '.join(missing)} "
            f"(got: {', '.join(map(str, frame.columns)) or 'none'})"
        )
    n = len(frame)
    problems: list[tuple[np.ndarray, list[str]]] = []  # (row mask, one message per selected row)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    out["fund_code"] = _codes(frame["fund_code"].reset_index(drop=True), problems)
    too_long = out["fund_code"].str.len() > RAW_CODE_LENGTH
    if too_long.any():
        row = int(too_long.to_numpy().nonzero()[0][0])
        raise SourceError(
            f"source {source!r} row {row}: fund_code {out['fund_code'][row][:80]!r}... is longer "
            f"than {RAW_CODE_LENGTH} characters"
        )
    out["nav_date"] = _dates(frame["nav_date"].reset_index(drop=True), problems)
    for col in ("unit_nav", "accum_nav", "daily_return"):
        if col in frame.columns:
            out[col] = _numbers(col, frame[col].reset_index(drop=True), problems)
        else:
            out[col] = np.nan
    out["source"] = source
    out["parse_error"] = _join_problems(n, problems)
    return out


def _join_problems(n: int, problems: list[tuple[np.ndarray, list[str]]]) -> pd.Series:
    texts: list[list[str]] = [[] for _ in range(n)] if problems else []
    for mask, messages in problems:
        for row, message in zip(np.flatnonzero(mask).tolist(), messages, strict=True):
            texts[row].append(message)
    joined: list[str | None] = [None] * n
    for row, parts in enumerate(texts):
        if parts:
            text = "; ".join(parts)
            joined[row] = text if len(text) <= PARSE_ERROR_LENGTH else text[: PARSE_ERROR_LENGTH - 3] + "..."
    return pd.Series(joined, dtype=object)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 43 else text[:40] + "..."


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().lower() in MISSING_TEXT


def _codes(values: pd.Series, problems: list[tuple[np.ndarray, list[str]]]) -> pd.Series:
    if pd.api.types.infer_dtype(values, skipna=True) == "string":  # the usual case, vectorised
        return values.where(values.isna(), values.astype(str).str.strip()).astype(object)
    out: list[str | None] = []
    bad = np.zeros(len(values), dtype=bool)
    messages = []
    for i, v in enumerate(values.tolist()):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out.append(None)
        elif isinstance(v, str):
            out.append(v.strip())
        elif not isinstance(v, bool | np.bool_) and (
            isinstance(v, int | np.integer) or (isinstance(v, float | np.floating) and float(v).is_integer())
        ):
            out.append(str(int(v)))
        else:
            out.append(None)
            bad[i] = True
            messages.append(f"fund_code {_shown(v)} is not a code")
    if bad.any():
        problems.append((bad, messages))
    return pd.Series(out, dtype=object)


_DATE_TEXT = re.compile(
    r"^(?:(?P<y1>\d{4})-(?P<m1>\d{1,2})-(?P<d1>\d{1,2})|(?P<y2>\d{4})/(?P<m2>\d{1,2})/(?P<d2>\d{1,2})"
    r"|(?P<y3>\d{4})(?P<m3>\d{2})(?P<d3>\d{2}))(?:[T ].*)?$"
)


def _date_from_text(text: str) -> dt.date | None:
    match = _DATE_TEXT.match(text)
    if match is None:
        return None
    parts = [g for g in match.groups()[:9] if g is not None][:3]
    try:
        return dt.date(*(int(p) for p in parts))
    except ValueError:
        return None


def _dates(values: pd.Series, problems: list[tuple[np.ndarray, list[str]]]) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.date.astype(object).where(values.notna(), None)
    out: list[dt.date | None] = []
    bad = np.zeros(len(values), dtype=bool)
    messages = []
    for i, v in enumerate(values.tolist()):
        day: dt.date | None = None
        if _is_missing(v):
            pass
        elif isinstance(v, dt.datetime):  # pandas Timestamp too
            day = v.date()
        elif isinstance(v, dt.date):
            day = v
        elif isinstance(v, str | int | np.integer) and not isinstance(v, bool | np.bool_):
            day = _date_from_text(str(v).strip())
            if day is None:
                bad[i] = True
                messages.append(f"nav_date {_shown(v)} is not a date (YYYY-MM-DD)")
        else:
            bad[i] = True
            messages.append(f"nav_date {_shown(v)} is not a date (YYYY-MM-DD)")
        out.append(day)
    if bad.any():
        problems.append((bad, messages))
    return pd.Series(out, dtype=object)


_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _numbers(column: str, values: pd.Series, problems: list[tuple[np.ndarray, list[str]]]) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
        infinite = np.isinf(numbers.to_numpy())
        if infinite.any():  # not storable on MySQL, never a real NAV
            problems.append((infinite, [f"{column} {v!r} is not a finite number" for v in numbers[infinite]]))
            numbers = numbers.where(~infinite)
        return numbers
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    messages = []
    for i, v in enumerate(values.tolist()):
        if _is_missing(v):
            continue
        number = math.nan
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_):
            number = float(v)
        elif isinstance(v, str):
            text = v.strip()
            if column == "daily_return" and text.endswith("%"):
                text = text[:-1].rstrip()
            number = float(text) if _DECIMAL.fullmatch(text) else math.nan  # '1e999' -> inf -> bad
        if math.isfinite(number):
            out[i] = number
        else:
            bad[i] = True
            messages.append(f"{column} {_shown(v)} is not a number")
    if bad.any():
        problems.append((bad, messages))
    return pd.Series(out, dtype="float64")
