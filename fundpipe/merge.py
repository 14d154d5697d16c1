"""Validation run: pending staging rows -> rules -> ``fund_nav`` or ``fund_nav_quarantine``.

Everything happens in one transaction: quarantined rows are inserted, accepted rows upserted
into ``fund_nav``, corrections recorded in ``fund_nav_corrections`` and the staging rows
marked processed together, or not at all. Every staged row ends in exactly one place:
``loaded + quarantined == staged`` is checked on what was written, before the commit; a
mismatch raises :class:`~fundpipe.errors.FundPipelineError` and rolls the run back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fund_common.clock import utcnow_naive
from fundpipe.db import chunks, records, rows_frame, upsert
from fundpipe.errors import FundPipelineError
from fundpipe.schema import fund_nav, fund_nav_corrections, fund_nav_quarantine, fund_nav_staging
from fundpipe.validation import RuleContext, ValidationResult, apply_rules

__all__ = ["merge_pending"]

logger = logging.getLogger("fundpipe")

KEY = ["fund_code", "nav_date"]
VALUES = ["unit_nav", "accum_nav", "daily_return"]
_STAGED = ["id", "batch_id", "fund_code", "nav_date", *VALUES, "source", "parse_error"]


def merge_pending(engine: sa.Engine, context: RuleContext) -> tuple[ValidationResult, dict[str, Any]]:
    """Validate every unprocessed staging row (all batches, in staging order) and file it.

    Within a batch the rules decide; across batches a later batch's row for the same key wins
    (it is the newer delivery). Rows equal to what ``fund_nav`` already holds are counted as
    loaded but not rewritten, so a re-run changes nothing; a different value updates the row,
    is logged as a correction and recorded in ``fund_nav_corrections``. The rules run even
    when nothing is pending, so the coverage of ``context.as_of`` is still reported.
    Returns the rule result and a summary with ``staged``, ``loaded``, ``quarantined``,
    ``rules``, ``inserted``, ``updated``, ``unchanged``, ``superseded``, ``batches``,
    ``warnings``, ``coverage`` (share or None), ``is_valid`` and ``corrections`` (up to 5
    "code date: old -> new" lines).
    """
    now = utcnow_naive()
    pending = fund_nav_staging.c.processed_at.is_(None)
    with engine.begin() as conn:
        context = dataclasses.replace(context, conn=conn)
        last_id = conn.execute(sa.select(sa.func.max(fund_nav_staging.c.id)).where(pending)).scalar()
        if last_id is None:
            result = apply_rules(_empty_staged(), context)
            return result, _summary(result, _Written(), [])
        scope = pending & (fund_nav_staging.c.id <= last_id)
        staged = _read_staged(conn, scope)
        result = apply_rules(staged, context)
        _check_accounting(staged, result)

        quarantined = _quarantine(conn, result.rejected, now)
        written = _load(conn, result.accepted, now)
        marked = _mark_processed(conn, staged["id"].to_numpy(dtype=np.int64), now)
        loaded = written.inserted + written.updated + written.unchanged + written.superseded
        if (loaded, quarantined, marked) != (len(result.accepted), len(result.rejected), len(staged)):
            raise FundPipelineError(
                f"validate: accounting broken, rolled back: {len(staged)} staged rows, "
                f"{marked} marked processed, {loaded} loaded + {quarantined} quarantined"
            )
    batches = sorted(staged["batch_id"].unique().tolist())
    return result, _summary(result, written, batches)


@dataclasses.dataclass
class _Written:
    """What :func:`_load` did with the accepted rows."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    corrections: list[str] = dataclasses.field(default_factory=list)


def _empty_staged() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in _STAGED})
    for col in VALUES:
        frame[col] = frame[col].astype("float64")
    return frame


def _check_accounting(staged: pd.DataFrame, result: ValidationResult) -> None:
    """Raise unless every staged row is either accepted or rejected, exactly once."""
    accepted, rejected = result.accepted["id"], result.rejected["id"]
    ids = staged["id"]
    if (
        len(accepted) + len(rejected) != len(staged)
        or accepted.duplicated().any()
        or rejected.duplicated().any()
        or not set(accepted).isdisjoint(rejected)
        or set(accepted) | set(rejected) != set(ids)
    ):
        raise FundPipelineError(
            f"validate: accounting broken: {len(staged)} staged rows but {len(accepted)} accepted "
            f"+ {len(rejected)} rejected, or a row in both or neither"
        )


def _summary(result: ValidationResult, written: _Written, batches: list[str]) -> dict[str, Any]:
    coverage = result.findings.get("coverage")
    return {
        "staged": result.rows_in,
        "loaded": len(result.accepted),
        "quarantined": len(result.rejected),
        "rules": dict(result.counts),
        "inserted": written.inserted,
        "updated": written.updated,
        "unchanged": written.unchanged,
        "superseded": written.superseded,
        "batches": batches,
        "warnings": result.warnings,
        "coverage": None if coverage is None or coverage.value is None else round(coverage.value, 6),
        "is_valid": result.is_valid,
        "corrections": written.corrections,
    }


def _read_staged(conn: sa.Connection, scope: sa.ColumnElement[bool]) -> pd.DataFrame:
    cols = [fund_nav_staging.c[name] for name in _STAGED]
    rows = conn.execute(sa.select(*cols).where(scope).order_by(fund_nav_staging.c.id)).all()
    frame = rows_frame(rows, _STAGED)
    for col in VALUES:
        frame[col] = frame[col].astype("float64")
    return frame


def _mark_processed(conn: sa.Connection, ids: np.ndarray, now: dt.datetime) -> int:
    """Mark exactly the rows read as processed, one UPDATE per run of consecutive ids.

    Not "every pending id up to the largest": on MySQL a collection committing meanwhile may
    have taken a lower id, and its rows must wait for the next run, not vanish unread.
    Returns the number of rows marked.
    """
    ids = np.sort(ids)
    breaks = np.flatnonzero(np.diff(ids) != 1)
    starts = np.r_[ids[:1], ids[breaks + 1]]
    ends = np.r_[ids[breaks], ids[-1:]]
    column = fund_nav_staging.c.id
    marked = 0
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        marked += conn.execute(
            sa.update(fund_nav_staging)
            .where(column.between(start, end), fund_nav_staging.c.processed_at.is_(None))
            .values(processed_at=now)
        ).rowcount
    return marked


def _quarantine(conn: sa.Connection, rejected: pd.DataFrame, now: dt.datetime) -> int:
    """Insert the rejected rows with their rule and reason; returns how many."""
    if rejected.empty:
        return 0
    frame = rejected.rename(columns={"id": "staging_id"})
    rows = records(
        frame, ["staging_id", "batch_id", "fund_code", "nav_date", *VALUES, "source", "rule", "reason"]
    )
    for row in rows:
        row["quarantined_at"] = now
        row["reason"] = row["reason"][:500]
    for part in chunks(rows):
        conn.execute(sa.insert(fund_nav_quarantine), list(part))
    return len(rows)


def _load(conn: sa.Connection, accepted: pd.DataFrame, now: dt.datetime) -> _Written:
    """Upsert the accepted rows that are new or different; record the corrections.

    Counts distinct keys new to ``fund_nav`` (inserted), keys whose values changed
    (updated: each also gets a ``fund_nav_corrections`` row), keys already stored as they are
    (unchanged) and accepted rows replaced by a later batch's row for the same key in this
    run (superseded).
    """
    if accepted.empty:
        return _Written()
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
    corrections: list[str] = []
    if changed.any():
        corrections = _record_corrections(conn, merged.loc[changed], now)
    rows = records(write, [*KEY, *VALUES, "source", "batch_id"])
    for row in rows:
        row["updated_at"] = now
    upsert(conn, fund_nav, rows, update=[*VALUES, "source", "batch_id", "updated_at"])
    n_new, n_changed = int(new.sum()), int(changed.sum())
    return _Written(
        n_new, n_changed, len(latest) - n_new - n_changed, len(accepted) - len(latest), corrections
    )


def _stored(conn: sa.Connection, rows: pd.DataFrame) -> pd.DataFrame:
    """Stored fund_nav values for the dates spanned by ``rows`` (one range query)."""
    lo, hi = min(rows["nav_date"]), max(rows["nav_date"])
    names = [*KEY, *VALUES, "batch_id"]
    cols = [fund_nav.c[name] for name in names]
    found = conn.execute(sa.select(*cols).where(fund_nav.c.nav_date.between(lo, hi))).all()
    frame = rows_frame(found, names)
    for col in VALUES:
        frame[col] = frame[col].astype("float64")
    return frame


def _record_corrections(conn: sa.Connection, changed: pd.DataFrame, now: dt.datetime) -> list[str]:
    """Write one ``fund_nav_corrections`` row per changed key, log them; returns up to 5 lines."""
    frame = changed.rename(
        columns={
            **{col: f"new_{col}" for col in VALUES},
            **{f"{col}_old": f"old_{col}" for col in VALUES},
        }
    )
    columns = [
        *KEY,
        *(f"{age}_{col}" for col in VALUES for age in ("old", "new")),
        "batch_id_old",
        "batch_id",
    ]
    rows = records(frame, columns)
    for row in rows:
        row["old_batch_id"] = row.pop("batch_id_old")
        row["corrected_at"] = now
    for part in chunks(rows):
        conn.execute(sa.insert(fund_nav_corrections), list(part))
    lines = [
        f"{r['fund_code']} {r['nav_date']}: unit_nav {r['old_unit_nav']!r} -> {r['new_unit_nav']!r}, "
        f"accum_nav {r['old_accum_nav']!r} -> {r['new_accum_nav']!r}, "
        f"daily_return {r['old_daily_return']!r} -> {r['new_daily_return']!r}"
        for r in rows[:5]
    ]
    more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
    logger.warning("validate: %d stored NAV row(s) corrected: %s%s", len(rows), "; ".join(lines), more)
    return lines
