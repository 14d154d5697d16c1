"""The bundled validation rules for staged NAV rows, registered in this order.

Each is a function registered with :func:`~fundpipe.validation.engine.rule` (see that module for
how rules run); settings are ``FUND_*`` variables, see :mod:`fundpipe.settings`.

1. ``parses``: every value the source sent was readable (the collector names the unreadable
   ones in the staging row's ``parse_error``: ``unit_nav 'abc' is not a number``).
2. ``not_null``: fund_code, nav_date and unit_nav present.
3. ``fund_code_length``: the code fits ``fund_nav``.
4. ``fund_code_printable``: the code has no control character (CR, LF, ESC, ...: it would forge
   a log line or steer a terminal wherever the code is shown).
5. ``date_not_future``: nav_date is not after ``as_of``, the day being validated (passed in,
   never the wall clock).
6. ``trading_day``: nav_date is a session of the context's calendar (``FUND_CALENDAR``, see
   :mod:`fundpipe.calendar`); the reason names the closure: ``nav_date 2026-10-01 is not a
   trading day (XSHG closed: National Day)``.
7. ``positive_nav``: unit_nav (and accum_nav when given) positive and finite.
8. ``no_duplicate_key``: one row per (fund_code, nav_date) per batch; the first is kept.
9. ``nav_jump``: ``|unit_nav / previous unit_nav - 1| <= FUND_MAX_JUMP`` (0.3). Catches a
   10x typo, which leaves the published return and accum_nav plausible.
10. ``return_consistent``: daily_return agrees with the NAV change (tolerance: see
    :mod:`fundpipe.validation.previous`); catches a stale repeat (yesterday's NAV again with a
    non-zero return).
11. ``return_bounds``: ``|daily_return| <= FUND_RETURN_BOUND`` (10 %), per fund type
    ``FUND_RETURN_BOUNDS_BY_TYPE`` (``bond=5,money_market=1``); without a published return the
    return implied by the NAVs is bounded.
12. ``coverage`` (soft): at least ``FUND_MIN_COVERAGE`` (0.9) of the active funds in
    ``fund_info`` have a NAV for ``as_of`` (stored, or accepted in this run).

Rules 9-11 compare a row with the fund's previous known NAV, found by
:mod:`fundpipe.validation.previous` (which also explains how).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fund_common.escaping import control_characters
from fundpipe.calendar import previous_trading_days, trading_day_mask
from fundpipe.schema import CODE_LENGTH, fund_info, fund_nav
from fundpipe.validation.columns import as_days, as_floats, is_missing, num, reject
from fundpipe.validation.engine import Finding, RuleContext, rule
from fundpipe.validation.previous import (
    ANCHOR_ROWS,
    Series,
    batch_anchor,
    batch_series,
    dividend,
    fund_types,
    return_tolerance,
    sequential,
)

__all__ = [
    "coverage",
    "date_not_future",
    "fund_code_length",
    "fund_code_printable",
    "nav_jump",
    "no_duplicate_key",
    "not_null",
    "parses",
    "positive_nav",
    "return_bounds",
    "return_consistent",
    "trading_day",
]

KEY = ["fund_code", "nav_date"]
_EPS = 1e-9  # float slack on bounds, so a value exactly at the bound passes


# -- hard rules -------------------------------------------------------------------------------


@rule("parses")
def parses(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """Every value the source sent must read: no ``parse_error``, nav_date a date."""
    noted = (
        rows["parse_error"].notna().to_numpy() if "parse_error" in rows.columns else np.zeros(len(rows), bool)
    )
    dates = rows["nav_date"]
    unreadable = np.isnat(as_days(dates)) & dates.notna().to_numpy()
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
    return reject(rows, bad, reasons)


@rule("not_null")
def not_null(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """fund_code, nav_date and unit_nav must be present (a blank code counts as missing)."""
    columns = ["fund_code", "nav_date", "unit_nav"]
    missing = (
        np.column_stack([is_missing(rows[c], blank_text=c == "fund_code") for c in columns])
        if len(rows)
        else None
    )
    if missing is None or not missing.any():
        return reject(rows, np.zeros(len(rows), bool), [])
    bad = missing.any(axis=1)
    reasons = [
        "missing " + ", ".join(c for c, m in zip(columns, row, strict=True) if m) for row in missing[bad]
    ]
    return reject(rows, bad, reasons)


@rule("fund_code_length")
def fund_code_length(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """fund_code must fit fund_nav's column (at most CODE_LENGTH characters)."""
    lengths = rows["fund_code"].astype(str).str.len().to_numpy()
    bad = lengths > CODE_LENGTH
    reasons = [
        f"fund_code {code[:40]!r}... has {len(code)} characters (at most {CODE_LENGTH})"
        for code in rows["fund_code"].astype(str)[bad]
    ]
    return reject(rows, bad, reasons)


@rule("fund_code_printable")
def fund_code_printable(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """fund_code must be printable: no control character (CR, LF, ESC, ...) in it."""
    codes = rows["fund_code"].astype(str)
    found = [control_characters(code) for code in codes]
    bad = np.array([bool(f) for f in found], dtype=bool)
    reasons = [
        f"fund_code {code!r} holds control characters ({' '.join(dict.fromkeys(f))})"
        for code, f in zip(codes[bad], (f for f in found if f), strict=True)
    ]
    return reject(rows, bad, reasons)


@rule("date_not_future")
def date_not_future(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """nav_date must not be after the day being validated (``as_of``, never the wall clock)."""
    days = as_days(rows["nav_date"])
    bad = days > np.datetime64(context.as_of, "D")
    reasons = [f"nav_date {day} is after the validated day {context.as_of}" for day in days[bad]]
    return reject(rows, bad, reasons)


@rule("trading_day")
def trading_day(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """nav_date must be a session of the trading calendar (``FUND_CALENDAR``)."""
    calendar = context.sessions
    days = as_days(rows["nav_date"])
    bad = ~trading_day_mask(calendar, days)
    reasons = [f"nav_date {d} is not a trading day ({calendar.closure(d.item())})" for d in days[bad]]
    return reject(rows, bad, reasons)


@rule("positive_nav")
def positive_nav(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """unit_nav, and accum_nav when given, must be positive finite numbers."""
    unit = as_floats(rows, "unit_nav")
    accum = as_floats(rows, "accum_nav")
    bad_unit = ~(np.isfinite(unit) & (unit > 0))
    bad_accum = ~np.isnan(accum) & ~(np.isfinite(accum) & (accum > 0))
    bad = bad_unit | bad_accum
    reasons = [
        f"unit_nav={u!r} is not positive" if bu else f"accum_nav={a!r} is not positive"
        for u, a, bu in zip(unit[bad].tolist(), accum[bad].tolist(), bad_unit[bad], strict=True)
    ]
    return reject(rows, bad, reasons)


@rule("no_duplicate_key")
def no_duplicate_key(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """A (fund_code, nav_date) may occur once per batch: the first row is kept, later ones go."""
    keys = (["batch_id"] if "batch_id" in rows.columns else []) + KEY
    dup = rows.duplicated(subset=keys, keep="first").to_numpy()
    if not dup.any():
        return reject(rows, dup, [])
    ids = rows["id"] if "id" in rows.columns else pd.Series(rows.index, index=rows.index)
    first = ids.groupby([rows[k] for k in keys], sort=False, dropna=False).transform("first")
    reasons = [
        f"duplicate of staging row {f} (fund_code={c!r}, nav_date={d}); the first is kept"
        for f, c, d in zip(first[dup], rows["fund_code"][dup], rows["nav_date"][dup], strict=True)
    ]
    return reject(rows, dup, reasons)


@rule("nav_jump")
def nav_jump(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """unit_nav may not move more than FUND_MAX_JUMP against the fund's previous known NAV.

    A fund without one (new, or the start of a backfill) is compared with the median of its
    first rows in the batch instead, so a typo on its first day cannot become the reference.
    """
    limit = context.config.max_jump
    anchor = batch_anchor(rows)

    def jumps(index: np.ndarray, cur: Series, prev: Series) -> np.ndarray:
        ref = np.where(prev.found, prev.unit, anchor[index])
        return np.abs(cur.unit / ref - 1.0) > limit + _EPS

    bad, prev = sequential(rows, context, jumps)
    unit = as_floats(rows, "unit_nav")
    reasons = []
    for i in np.flatnonzero(bad):
        u, p = unit[i], prev.unit[i] if prev.found[i] else anchor[i]
        against = (
            f"{num(p)} on {prev.day[i]}"
            if prev.found[i]
            else f"{num(p)}, the median of the fund's first {ANCHOR_ROWS} NAVs in the batch"
        )
        reasons.append(
            f"unit_nav {num(u)} is {(u / p - 1) * 100:+.1f}% against {against} (limit ±{limit * 100:g}%)"
        )
    return reject(rows, bad, reasons)


@rule("return_consistent")
def return_consistent(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """daily_return must agree with the NAV change against the previous session."""
    absolute = context.config.return_tolerance
    calendar = context.sessions

    def judge(cur: Series, prev: Series) -> tuple[np.ndarray, ...]:
        """(bad, expected, tolerance, dividend) of each row against its previous NAV."""
        paid = dividend(cur, prev)
        adjusted = ((cur.unit + paid) / prev.unit - 1.0) * 100.0
        plain = (cur.unit / prev.unit - 1.0) * 100.0
        r = cur.daily_return
        adjacent = prev.found & (prev.day == previous_trading_days(calendar, cur.day))
        tol = return_tolerance(adjusted, prev.unit, absolute, paid)
        off = (np.abs(r - adjusted) > tol) & (
            np.abs(r - plain) > return_tolerance(plain, prev.unit, absolute)
        )
        bad = ~np.isnan(r) & adjacent & off
        return bad, adjusted, tol, paid

    bad, prev = sequential(rows, context, lambda index, cur, prev: judge(cur, prev)[0])
    at = np.flatnonzero(bad)
    cur, prev = batch_series(rows).take(at), prev.take(at)
    _, expected, tolerance, paid = judge(cur, prev)
    reasons = []
    for i in range(len(at)):
        r, u, p, d = cur.daily_return[i], cur.unit[i], prev.unit[i], prev.day[i]
        extra = f" with dividend {num(paid[i])}" if paid[i] > 0 else ""
        reasons.append(
            f"daily_return {num(r)}% but unit_nav {num(u)}{extra} against {num(p)} on {d} is "
            f"{expected[i]:+.2f}% (tolerance {tolerance[i]:.3f} pp)"
        )
    return reject(rows, bad, reasons)


@rule("return_bounds")
def return_bounds(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """|daily_return| (else the return implied by the NAVs) within the fund type's bound."""
    settings = context.config
    by_type = settings.type_return_bounds()
    kinds = rows["fund_code"].astype(str).map(fund_types(context)).astype(object)
    bound_of = {
        k: by_type.get(str(k).strip().casefold(), settings.return_bound) for k in kinds.dropna().unique()
    }
    bounds = kinds.map(bound_of).astype(float).fillna(settings.return_bound).to_numpy()
    kinds = kinds.to_numpy()
    calendar = context.sessions

    def implied(cur: Series, prev: Series) -> np.ndarray:
        adjacent = prev.found & (prev.day == previous_trading_days(calendar, cur.day))
        change = ((cur.unit + dividend(cur, prev)) / prev.unit - 1.0) * 100.0
        return np.where(adjacent, change, np.nan)

    def outside(index: np.ndarray, cur: Series, prev: Series) -> np.ndarray:
        r = np.where(np.isnan(cur.daily_return), implied(cur, prev), cur.daily_return)
        return np.abs(r) > bounds[index] + _EPS

    bad, prev = sequential(rows, context, outside)
    published = ~np.isnan(as_floats(rows, "daily_return"))
    cur = batch_series(rows)
    values = np.where(published, as_floats(rows, "daily_return"), implied(cur, prev))
    reasons = []
    for i in np.flatnonzero(bad):
        kind = kinds[i] if isinstance(kinds[i], str) and kinds[i] else "no fund type"
        if published[i]:
            what = f"daily_return {num(values[i])}%"
        else:
            what = (
                f"implied return {values[i]:+.2f}% (unit_nav {num(cur.unit[i])} against "
                f"{num(prev.unit[i])} on {prev.day[i]})"
            )
        reasons.append(f"{what} outside ±{num(bounds[i])}% ({kind})")
    return reject(rows, bad, reasons)


# -- soft rules ---------------------------------------------------------------------------------


@rule("coverage", soft=True)
def coverage(accepted: pd.DataFrame, context: RuleContext) -> Finding:
    """At least FUND_MIN_COVERAGE of the active funds have a NAV for as_of (warns only)."""
    day = context.as_of
    if context.conn is None:
        return Finding(True, "not checked: no database")
    closed = context.sessions.closure(day)
    if closed:
        return Finding(True, f"not checked: {day} is not a trading day ({closed})")
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
    today = np.asarray(as_days(accepted["nav_date"]) == np.datetime64(day, "D"), dtype=bool)
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
