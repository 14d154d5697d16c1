"""Small database helpers shared by the pipeline steps: UTC clock, row conversion, upserts."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa

from fundpipe.errors import FundPipelineError

__all__ = ["CHUNK_ROWS", "chunks", "records", "rows_frame", "upsert", "utcnow"]

#: Rows per executemany call: bounds memory and statement size on every backend.
CHUNK_ROWS = 20_000


def utcnow() -> dt.datetime:
    """The current time as a naive UTC datetime, the form every fund table stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def chunks(rows: Sequence[Any], size: int = CHUNK_ROWS) -> Iterable[Sequence[Any]]:
    """Consecutive slices of ``rows`` of at most ``size`` items."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """``frame[columns]`` as a list of plain-Python dicts, with NaN/NaT/NA turned into ``None``."""
    values = [_plain_column(frame[c]) for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def rows_frame(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame from result rows, column by column (object columns keep Python values)."""
    if not rows:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    data = list(zip(*rows, strict=True))
    return pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in zip(columns, data, strict=True)})


def _plain_column(column: pd.Series) -> list[Any]:
    if pd.api.types.is_datetime64_any_dtype(column):
        return [None if pd.isna(v) else v.date() for v in column]
    out = column.to_numpy(dtype=object, na_value=None).tolist()
    if column.dtype == object:
        out = [None if (isinstance(v, float) and math.isnan(v)) or v is pd.NaT else v for v in out]
    return out


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    update: Sequence[str],
) -> int:
    """Insert ``rows`` into ``table``; a row whose primary key exists overwrites ``update`` columns.

    Dialect-aware: ``ON CONFLICT DO UPDATE`` on SQLite and PostgreSQL, ``ON DUPLICATE KEY
    UPDATE`` on MySQL/MariaDB. Values travel as bound parameters in chunks of
    :data:`CHUNK_ROWS`. Returns the number of rows sent.
    """
    if not rows:
        return 0
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key.columns],
            set_={c: stmt.excluded[c] for c in update},
        )
    elif name in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert

        stmt = insert(table)
        stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in update})
    else:
        raise FundPipelineError(
            f"database dialect {name!r} has no upsert here (supported: sqlite, mysql, mariadb, postgresql)"
        )
    for part in chunks(rows):
        conn.execute(stmt, list(part))
    return len(rows)
