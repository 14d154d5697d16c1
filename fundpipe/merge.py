"""Validation run: pending staging rows -> rules -> ``fund_nav`` or ``fund_nav_quarantine``.

Everything happens in one transaction: quarantined rows are inserted, accepted rows upserted
into ``fund_nav`` and the staging rows marked processed together, or not at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fundpipe.db import chunks, records, rows_frame, upsert, utcnow
from fundpipe.schema import fund_nav, fund_nav_quarantine, fund_nav_staging
from fundpipe.validation import RuleContext, ValidationResult, apply_rules

__all__ = ["merge_pending"]

logger = logging.getLogger("fundpipe")

KEY = ["fund_code", "nav_date"]
VALUES = ["unit_nav", "accum_nav", "daily_return"]
_STAGED = ["id", "batch_id", "fund_code", "nav_date", *VALUES, "source"]


def merge_pending(engine: sa.Engine, context: RuleContext) -> tuple[ValidationResult, dict[str, Any]]:
    """Validate every unprocessed staging row (all batches, in staging order) and file it.

    Within a batch the rules decide; across batches a later batch's row for the same key wins
    (it is the newer delivery). Rows equal to what ``fund_nav`` already holds are counted as
    loaded but not rewritten, so a re-run changes nothing; a different value updates the row
    and is logged as a correction. Returns the rule result and a summary with ``staged``,
    ``loaded``, ``quarantined``, ``rules``, ``inserted``, ``updated``, ``unchanged``,
    ``superseded`` and ``batches``.
    """
    now = utcnow()
    pending = fund_nav_staging.c.processed_at.is_(None)
    with engine.begin() as conn:
        last_id = conn.execute(sa.select(sa.func.max(fund_nav_staging.c.id)).where(pending)).scalar()
        if last_id is None:
            result = apply_rules(pd.DataFrame(columns=_STAGED), context)
            return result, _summary(result, (0, 0, 0, 0), [])
        scope = pending & (fund_nav_staging.c.id <= last_id)
        staged = _read_staged(conn, scope)
        result = apply_rules(staged, dataclasses.replace(context, conn=conn))

        _quarantine(conn, result.rejected, now)
        written = _load(conn, result.accepted, now)
        _mark_processed(conn, staged["id"].to_numpy(dtype=np.int64), now)
    batches = sorted(staged["batch_id"].unique().tolist())
    return result, _summary(result, written, batches)


def _summary(
    result: ValidationResult, written: tuple[int, int, int, int], batches: list[str]
) -> dict[str, Any]:
    inserted, updated, unchanged, superseded = written
    return {
        "staged": result.rows_in,
        "loaded": len(result.accepted),
        "quarantined": len(result.rejected),
        "rules": dict(result.counts),
        "inserted": inserted,
        "updated": updated,
        "unchanged": unchanged,
        "superseded": superseded,
        "batches": batches,
    }


def _read_staged(conn: sa.Connection, scope: sa.ColumnElement[bool]) -> pd.DataFrame:
    cols = [fund_nav_staging.c[name] for name in _STAGED]
    rows = conn.execute(sa.select(*cols).where(scope).order_by(fund_nav_staging.c.id)).all()
    frame = rows_frame(rows, _STAGED)
    for col in VALUES:
        frame[col] = frame[col].astype("float64")
    return frame


def _mark_processed(conn: sa.Connection, ids: np.ndarray, now: dt.datetime) -> None:
    """Mark exactly the rows read as processed, one UPDATE per run of consecutive ids.

    Not "every pending id up to the largest": on MySQL a collection committing meanwhile may
    have taken a lower id, and its rows must wait for the next run, not vanish unread.
    """
    ids = np.sort(ids)
    breaks = np.flatnonzero(np.diff(ids) != 1)
    starts = np.r_[ids[:1], ids[breaks + 1]]
    ends = np.r_[ids[breaks], ids[-1:]]
    column = fund_nav_staging.c.id
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        conn.execute(
            sa.update(fund_nav_staging)
            .where(column.between(start, end), fund_nav_staging.c.processed_at.is_(None))
            .values(processed_at=now)
        )


def _quarantine(conn: sa.Connection, rejected: pd.DataFrame, now: dt.datetime) -> None:
    if rejected.empty:
        return
    frame = rejected.rename(columns={"id": "staging_id"})
    rows = records(
        frame, ["staging_id", "batch_id", "fund_code", "nav_date", *VALUES, "source", "rule", "reason"]
    )
    for row in rows:
        row["quarantined_at"] = now
        row["reason"] = row["reason"][:500]
    for part in chunks(rows):
        conn.execute(sa.insert(fund_nav_quarantine), list(part))


def _load(conn: sa.Connection, accepted: pd.DataFrame, now: dt.datetime) -> tuple[int, int, int, int]:
    """Upsert the accepted rows that are new or different.

    Returns (inserted, updated, unchanged, superseded): distinct keys new to ``fund_nav``,
    keys whose values changed, keys already stored as they are, and accepted rows replaced by
    a later batch's row for the same key in this run.
    """
    if accepted.empty:
        return 0, 0, 0, 0
    latest = accepted.drop_duplicates(subset=KEY, keep="last")
    stored = _stored(conn, latest)
    merged = latest.merge(stored, on=KEY, how="left", suffixes=("", "_old"), indicator=True)
    new = (merged["_merge"] == "left_only").to_numpy()
    differs = np.zeros(len(merged), dtype=bool)
    for col in VALUES:
        a = merged[col].to_numpy(dtype=float)
        b = merged[f"{col}_old"].to_numpy(dtype=float)
        differs |= ~((a == b) | (np.isnan(a) & np.isnan(b)))
    changed = ~new & differs
    write = merged.loc[new | changed]
    if changed.any():
        _log_corrections(merged.loc[changed])
    rows = records(write, [*KEY, *VALUES, "source", "batch_id"])
    for row in rows:
        row["updated_at"] = now
    upsert(conn, fund_nav, rows, update=[*VALUES, "source", "batch_id", "updated_at"])
    n_new, n_changed = int(new.sum()), int(changed.sum())
    return n_new, n_changed, len(latest) - n_new - n_changed, len(accepted) - len(latest)


def _stored(conn: sa.Connection, rows: pd.DataFrame) -> pd.DataFrame:
    """Stored fund_nav values for the dates spanned by ``rows`` (one range query)."""
    lo, hi = min(rows["nav_date"]), max(rows["nav_date"])
    cols = [fund_nav.c[name] for name in (*KEY, *VALUES)]
    found = conn.execute(sa.select(*cols).where(fund_nav.c.nav_date.between(lo, hi))).all()
    frame = rows_frame(found, [*KEY, *VALUES])
    for col in VALUES:
        frame[col] = frame[col].astype("float64")
    return frame


def _log_corrections(changed: pd.DataFrame) -> None:
    sample = "; ".join(
        f"{r.fund_code} {r.nav_date}: unit_nav {r.unit_nav_old!r} -> {r.unit_nav!r}, "
        f"accum_nav {r.accum_nav_old!r} -> {r.accum_nav!r}"
        for r in changed.head(5).itertuples()
    )
    more = f" (and {len(changed) - 5} more)" if len(changed) > 5 else ""
    logger.warning("validate: %d stored NAV row(s) corrected: %s%s", len(changed), sample, more)
