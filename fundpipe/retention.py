"""Retention: purge processed staging rows once they are old enough."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from fundpipe.schema import fund_nav_staging

__all__ = ["purge_staging"]


def purge_staging(engine: sa.Engine, older_than: dt.datetime) -> int:
    """Delete processed staging rows collected before ``older_than`` (naive UTC); return count.

    Unprocessed rows are never purged, whatever their age: they still wait for validation.
    """
    with engine.begin() as conn:
        result = conn.execute(
            sa.delete(fund_nav_staging).where(
                fund_nav_staging.c.processed_at.is_not(None),
                fund_nav_staging.c.collected_at < older_than,
            )
        )
    return int(result.rowcount or 0)
