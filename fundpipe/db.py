"""Small database helpers shared by the pipeline steps: row conversion, upserts."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from fundpipe.errors import FundPipelineError

__all__ = ["CHUNK_ROWS", "chunks", "records", "rows_frame", "upsert", "upsert_frame"]

#: Rows per executemany call: bounds memory and statement size on every backend.
CHUNK_ROWS = 20_000


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
    rows: Sequence[Mapping[str, Any]],
    *,
    update: Sequence[str],
) -> int:
    """Insert ``rows`` into ``table``; a row whose primary key exists overwrites ``update`` columns.

    Every row must have the keys of the first one. Dialect-aware: ``ON CONFLICT DO UPDATE`` on
    SQLite and PostgreSQL, ``ON DUPLICATE KEY UPDATE`` on MySQL/MariaDB. The statement is built
    and compiled once by SQLAlchemy Core and the values travel as bound parameters, one
    ``executemany`` per :data:`CHUNK_ROWS` rows. Returns the number of rows sent.
    """
    if not rows:
        return 0
    keys = list(rows[0])
    try:
        columns = {key: [row[key] for row in rows] for key in keys}
    except KeyError as exc:
        raise FundPipelineError(f"upsert into {table.name}: a row lacks column {exc.args[0]!r}") from None
    return _upsert_columns(conn, table, columns, {}, len(rows), update)


def upsert_frame(
    conn: sa.Connection,
    table: sa.Table,
    frame: pd.DataFrame,
    *,
    update: Sequence[str],
    constants: Mapping[str, Any] | None = None,
) -> int:
    """:func:`upsert` the rows of ``frame`` (one column per table column), with no dict per row.

    ``constants`` gives columns whose value is the same on every row (a run's ``updated_at``,
    say). NaN, NaT and NA become NULL; datetime64 columns are written as dates (see
    :func:`records`). Returns the number of rows sent.
    """
    if frame.empty:
        return 0
    columns = {str(c): _plain_column(frame[c]) for c in frame.columns}
    return _upsert_columns(conn, table, columns, dict(constants or {}), len(frame), update)


def _upsert_statement(dialect: sa.Dialect, table: sa.Table, update: Sequence[str]) -> sa.Insert:
    name = dialect.name
    keys = [c.name for c in table.primary_key.columns]
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(table)
        return lite.on_conflict_do_update(index_elements=keys, set_={c: lite.excluded[c] for c in update})
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        pg = postgresql_insert(table)
        return pg.on_conflict_do_update(index_elements=keys, set_={c: pg.excluded[c] for c in update})
    if name in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        my = mysql_insert(table)
        return my.on_duplicate_key_update({c: my.inserted[c] for c in update})
    raise FundPipelineError(
        f"database dialect {name!r} has no upsert here (supported: sqlite, mysql, mariadb, postgresql)"
    )


def _upsert_columns(
    conn: sa.Connection,
    table: sa.Table,
    columns: dict[str, list[Any]],
    constants: dict[str, Any],
    n: int,
    update: Sequence[str],
) -> int:
    """Send ``n`` rows given column by column (plus constant columns): the work of the upserts.

    SQLAlchemy compiles the statement once; each column's values go through that column's own
    bind processor (a date becomes ISO text on SQLite, exactly as Core would store it), and the
    parameter tuples go to the driver's ``executemany`` through ``Connection.exec_driver_sql``:
    Core's per-row parameter handling, the dominant cost at 10,000 rows, is skipped while
    events, logging and error wrapping stay. A column left out that has a scalar Python-side
    default gets that default; a callable default needs Core's execution context, so such a
    call goes through a plain ``Connection.execute`` instead.
    """
    dialect = conn.dialect
    stmt = _upsert_statement(dialect, table, update)
    given = [*columns, *constants]
    unknown = [key for key in given if key not in table.c]
    if unknown:
        raise FundPipelineError(f"upsert into {table.name}: no column {unknown[0]!r}")
    for column in table.columns:
        if column.key in given or column.default is None:
            continue
        if not isinstance(column.default, ScalarElementColumnDefault):
            rows = [
                {**dict(zip(columns, row, strict=True)), **constants}
                for row in zip(*columns.values(), strict=True)
            ]
            for part in chunks(rows):
                conn.execute(stmt, list(part))
            return n
        constants[column.key] = column.default.arg
    compiled = stmt.compile(dialect=dialect, column_keys=[*columns, *constants])
    names = _bind_order(compiled)
    values: list[Iterable[Any]] = []
    for key in names:
        process = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        if key in constants:
            value = constants[key]
            values.append(itertools.repeat(process(value) if process else value, n))
        elif process is None:
            values.append(columns[key])
        elif _python_type(table.c[key]) is float:  # mostly distinct values, a cheap processor
            values.append(list(map(process, columns[key])))
        else:  # dates, flags: few distinct values, each processed once
            values.append(_memo_map(process, columns[key]))
    if compiled.positional:
        params: list[Any] = list(zip(*values, strict=True))
    else:
        params = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    for part in chunks(params):
        conn.exec_driver_sql(compiled.string, part)
    return n


def _bind_order(compiled: SQLCompiler) -> list[str]:
    """The bound parameter names of an INSERT, in the order the driver expects them."""
    if compiled.positional:
        return list(compiled.positiontup or ())
    return list(compiled.params)


def _python_type(column: sa.Column[Any]) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _memo_map(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """``[process(v) for v in values]``, calling ``process`` once per distinct value."""
    memo: dict[Any, Any] = {}
    try:
        return [memo[v] if v in memo else memo.setdefault(v, process(v)) for v in values]
    except TypeError:  # an unhashable value
        return list(map(process, values))
