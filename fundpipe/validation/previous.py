"""The previous known NAV of each staged row, and what the return rules derive from it.

**Previous NAV.** The rules ``nav_jump``, ``return_consistent`` and ``return_bounds`` compare a
row with the fund's previous known NAV: the latest row before its date among the rows accepted
so far in the batch (a later batch's row wins on the same date) and the stored ``fund_nav``
rows (one query for the whole batch: the stored rows of the batch's date span plus each fund's
last stored row up to :data:`REFERENCE_LOOKBACK_DAYS` before it, see :func:`stored_navs`). A
row a rule rejects is not a reference for the rows after it, so one bad day quarantines that
row, not its successor as well; the rules reach that sequential outcome with a few vectorised
passes (see :func:`sequential`). A fund with no known NAV (new, or the first days of a
backfill) is compared by ``nav_jump`` with the median of its first :data:`ANCHOR_ROWS` rows in
the batch (:func:`batch_anchor`), so a typo on day one does not become the reference; the
return rules skip it.

**Return consistency.** Checked when daily_return is published and the previous known NAV is
from the previous session of the trading calendar (so the return's base is known: after the
National Day week, 2026-10-08 is compared with 2026-09-30). The expected return is
``(unit_nav + dividend) / prev_unit_nav - 1`` in percent, where ``dividend`` is the rise of
``accum_nav - unit_nav`` since that day (cash paid per unit; 0 when an accum_nav is missing;
a fall counts as 0, so a unit-NAV typo cannot pass as a negative dividend; see
:func:`dividend`). The unadjusted change ``unit_nav / prev_unit_nav - 1`` is also accepted
(some sources publish that). Comparing accum_nav changes instead would be wrong: accum_nav is
unit NAV plus dividends *not* reinvested, so its change understates the return of a fund that
has paid out. Tolerance (:func:`return_tolerance`), in percentage points:
``FUND_RETURN_TOLERANCE`` (0.01: the 2-decimal rounding of the published return, 0.005, with a
margin) ``+ 1 % of |expected|`` (sources computing the return slightly differently)
``+ 0.015 / prev_unit_nav`` (two NAVs rounded to 4 decimals; ``+ 0.02 / prev_unit_nav`` more
when a dividend is added back). At a NAV of 1 and a flat day that is 0.025 pp: a stale repeat
is caught whenever its return is at least 0.03 %; below that, a repeated NAV is
indistinguishable from a genuinely flat day. Not checked (documented gaps): the row after a
missing or rejected day, and after a closure the calendar does not know (the return's base
is unknown), so a NAV repeated two days running is caught on the first day only; and the
first row of a fund with no stored history (if it is a stale repeat, the second row is the one
quarantined).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fundpipe.db import rows_frame
from fundpipe.errors import FundPipelineError
from fundpipe.schema import fund_info, fund_nav
from fundpipe.validation.columns import NAT, as_date, as_days, as_floats, staging_order
from fundpipe.validation.engine import RuleContext

__all__ = [
    "ANCHOR_ROWS",
    "REFERENCE_LOOKBACK_DAYS",
    "Series",
    "batch_anchor",
    "batch_series",
    "dividend",
    "fund_types",
    "return_tolerance",
    "sequential",
    "stored_navs",
]

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


# -- stored data the rules consult (cached per apply_rules call) ----------------------------


def stored_navs(context: RuleContext, lo: np.datetime64, hi: np.datetime64) -> pd.DataFrame:
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
        first, last = as_date(lo), as_date(hi)
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
            "day": as_days(frame["nav_date"]),
            "unit_nav": as_floats(frame, "unit_nav"),
            "accum_nav": as_floats(frame, "accum_nav"),
        }
    )
    context.cache["stored_navs"] = (lo, hi, out)
    return out


def fund_types(context: RuleContext) -> dict[str, str]:
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
class Series:
    """Per-row arrays of a batch (or of the previous known NAV of each row: ``found`` False
    where there is none)."""

    day: np.ndarray
    unit: np.ndarray
    accum: np.ndarray
    found: np.ndarray
    daily_return: np.ndarray

    def take(self, index: np.ndarray) -> Series:
        return Series(
            self.day[index], self.unit[index], self.accum[index], self.found[index], self.daily_return[index]
        )


def batch_series(rows: pd.DataFrame) -> Series:
    """The batch's own values: date, unit_nav, accum_nav and daily_return of each row."""
    return Series(
        as_days(rows["nav_date"]),
        as_floats(rows, "unit_nav"),
        as_floats(rows, "accum_nav"),
        np.ones(len(rows), dtype=bool),
        as_floats(rows, "daily_return"),
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
    ordered = np.lexsort((rank, kind, day, fund))
    is_known = ordered >= n_q
    last = np.maximum.accumulate(np.where(is_known, np.arange(len(ordered)), -1))
    source = ordered[np.maximum(last, 0)]
    ok = (last >= 0) & (fund[source] == fund[ordered])
    found = np.where(ok, source - n_q, -1)
    out = np.empty(len(ordered), dtype=np.int64)
    out[ordered] = found
    return out[:n_q]


def sequential(
    rows: pd.DataFrame, context: RuleContext, check: Callable[[np.ndarray, Series, Series], np.ndarray]
) -> tuple[np.ndarray, Series]:
    """Flag rows by ``check(index, row, previous)``, each against its previous *accepted* NAV.

    The outcome is the one a row-by-row pass in date order would give (a flagged row is no
    reference for later rows), computed by whole-batch passes: start with every row as a
    reference, flag, recompute the references of the funds whose flags changed, until
    nothing changes. Pass k settles at least the k-th row of every fund, so it ends; in
    practice after one pass per consecutive bad row. Returns the flags and each row's
    previous NAV (``found`` False where there is none).
    """
    n = len(rows)
    cur = batch_series(rows)
    nav_days = cur.day
    prev = Series(
        np.full(n, NAT), np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=bool), np.full(n, np.nan)
    )
    flags = np.zeros(n, dtype=bool)
    if n == 0:
        return flags, prev

    stored = stored_navs(context, nav_days.min(), nav_days.max())
    codes = rows["fund_code"].astype(str).to_numpy(dtype=object)
    ids, uniques = pd.factorize(np.concatenate([codes, stored["fund_code"].to_numpy(dtype=object)]))
    fund, s_fund = ids[:n], ids[n:]
    in_batch = np.zeros(len(uniques), dtype=bool)
    in_batch[fund] = True
    keep = in_batch[s_fund] & (stored["unit_nav"].to_numpy() > 0)
    s_fund = s_fund[keep]
    s_day = stored["day"].to_numpy()[keep]
    s_unit = stored["unit_nav"].to_numpy()[keep]
    s_accum = stored["accum_nav"].to_numpy()[keep]
    staged = staging_order(rows)
    b_rank = 1.0 + (staged - staged.min()) / (np.ptp(staged) + 1.0)  # batch rows rank above stored

    todo = np.ones(len(uniques), dtype=bool)
    for _ in range(n + 2):
        sel = np.flatnonzero(todo[fund])
        k_sel = np.flatnonzero(todo[s_fund])
        b_known = sel[~flags[sel]]
        k_fund = np.concatenate([s_fund[k_sel], fund[b_known]])
        k_day = np.concatenate([s_day[k_sel], nav_days[b_known]])
        k_rank = np.concatenate([np.zeros(len(k_sel)), b_rank[b_known]])
        k_unit = np.concatenate([s_unit[k_sel], cur.unit[b_known]])
        k_accum = np.concatenate([s_accum[k_sel], cur.accum[b_known]])
        ref = _previous_known(fund[sel], nav_days[sel], k_fund, k_day, k_rank)
        has = ref >= 0
        prev.found[sel] = has
        if len(k_fund):
            at = np.maximum(ref, 0)
            prev.day[sel] = np.where(has, k_day[at], NAT)
            prev.unit[sel] = np.where(has, k_unit[at], np.nan)
            prev.accum[sel] = np.where(has, k_accum[at], np.nan)
        else:
            prev.day[sel], prev.unit[sel], prev.accum[sel] = NAT, np.nan, np.nan
        new = check(sel, cur.take(sel), prev.take(sel))
        changed = new != flags[sel]
        if not changed.any():
            return flags, prev
        flags[sel] = new
        todo = np.zeros(len(uniques), dtype=bool)
        todo[fund[sel[changed]]] = True
    raise FundPipelineError("previous-NAV passes did not settle (a bug in a rule's check)")


def batch_anchor(rows: pd.DataFrame) -> np.ndarray:
    """Per row: the median unit_nav of its fund's first :data:`ANCHOR_ROWS` rows by date.

    NaN for a fund with fewer than 3 rows (too few for the median to outvote a typo).
    """
    frame = pd.DataFrame(
        {
            "code": rows["fund_code"].astype(str).to_numpy(),
            "day": as_days(rows["nav_date"]),
            "unit": as_floats(rows, "unit_nav"),
        }
    )
    first = frame.sort_values(["code", "day"], kind="stable").groupby("code", sort=False).head(ANCHOR_ROWS)
    stats = first.groupby("code")["unit"].agg(["median", "size"])
    median = stats["median"].where(stats["size"] >= 3)
    return frame["code"].map(median).to_numpy(dtype=float)


def dividend(cur: Series, prev: Series) -> np.ndarray:
    """Cash paid per unit since the previous NAV: the rise of accum_nav - unit_nav, >= 0."""
    paid = (cur.accum - cur.unit) - (prev.accum - prev.unit)
    return np.where(np.isnan(paid), 0.0, np.maximum(paid, 0.0))


def return_tolerance(expected: Any, prev_unit: Any, absolute: float, dividend: Any = 0.0) -> np.ndarray:
    """Allowed |daily_return - expected| in percentage points (see the module docstring)."""
    rounding = NAV_ROUNDING_TOLERANCE + np.where(np.asarray(dividend) > 0, DIVIDEND_ROUNDING_TOLERANCE, 0.0)
    relative = RETURN_RELATIVE_TOLERANCE * np.abs(np.asarray(expected, dtype=float))
    return absolute + relative + rounding / np.asarray(prev_unit, dtype=float)
