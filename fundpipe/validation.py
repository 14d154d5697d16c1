"""Named data-quality rules for staged NAV rows, and the result of applying them.

A hard rule is one function ``check(rows, context) -> DataFrame`` registered with :func:`rule`:
it receives the rows no earlier rule rejected (a DataFrame of staging rows) and returns the
ones it rejects, with a ``reason`` column naming the offending value. Rules run in
registration order, so every row is either accepted or rejected by exactly one rule (the
first that objects). A soft rule (``rule(name, soft=True)``) looks at the accepted rows and
returns a :class:`Finding`: it can warn, never reject. Adding a rule is one decorated function.

The rules, in order (settings are ``FUND_*`` variables, see :mod:`fundpipe.settings`):

1. ``parses``: every value the source sent was readable (the collector names the unreadable
   ones in the staging row's ``parse_error``: ``unit_nav 'abc' is not a number``).
2. ``not_null``: fund_code, nav_date and unit_nav present.
3. ``fund_code_length``: the code fits ``fund_nav``.
4. ``date_not_future``: nav_date is not after ``as_of``, the day being validated (passed in,
   never the wall clock).
5. ``trading_day``: nav_date is a trading day of :func:`trading_calendar` (Monday to Friday
   until an exchange calendar is plugged in there).
6. ``positive_nav``: unit_nav (and accum_nav when given) positive and finite.
7. ``no_duplicate_key``: one row per (fund_code, nav_date) per batch; the first is kept.
8. ``nav_jump``: ``|unit_nav / previous unit_nav - 1| <= FUND_MAX_JUMP`` (0.3). Catches a
   10x typo, which leaves the published return and accum_nav plausible.
9. ``return_consistent``: daily_return agrees with the NAV change (tolerance below); catches
   a stale repeat (yesterday's NAV again with a non-zero return).
10. ``return_bounds``: ``|daily_return| <= FUND_RETURN_BOUND`` (10 %), per fund type
    ``FUND_RETURN_BOUNDS_BY_TYPE`` (``bond=5,money_market=1``); without a published return the
    return implied by the NAVs is bounded.
11. ``coverage`` (soft): at least ``FUND_MIN_COVERAGE`` (0.9) of the active funds in
    ``fund_info`` have a NAV for ``as_of`` (stored, or accepted in this run).

**Previous NAV.** Rules 8-10 compare a row with the fund's previous known NAV: the latest row
before its date among the rows accepted so far in the batch (a later batch's row wins on the
same date) and the stored ``fund_nav`` rows (one query for the whole batch: the stored rows
of the batch's date span plus each fund's last stored row up to :data:`REFERENCE_LOOKBACK_DAYS`
before it). A row a rule rejects is not a reference for the rows after it, so one bad day
quarantines that row, not its successor as well; the rules reach that sequential outcome with
a few vectorised passes (see :func:`_sequential`). A fund with no known NAV (new, or the
first days of a backfill) is compared by ``nav_jump`` with the median of its first
:data:`ANCHOR_ROWS` rows in the batch, so a typo on day one does not become the reference;
the return rules skip it.

**Return consistency.** Checked when daily_return is published and the previous known NAV is
from the previous trading day (so the return's base is known). The expected return is
``(unit_nav + dividend) / prev_unit_nav - 1`` in percent, where ``dividend`` is the rise of
``accum_nav - unit_nav`` since that day (cash paid per unit; 0 when an accum_nav is missing;
a fall counts as 0, so a unit-NAV typo cannot pass as a negative dividend). The unadjusted
change ``unit_nav / prev_unit_nav - 1`` is also accepted (some sources publish that).
Comparing accum_nav changes instead would be wrong: accum_nav is unit NAV plus dividends
*not* reinvested, so its change understates the return of a fund that has paid out.
Tolerance, in percentage points: ``FUND_RETURN_TOLERANCE`` (0.01: the 2-decimal rounding
of the published return, 0.005, with a margin) ``+ 1 % of |expected|`` (sources computing
the return slightly differently) ``+ 0.015 / prev_unit_nav`` (two NAVs rounded to 4
decimals; ``+ 0.02 / prev_unit_nav`` more when a dividend is added back). At a NAV of 1 and
a flat day that is 0.025 pp: a stale repeat is caught whenever its return is at least
0.03 %; below that, a repeated NAV is indistinguishable from a genuinely flat day.
Not checked (documented gaps): the row after a missing or rejected day, and after a holiday
the weekday calendar does not know (the return's base is unknown), so a NAV repeated two
days running is caught on the first day only; and the first row of a fund with no stored
history (if it is a stale repeat, the second row is the one quarantined).

**Validity.** :attr:`ValidationResult.is_valid` is true when at most
:data:`MAX_REJECT_SHARE` (5 %) of the input rows were rejected and no soft rule warned.
It describes the day's data; it does not stop good rows from loading.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fundpipe.db import rows_frame
from fundpipe.errors import FundPipelineError
from fundpipe.schema import CODE_LENGTH, fund_info, fund_nav
from fundpipe.settings import FundSettings

__all__ = [
    "ANCHOR_ROWS",
    "MAX_REJECT_SHARE",
    "REFERENCE_LOOKBACK_DAYS",
    "RULES",
    "Finding",
    "Rule",
    "RuleContext",
    "ValidationResult",
    "apply_rules",
    "coverage",
    "date_not_future",
    "fund_code_length",
    "is_trading_day",
    "nav_jump",
    "parses",
    "no_duplicate_key",
    "not_null",
    "positive_nav",
    "previous_trading_day",
    "return_bounds",
    "return_consistent",
    "return_tolerance",
    "rule",
    "trading_calendar",
    "trading_day",
]

KEY = ["fund_code", "nav_date"]

#: A result with a larger share of rejected rows is not valid (see :class:`ValidationResult`).
MAX_REJECT_SHARE = 0.05
#: How far before the batch's first date the last stored NAV of each fund is looked for.
REFERENCE_LOOKBACK_DAYS = 31
#: Relative part of the return-consistency tolerance (share of the expected return).
RETURN_RELATIVE_TOLERANCE = 0.01
#: NAV-rounding part of the tolerance, in percentage points at a previous unit NAV of 1: two
#: NAVs rounded to 4 decimals move a return by up to 1e-4 / prev_unit_nav (0.01 pp at 1.0).
NAV_ROUNDING_TOLERANCE = 0.015
#: Extra rounding allowance when a dividend is added back (it is a difference of 4 NAVs).
DIVIDEND_ROUNDING_TOLERANCE = 0.02
#: A fund with no previous NAV is anchored on the median of its first rows in the batch.
ANCHOR_ROWS = 5
_EPS = 1e-9  # float slack on bounds, so a value exactly at the bound passes

_NAT = np.datetime64("NaT", "D")


@dataclasses.dataclass(frozen=True)
class RuleContext:
    """What a rule may consult besides the rows: the day being validated, settings, database.

    ``settings`` None means the defaults; ``conn`` None means no stored data (no previous
    NAVs, no fund types, coverage not checked). ``cache`` is per :func:`apply_rules` call.
    """

    as_of: dt.date
    settings: FundSettings | None = None
    conn: Any = None  # a SQLAlchemy Connection, for rules that compare with stored data
    cache: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def config(self) -> FundSettings:
        """The settings, or the defaults when none were given."""
        return self.settings if self.settings is not None else _DEFAULT_SETTINGS


_DEFAULT_SETTINGS = FundSettings()


@dataclasses.dataclass(frozen=True)
class Finding:
    """What a soft rule found: ``ok`` False is a warning; ``value`` the measured figure."""

    ok: bool
    message: str
    value: float | None = None


Check = Callable[[pd.DataFrame, RuleContext], Any]


@dataclasses.dataclass(frozen=True)
class Rule:
    """A named check; ``description`` is the first line of the function's docstring.

    A hard rule's check returns the rows it rejects (with ``reason``); a soft rule's check
    receives the accepted rows and returns a :class:`Finding`.
    """

    name: str
    check: Check
    description: str
    soft: bool = False


#: The rules :func:`apply_rules` runs by default, in order.
RULES: list[Rule] = []


def rule(name: str, *, soft: bool = False) -> Callable[[Check], Check]:
    """Register the decorated function as the rule ``name`` (appended to :data:`RULES`)."""

    def register(check: Check) -> Check:
        if any(r.name == name for r in RULES):
            raise FundPipelineError(f"validation rule {name!r} is defined twice")
        doc = (check.__doc__ or name).strip().splitlines()[0]
        RULES.append(Rule(name, check, doc, soft))
        return check

    return register


# -- the trading-day calendar -------------------------------------------------------------

_WEEKDAYS = np.busdaycalendar(weekmask="1111100")


def trading_calendar() -> np.busdaycalendar:
    """The trading-day calendar every rule uses: Monday to Friday, no holidays yet.

    The one place to swap in an exchange calendar (``np.busdaycalendar(holidays=...)``).
    """
    return _WEEKDAYS


def is_trading_day(days: Any) -> np.ndarray:
    """True where a ``datetime64[D]`` (or date) is a trading day."""
    return np.is_busday(np.asarray(days, dtype="datetime64[D]"), busdaycal=trading_calendar())


def previous_trading_day(days: Any) -> np.ndarray:
    """The last trading day strictly before each day (before a Saturday: the Friday)."""
    days = np.asarray(days, dtype="datetime64[D]")
    return np.busday_offset(days, -1, roll="forward", busdaycal=trading_calendar())


# -- helpers --------------------------------------------------------------------------------


def _rejected(rows: pd.DataFrame, mask: Any, reasons: Any) -> pd.DataFrame:
    """The rows selected by ``mask`` with a ``reason`` column (``reasons`` aligned to them)."""
    mask = np.asarray(mask, dtype=bool)
    out = rows.loc[mask].copy()
    out["reason"] = list(reasons) if not isinstance(reasons, str) else reasons
    return out


def _missing(values: pd.Series, *, blank_text: bool = False) -> np.ndarray:
    """True where a value is missing (or, with ``blank_text``, only whitespace)."""
    missing = values.isna().to_numpy(copy=True)
    if blank_text:
        missing |= values.astype(str).str.strip().eq("").to_numpy()
    return missing


def _floats(rows: pd.DataFrame, column: str) -> np.ndarray:
    if column not in rows.columns:
        return np.full(len(rows), np.nan)
    return rows[column].to_numpy(dtype=float, na_value=np.nan)


def _days(values: pd.Series) -> np.ndarray:
    """``datetime64[D]`` of each value; NaT where it is not a date (or a date-like string)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy().astype("datetime64[D]")
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "empty":
        return np.full(len(values), _NAT)
    if kind in ("date", "datetime"):  # the usual case (staging rows): vectorised
        parsed = pd.to_datetime(values.astype(object), errors="coerce")
        return parsed.to_numpy().astype("datetime64[D]")
    raw = values.to_numpy(dtype=object)
    out = np.full(len(raw), _NAT)
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


def _num(value: float) -> str:
    """A number as published: no trailing zeros, no exponent for NAV-sized values."""
    return f"{value:.10g}"


def _order(rows: pd.DataFrame) -> np.ndarray:
    """Staging order of the rows: their ``id`` if present, else their position."""
    if "id" in rows.columns:
        ids = pd.to_numeric(rows["id"], errors="coerce").to_numpy(dtype=float)
        if not np.isnan(ids).any():
            return ids
    return np.arange(len(rows), dtype=float)


# -- stored data the rules consult (cached per apply_rules call) ----------------------------


def _stored_navs(context: RuleContext, lo: np.datetime64, hi: np.datetime64) -> pd.DataFrame:
    """Stored NAVs that can precede a row dated ``lo`` to ``hi``, in one query.

    The stored rows dated ``lo`` to before ``hi``, plus each fund's last stored row in the
    :data:`REFERENCE_LOOKBACK_DAYS` before ``lo``. Columns ``fund_code``, ``day``
    (datetime64[D]), ``unit_nav``, ``accum_nav``. Empty without a connection.
    """
    cached = context.cache.get("stored_navs")
    if cached is not None and cached[0] <= lo and cached[1] >= hi:
        return cached[2]
    columns = ["fund_code", "nav_date", "unit_nav", "accum_nav"]
    if context.conn is None:
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    else:
        first, last = lo.item(), hi.item()
        start = first - dt.timedelta(days=REFERENCE_LOOKBACK_DAYS)
        latest = (
            sa.select(fund_nav.c.fund_code, sa.func.max(fund_nav.c.nav_date).label("nav_date"))
            .where(fund_nav.c.nav_date >= start, fund_nav.c.nav_date < first)
            .group_by(fund_nav.c.fund_code)
            .subquery()
        )
        cols = [fund_nav.c[c] for c in columns]
        before = sa.select(*cols).select_from(
            fund_nav.join(
                latest,
                sa.and_(fund_nav.c.fund_code == latest.c.fund_code, fund_nav.c.nav_date == latest.c.nav_date),
            )
        )
        within = sa.select(*cols).where(fund_nav.c.nav_date >= first, fund_nav.c.nav_date < last)
        frame = rows_frame(context.conn.execute(sa.union_all(before, within)).all(), columns)
    out = pd.DataFrame(
        {
            "fund_code": frame["fund_code"].astype(object),
            "day": _days(frame["nav_date"]),
            "unit_nav": _floats(frame, "unit_nav"),
            "accum_nav": _floats(frame, "accum_nav"),
        }
    )
    context.cache["stored_navs"] = (lo, hi, out)
    return out


def _fund_types(context: RuleContext) -> dict[str, str]:
    """fund_code -> fund_type from ``fund_info`` (one query, cached); empty without a database."""
    if "fund_types" not in context.cache:
        types: dict[str, str] = {}
        if context.conn is not None:
            found = context.conn.execute(
                sa.select(fund_info.c.fund_code, fund_info.c.fund_type).where(
                    fund_info.c.fund_type.is_not(None)
                )
            ).all()
            types = {code: kind for code, kind in found}
        context.cache["fund_types"] = types
    return context.cache["fund_types"]


# -- previous known NAV, sequentially ---------------------------------------------------------


@dataclasses.dataclass
class _Series:
    """Per-row arrays of a batch (or of the previous known NAV of each row)."""

    day: np.ndarray
    unit: np.ndarray
    accum: np.ndarray
    found: np.ndarray | None = None
    daily_return: np.ndarray | None = None

    def take(self, index: np.ndarray) -> _Series:
        return _Series(
            *(
                None if v is None else v[index]
                for v in (self.day, self.unit, self.accum, self.found, self.daily_return)
            )
        )


def _previous_known(
    q_fund: np.ndarray, q_day: np.ndarray, k_fund: np.ndarray, k_day: np.ndarray, k_rank: np.ndarray
) -> np.ndarray:
    """For each query (fund, day), the index of the known row of that fund with the latest
    day strictly before it (ties on a day: the highest ``k_rank``), or -1."""
    n_q = len(q_fund)
    fund = np.concatenate([q_fund, k_fund])
    day = np.concatenate([q_day, k_day]).astype("datetime64[D]").astype(np.int64)
    kind = np.concatenate([np.zeros(n_q), np.ones(len(k_fund))])  # a query sorts before a known row
    rank = np.concatenate([np.zeros(n_q), k_rank])
    order = np.lexsort((rank, kind, day, fund))
    is_known = order >= n_q
    last = np.maximum.accumulate(np.where(is_known, np.arange(len(order)), -1))
    source = order[np.maximum(last, 0)]
    ok = (last >= 0) & (fund[source] == fund[order])
    found = np.where(ok, source - n_q, -1)
    out = np.empty(len(order), dtype=np.int64)
    out[order] = found
    return out[:n_q]


def _sequential(
    rows: pd.DataFrame, context: RuleContext, check: Callable[[np.ndarray, _Series, _Series], np.ndarray]
) -> tuple[np.ndarray, _Series]:
    """Flag rows by ``check(index, row, previous)``, each against its previous *accepted* NAV.

    The outcome is the one a row-by-row pass in date order would give (a flagged row is no
    reference for later rows), computed by whole-batch passes: start with every row as a
    reference, flag, recompute the references of the funds whose flags changed, until
    nothing changes. Pass k settles at least the k-th row of every fund, so it ends; in
    practice after one pass per consecutive bad row. Returns the flags and each row's
    previous NAV (``found`` False where there is none).
    """
    n = len(rows)
    days = _days(rows["nav_date"])
    cur = _Series(days, _floats(rows, "unit_nav"), _floats(rows, "accum_nav"))
    cur.daily_return = _floats(rows, "daily_return")
    prev = _Series(np.full(n, _NAT), np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=bool))
    flags = np.zeros(n, dtype=bool)
    if n == 0:
        return flags, prev

    stored = _stored_navs(context, days.min(), days.max())
    codes = rows["fund_code"].astype(str).to_numpy(dtype=object)
    ids, uniques = pd.factorize(np.concatenate([codes, stored["fund_code"].to_numpy(dtype=object)]))
    fund, s_fund = ids[:n], ids[n:]
    in_batch = np.zeros(len(uniques), dtype=bool)
    in_batch[fund] = True
    keep = in_batch[s_fund] & (stored["unit_nav"].to_numpy() > 0)
    s_fund = s_fund[keep]
    s_data = _Series(
        stored["day"].to_numpy()[keep],
        stored["unit_nav"].to_numpy()[keep],
        stored["accum_nav"].to_numpy()[keep],
    )
    order = _order(rows)
    b_rank = 1.0 + (order - order.min()) / (np.ptp(order) + 1.0)  # batch rows rank above stored

    todo = np.ones(len(uniques), dtype=bool)
    for _ in range(n + 2):
        sel = np.flatnonzero(todo[fund])
        k_sel = np.flatnonzero(todo[s_fund])
        b_known = sel[~flags[sel]]
        k_fund = np.concatenate([s_fund[k_sel], fund[b_known]])
        k_day = np.concatenate([s_data.day[k_sel], days[b_known]])
        k_rank = np.concatenate([np.zeros(len(k_sel)), b_rank[b_known]])
        k_unit = np.concatenate([s_data.unit[k_sel], cur.unit[b_known]])
        k_accum = np.concatenate([s_data.accum[k_sel], cur.accum[b_known]])
        ref = _previous_known(fund[sel], days[sel], k_fund, k_day, k_rank)
        has = ref >= 0
        prev.found[sel] = has
        if len(k_fund):
            at = np.maximum(ref, 0)
            prev.day[sel] = np.where(has, k_day[at], _NAT)
            prev.unit[sel] = np.where(has, k_unit[at], np.nan)
            prev.accum[sel] = np.where(has, k_accum[at], np.nan)
        else:
            prev.day[sel], prev.unit[sel], prev.accum[sel] = _NAT, np.nan, np.nan
        new = check(sel, cur.take(sel), prev.take(sel))
        changed = new != flags[sel]
        if not changed.any():
            return flags, prev
        flags[sel] = new
        todo = np.zeros(len(uniques), dtype=bool)
        todo[fund[sel[changed]]] = True
    raise FundPipelineError("previous-NAV passes did not settle (a bug in a rule's check)")


def _dividend(cur: _Series, prev: _Series) -> np.ndarray:
    """Cash paid per unit since the previous NAV: the rise of accum_nav - unit_nav, >= 0."""
    paid = (cur.accum - cur.unit) - (prev.accum - prev.unit)
    return np.where(np.isnan(paid), 0.0, np.maximum(paid, 0.0))


def return_tolerance(expected: Any, prev_unit: Any, absolute: float, dividend: Any = 0.0) -> np.ndarray:
    """Allowed |daily_return - expected| in percentage points (see the module docstring)."""
    rounding = NAV_ROUNDING_TOLERANCE + np.where(np.asarray(dividend) > 0, DIVIDEND_ROUNDING_TOLERANCE, 0.0)
    relative = RETURN_RELATIVE_TOLERANCE * np.abs(np.asarray(expected, dtype=float))
    return absolute + relative + rounding / np.asarray(prev_unit, dtype=float)


# -- hard rules -------------------------------------------------------------------------------


@rule("parses")
def parses(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """Every value the source sent must read: no ``parse_error``, nav_date a date."""
    noted = (
        rows["parse_error"].notna().to_numpy() if "parse_error" in rows.columns else np.zeros(len(rows), bool)
    )
    dates = rows["nav_date"]
    unreadable = np.isnat(_days(dates)) & dates.notna().to_numpy()
    bad = noted | unreadable
    reasons = [
        str(note) if has_note else f"nav_date {value!r} is not a date"
        for note, has_note, value in zip(
            rows["parse_error"][bad] if "parse_error" in rows.columns else [None] * int(bad.sum()),
            noted[bad],
            dates[bad],
            strict=True,
        )
    ]
    return _rejected(rows, bad, reasons)


@rule("not_null")
def not_null(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """fund_code, nav_date and unit_nav must be present (a blank code counts as missing)."""
    columns = ["fund_code", "nav_date", "unit_nav"]
    missing = (
        np.column_stack([_missing(rows[c], blank_text=c == "fund_code") for c in columns])
        if len(rows)
        else None
    )
    if missing is None or not missing.any():
        return _rejected(rows, np.zeros(len(rows), bool), [])
    bad = missing.any(axis=1)
    reasons = [
        "missing " + ", ".join(c for c, m in zip(columns, row, strict=True) if m) for row in missing[bad]
    ]
    return _rejected(rows, bad, reasons)


@rule("fund_code_length")
def fund_code_length(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """fund_code must fit fund_nav's column (at most CODE_LENGTH characters)."""
    lengths = rows["fund_code"].astype(str).str.len().to_numpy()
    bad = lengths > CODE_LENGTH
    reasons = [
        f"fund_code {code[:40]!r}... has {len(code)} characters (at most {CODE_LENGTH})"
        for code in rows["fund_code"].astype(str)[bad]
    ]
    return _rejected(rows, bad, reasons)


@rule("date_not_future")
def date_not_future(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """nav_date must not be after the day being validated (``as_of``, never the wall clock)."""
    days = _days(rows["nav_date"])
    bad = days > np.datetime64(context.as_of, "D")
    reasons = [f"nav_date {day} is after the validated day {context.as_of}" for day in days[bad]]
    return _rejected(rows, bad, reasons)


@rule("trading_day")
def trading_day(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """nav_date must be a trading day of :func:`trading_calendar` (for now Monday to Friday)."""
    days = _days(rows["nav_date"])
    bad = ~is_trading_day(days)
    reasons = [f"nav_date {d} is a {d.item():%A}, not a trading day" for d in days[bad]]
    return _rejected(rows, bad, reasons)


@rule("positive_nav")
def positive_nav(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """unit_nav, and accum_nav when given, must be positive finite numbers."""
    unit = _floats(rows, "unit_nav")
    accum = _floats(rows, "accum_nav")
    bad_unit = ~(np.isfinite(unit) & (unit > 0))
    bad_accum = ~np.isnan(accum) & ~(np.isfinite(accum) & (accum > 0))
    bad = bad_unit | bad_accum
    reasons = [
        f"unit_nav={u!r} is not positive" if bu else f"accum_nav={a!r} is not positive"
        for u, a, bu in zip(unit[bad].tolist(), accum[bad].tolist(), bad_unit[bad], strict=True)
    ]
    return _rejected(rows, bad, reasons)


@rule("no_duplicate_key")
def no_duplicate_key(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """A (fund_code, nav_date) may occur once per batch: the first row is kept, later ones go."""
    keys = (["batch_id"] if "batch_id" in rows.columns else []) + KEY
    dup = rows.duplicated(subset=keys, keep="first").to_numpy()
    if not dup.any():
        return _rejected(rows, dup, [])
    ids = rows["id"] if "id" in rows.columns else pd.Series(rows.index, index=rows.index)
    first = ids.groupby([rows[k] for k in keys], sort=False, dropna=False).transform("first")
    reasons = [
        f"duplicate of staging row {f} (fund_code={c!r}, nav_date={d}); the first is kept"
        for f, c, d in zip(first[dup], rows["fund_code"][dup], rows["nav_date"][dup], strict=True)
    ]
    return _rejected(rows, dup, reasons)


def _batch_anchor(rows: pd.DataFrame) -> np.ndarray:
    """Per row: the median unit_nav of its fund's first :data:`ANCHOR_ROWS` rows by date.

    NaN for a fund with fewer than 3 rows (too few for the median to outvote a typo).
    """
    frame = pd.DataFrame(
        {
            "code": rows["fund_code"].astype(str).to_numpy(),
            "day": _days(rows["nav_date"]),
            "unit": _floats(rows, "unit_nav"),
        }
    )
    first = frame.sort_values(["code", "day"], kind="stable").groupby("code", sort=False).head(ANCHOR_ROWS)
    stats = first.groupby("code")["unit"].agg(["median", "size"])
    median = stats["median"].where(stats["size"] >= 3)
    return frame["code"].map(median).to_numpy(dtype=float)


@rule("nav_jump")
def nav_jump(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """unit_nav may not move more than FUND_MAX_JUMP against the fund's previous known NAV.

    A fund without one (new, or the start of a backfill) is compared with the median of its
    first rows in the batch instead, so a typo on its first day cannot become the reference.
    """
    limit = context.config.max_jump
    anchor = _batch_anchor(rows)

    def jumps(index: np.ndarray, cur: _Series, prev: _Series) -> np.ndarray:
        ref = np.where(prev.found, prev.unit, anchor[index])
        return np.abs(cur.unit / ref - 1.0) > limit + _EPS

    bad, prev = _sequential(rows, context, jumps)
    unit = _floats(rows, "unit_nav")
    reasons = []
    for i in np.flatnonzero(bad):
        u, p = unit[i], prev.unit[i] if prev.found[i] else anchor[i]
        against = (
            f"{_num(p)} on {prev.day[i]}"
            if prev.found[i]
            else f"{_num(p)}, the median of the fund's first {ANCHOR_ROWS} NAVs in the batch"
        )
        reasons.append(
            f"unit_nav {_num(u)} is {(u / p - 1) * 100:+.1f}% against {against} (limit ±{limit * 100:g}%)"
        )
    return _rejected(rows, bad, reasons)


@rule("return_consistent")
def return_consistent(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """daily_return must agree with the NAV change against the previous trading day."""
    absolute = context.config.return_tolerance

    def judge(cur: _Series, prev: _Series) -> tuple[np.ndarray, ...]:
        """(bad, expected, tolerance, dividend) of each row against its previous NAV."""
        paid = _dividend(cur, prev)
        adjusted = ((cur.unit + paid) / prev.unit - 1.0) * 100.0
        plain = (cur.unit / prev.unit - 1.0) * 100.0
        r = cur.daily_return
        adjacent = prev.found & (prev.day == previous_trading_day(cur.day))
        tol = return_tolerance(adjusted, prev.unit, absolute, paid)
        off = (np.abs(r - adjusted) > tol) & (
            np.abs(r - plain) > return_tolerance(plain, prev.unit, absolute)
        )
        bad = ~np.isnan(r) & adjacent & off
        return bad, adjusted, tol, paid

    bad, prev = _sequential(rows, context, lambda index, cur, prev: judge(cur, prev)[0])
    at = np.flatnonzero(bad)
    cur = _Series(_days(rows["nav_date"]), _floats(rows, "unit_nav"), _floats(rows, "accum_nav"))
    cur.daily_return = _floats(rows, "daily_return")
    cur, prev = cur.take(at), prev.take(at)
    _, expected, tolerance, paid = judge(cur, prev)
    reasons = []
    for i in range(len(at)):
        r, u, p, d = cur.daily_return[i], cur.unit[i], prev.unit[i], prev.day[i]
        extra = f" with dividend {_num(paid[i])}" if paid[i] > 0 else ""
        reasons.append(
            f"daily_return {_num(r)}% but unit_nav {_num(u)}{extra} against {_num(p)} on {d} is "
            f"{expected[i]:+.2f}% (tolerance {tolerance[i]:.3f} pp)"
        )
    return _rejected(rows, bad, reasons)


@rule("return_bounds")
def return_bounds(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """|daily_return| (else the return implied by the NAVs) within the fund type's bound."""
    settings = context.config
    by_type = settings.type_return_bounds()
    kinds = rows["fund_code"].astype(str).map(_fund_types(context)).astype(object)
    bound_of = {
        k: by_type.get(str(k).strip().casefold(), settings.return_bound) for k in kinds.dropna().unique()
    }
    bounds = kinds.map(bound_of).astype(float).fillna(settings.return_bound).to_numpy()
    kinds = kinds.to_numpy()

    def implied(cur: _Series, prev: _Series) -> np.ndarray:
        adjacent = prev.found & (prev.day == previous_trading_day(cur.day))
        change = ((cur.unit + _dividend(cur, prev)) / prev.unit - 1.0) * 100.0
        return np.where(adjacent, change, np.nan)

    def outside(index: np.ndarray, cur: _Series, prev: _Series) -> np.ndarray:
        r = np.where(np.isnan(cur.daily_return), implied(cur, prev), cur.daily_return)
        return np.abs(r) > bounds[index] + _EPS

    bad, prev = _sequential(rows, context, outside)
    published = ~np.isnan(_floats(rows, "daily_return"))
    cur = _Series(_days(rows["nav_date"]), _floats(rows, "unit_nav"), _floats(rows, "accum_nav"))
    values = np.where(published, _floats(rows, "daily_return"), implied(cur, prev))
    reasons = []
    for i in np.flatnonzero(bad):
        kind = kinds[i] if isinstance(kinds[i], str) and kinds[i] else "no fund type"
        if published[i]:
            what = f"daily_return {_num(values[i])}%"
        else:
            what = (
                f"implied return {values[i]:+.2f}% (unit_nav {_num(cur.unit[i])} against "
                f"{_num(prev.unit[i])} on {prev.day[i]})"
            )
        reasons.append(f"{what} outside ±{_num(bounds[i])}% ({kind})")
    return _rejected(rows, bad, reasons)


# -- soft rules ---------------------------------------------------------------------------------


@rule("coverage", soft=True)
def coverage(accepted: pd.DataFrame, context: RuleContext) -> Finding:
    """At least FUND_MIN_COVERAGE of the active funds have a NAV for as_of (warns only)."""
    day = context.as_of
    if context.conn is None:
        return Finding(True, "not checked: no database")
    if not is_trading_day(np.datetime64(day, "D")):
        return Finding(True, f"not checked: {day} is not a trading day")
    active = set(
        context.conn.execute(
            sa.select(fund_info.c.fund_code).where(fund_info.c.is_active.is_(True))
        ).scalars()
    )
    if not active:
        return Finding(True, "not checked: no active fund in fund_info")
    stored = set(
        context.conn.execute(sa.select(fund_nav.c.fund_code).where(fund_nav.c.nav_date == day)).scalars()
    )
    today = np.asarray(_days(accepted["nav_date"]) == np.datetime64(day, "D"), dtype=bool)
    fresh = set(accepted["fund_code"].astype(str).to_numpy()[today].tolist())
    reported = active & (stored | fresh)
    share = len(reported) / len(active)
    minimum = context.config.min_coverage
    text = f"coverage {share:.1%} ({len(reported)} of {len(active)} active funds have a NAV for {day})"
    if share + _EPS >= minimum:
        return Finding(True, f"{text}, at least FUND_MIN_COVERAGE {minimum:g}", share)
    missing = sorted(active - reported)
    sample = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return Finding(False, f"{text}, below FUND_MIN_COVERAGE {minimum:g}; missing: {sample}", share)


# -- result -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ValidationResult:
    """Outcome of :func:`apply_rules`: accepted rows, rejected rows (+ ``rule``, ``reason``).

    ``counts`` maps every hard rule that ran to the rows it rejected; ``findings`` every soft
    rule to its :class:`Finding`.
    """

    rows_in: int
    counts: dict[str, int]
    accepted: pd.DataFrame = dataclasses.field(repr=False)
    rejected: pd.DataFrame = dataclasses.field(repr=False)
    findings: dict[str, Finding] = dataclasses.field(default_factory=dict)

    @property
    def passed(self) -> list[str]:
        """Rules that rejected nothing (hard) or did not warn (soft)."""
        return [n for n, c in self.counts.items() if c == 0] + [n for n, f in self.findings.items() if f.ok]

    @property
    def failed(self) -> dict[str, int]:
        """Hard rules that rejected rows, with how many."""
        return {name: n for name, n in self.counts.items() if n}

    @property
    def warnings(self) -> list[str]:
        """One line per soft rule that warned: ``"<rule>: <message>"``."""
        return [f"{name}: {f.message}" for name, f in self.findings.items() if not f.ok]

    @property
    def reject_share(self) -> float:
        """Rejected rows as a share of the input (0 for an empty input)."""
        return len(self.rejected) / self.rows_in if self.rows_in else 0.0

    @property
    def is_valid(self) -> bool:
        """At most :data:`MAX_REJECT_SHARE` of the rows rejected and no soft-rule warning."""
        return self.reject_share <= MAX_REJECT_SHARE and not self.warnings


def apply_rules(
    rows: pd.DataFrame, context: RuleContext, rules: Sequence[Rule] | None = None
) -> ValidationResult:
    """Run ``rules`` (default :data:`RULES`) over ``rows``; each row ends in one place.

    Hard rules run in order, each on the rows no earlier one rejected; soft rules then look
    at the accepted rows. Raise :class:`FundPipelineError` naming the rule if a check returns
    rows it was not given or no ``reason`` column, or a soft rule returns no :class:`Finding`.
    """
    context = dataclasses.replace(context, cache={})
    remaining = rows
    rejected: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    soft: list[Rule] = []
    for r in RULES if rules is None else rules:
        if r.soft:
            soft.append(r)
            continue
        bad = r.check(remaining, context)
        if len(bad) and ("reason" not in bad.columns or not bad.index.isin(remaining.index).all()):
            raise FundPipelineError(
                f"validation rule {r.name!r} must return a subset of its input rows with a 'reason' column"
            )
        counts[r.name] = len(bad)
        if len(bad):
            rejected.append(bad.assign(rule=r.name))
            remaining = remaining.drop(index=bad.index)
    findings: dict[str, Finding] = {}
    for r in soft:
        finding = r.check(remaining, context)
        if not isinstance(finding, Finding):
            raise FundPipelineError(f"soft validation rule {r.name!r} must return a Finding")
        findings[r.name] = finding
    columns = [*rows.columns, "reason", "rule"]
    rejected_frame = pd.concat(rejected).sort_index() if rejected else pd.DataFrame(columns=columns)
    return ValidationResult(len(rows), counts, remaining, rejected_frame, findings)
