"""Read a window of ``fund_nav`` into dates x funds matrices: fast, exact, one snapshot.

At 5,000 funds x 757 dates the window is 3.8 million rows. The database finds them quickly;
what costs is the Python objects a driver builds per row (a tuple, a code, a date, two
floats: about 0.6 us a row with SQLite, more than everything else in the metrics job
together). So there are two ways in, both giving the same :class:`NavWindow` to the last bit:

**Packed (SQLite, MySQL/MariaDB).** The database groups the rows by fund itself (``fund_nav``
is stored in primary-key order, see :mod:`fundpipe.schema`) and hands back one row per fund: the fund's
dates concatenated (``nav_date`` is fixed-width ISO text) and its NAVs as decimal integers,
``round(nav * 1e8)``, comma-separated; numpy parses those strings in bulk. The transport is
exact, not approximate: the statement also checks, row by row, that ``integer / 1e8`` gives
back the stored double bit for bit (IEEE division is correctly rounded, the same in SQLite
and numpy), which holds for every positive NAV with up to 8 decimals -- published NAVs have 4.
If any value in the window fails the check (or a date is not ``YYYY-MM-DD``), the packed
result is discarded and the window is read row by row instead: slower, never wrong. A small
database is read in one statement; a large one in fund-code ranges on parallel threads
(:func:`_read_packed`), since SQLite does this grouping without holding the GIL and a MySQL
server on a connection of its own per range. On MySQL/MariaDB the statement says the same in
its words (:func:`_packed_statement_mysql`): pymysql, pure Python, then parses one row per fund
instead of one per NAV (2,000 funds x 756 days: 6.8 s -> 1.2 s).

**Row by row** (the fallback). One SELECT of ``fund_code``, the raw ``nav_date``,
``unit_nav`` and ``accum_nav``; on SQLite straight from the DBAPI cursor, without
SQLAlchemy ``Row`` objects (which would cost more than the fetch), elsewhere through a
server-side cursor (``stream_results``). Blocks of :data:`_BLOCK_ROWS` rows become numpy
columns, codes and dates are factorised to slots, the values go into the matrices by fancy
indexing, and the block is dropped.

Either way memory stays near the size of the two result matrices (16 bytes per (date, fund)
cell), and the window's first date is a subquery of the statement that reads it. On SQLite
the range condition is marked ``likely()``: the window is most of the table, and walking the
``nav_date`` index instead of scanning fetches rows in random page order (3-4x slower).

**In chunks of funds** (:func:`nav_window_chunks`, what the metrics job uses): the window's
dates are read once and are every chunk's dates; each chunk is one packed statement selecting
its funds by an ``IN`` list between the first and last of those dates (a primary-key seek per
fund, so older history costs nothing: 3x faster than a code range on 10 years of NAVs), with
the same exactness checks and fallback, so memory follows the chunk size and not the number
of funds (100,000 funds x 10 years: about 300 MB instead of 2.6 GB).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import itertools
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fundpipe.errors import FundPipelineError
from fundpipe.schema import fund_nav

__all__ = ["NavWindow", "WindowMoved", "load_nav_window", "nav_window_chunks", "window_bounds"]

_BLOCK_ROWS = 5_000  # rows per fetch on the row-by-row path; small blocks stay in the CPU caches
_BLOCK_FUNDS = 250  # funds per fetch on the packed path (about 190,000 NAVs)
_NO_DATE = dt.date(1900, 1, 1)
#: NAVs travel as round(nav * _SCALE): exact for positive values with up to 8 decimals.
_SCALE = 100_000_000.0
_NULL = -1  # a missing accum_nav on the packed path (packed NAVs are all >= 1)
_DATE_WIDTH = len("2024-06-03")
_PARALLEL_BYTES = 64 << 20  # below this a SQLite file is read in one statement
_PACKED_DIALECTS = ("sqlite", "mysql", "mariadb")
_MYSQL = ("mysql", "mariadb")
#: GROUP_CONCAT's limit for the packed read's session (MySQL's default, 1,024 bytes, would cut a
#: fund's dates short; a cut result fails the length checks and the window is read row by row).
_GROUP_CONCAT_MAX_LEN = 1 << 30


@dataclasses.dataclass(frozen=True)
class NavWindow:
    """NAVs of every fund over the window: ``unit[i, j]`` is fund ``codes[j]`` on ``dates[i]``."""

    dates: np.ndarray  # datetime64[D], ascending
    codes: np.ndarray  # fund codes (object), ascending
    unit: np.ndarray  # float64, NaN where the fund has no row that date
    accum: np.ndarray  # float64, NaN where missing
    rows: int  # fund_nav rows read


def load_nav_window(
    conn: sa.Connection, as_of: dt.date, n_dates: int, *, parallel: int | None = None
) -> NavWindow:
    """The NAVs of every fund on the last ``n_dates`` distinct NAV dates on or before ``as_of``.

    One query on a small database; see the module docstring for the packed SQLite read, its
    row-by-row fallback, and the parallel read of a large SQLite file (``parallel``: the
    number of parts, default automatic; 1 turns it off). Funds and dates without any row in
    the window do not appear.
    """
    if conn.dialect.name in _PACKED_DIALECTS:
        window = _read_packed(conn, as_of, n_dates, parallel)
        if window is not None:
            return window
    return _read_rows(conn, as_of, n_dates)


def window_bounds(dialect: sa.Dialect, as_of: dt.date, n_dates: int) -> list[sa.ColumnElement[bool]]:
    """WHERE terms selecting the rows of the last ``n_dates`` distinct dates up to ``as_of``.

    The window's first date is the earliest of :func:`_window_dates`, a subquery of the same
    statement (1900-01-01 when there is no date at all).
    """
    c = fund_nav.c
    day = _window_dates(dialect, as_of, n_dates).c.d
    # COALESCE inside the subquery: SQLite evaluates one outside it on every row.
    first = sa.select(sa.func.coalesce(sa.func.min(day), sa.literal(_NO_DATE, sa.Date))).scalar_subquery()
    low = c.nav_date >= first
    high = c.nav_date <= as_of
    if dialect.name == "sqlite":
        return [sa.func.likely(low), sa.func.likely(high)]  # scan, not the index: see module
    return [low, high]


def _window_dates(dialect: sa.Dialect, as_of: dt.date, n_dates: int) -> sa.CTE | sa.Subquery:
    """The last ``n_dates`` distinct ``nav_date`` values on or before ``as_of`` (column ``d``).

    On SQLite a recursive CTE finds them with ``n_dates`` seeks in the ``nav_date`` index
    (``SELECT DISTINCT`` would walk every index entry); MySQL and MariaDB answer the
    ``DISTINCT ... LIMIT`` form from the index.
    """
    c = fund_nav.c
    if dialect.name == "sqlite":
        dates = (
            sa.select(sa.func.max(c.nav_date).label("d"), sa.literal(1).label("k"))
            .where(c.nav_date <= as_of)
            .cte("window_dates", recursive=True)
        )
        before = sa.select(sa.func.max(c.nav_date)).where(c.nav_date < dates.c.d).scalar_subquery()
        return dates.union_all(
            sa.select(before, dates.c.k + 1).where(dates.c.k < n_dates, dates.c.d.is_not(None))
        )
    return (
        sa.select(c.nav_date.label("d"))
        .where(c.nav_date <= as_of)
        .distinct()
        .order_by(c.nav_date.desc())
        .limit(n_dates)
        .subquery("window_dates")
    )


# --------------------------------------------------------------------------- in chunks of funds


class WindowMoved(FundPipelineError):
    """The window's dates changed while it was being read in chunks (a commit added or removed a
    date inside it): chunks already yielded belong to the old window, the caller starts over."""


@dataclasses.dataclass(frozen=True)
class _Axis:
    """The window's dates, decided once for every chunk: ISO text, ascending; ``by_range``: select
    a chunk's funds by their code range, not an ``IN`` list (see :func:`_chunk_terms`)."""

    text: tuple[str, ...]
    by_range: bool = False

    @property
    def first(self) -> dt.date:
        return dt.date.fromisoformat(self.text[0])

    @property
    def last(self) -> dt.date:
        return dt.date.fromisoformat(self.text[-1])


def _read_axis(conn: sa.Connection, as_of: dt.date, n_dates: int) -> _Axis:
    """The last ``n_dates`` distinct NAV dates up to ``as_of`` (:func:`_window_dates`), one statement."""
    dates = conn.execute(
        sa.select(sa.type_coerce(_window_dates(conn.dialect, as_of, n_dates).c.d, sa.String))
    )
    return _Axis(tuple(sorted(str(d) for d in dates.scalars() if d is not None)))  # MySQL: date objects


def nav_window_chunks(
    engine: sa.Engine, as_of: dt.date, n_dates: int, chunk_funds: int, *, parallel: int | None = None
) -> Iterator[NavWindow]:
    """The window of :func:`load_nav_window` in chunks of at most ``chunk_funds`` funds (in the
    order of the fund codes), so memory follows the chunk size, not the number of funds.

    The window's dates and the fund codes are read once; every chunk has all of those dates as
    its ``dates`` (NaN rows where none of its funds has a NAV), so each fund's column is the one
    :func:`load_nav_window` gives, whatever the chunk size. Funds without a row in the window
    are left out; funds created after the codes were read wait for the next run. A chunk is
    read from one state of the table (one packed statement selecting its funds by an ``IN``
    list; in parts on ``parallel`` threads for a large table, see :func:`_read_packed`, with the
    write stamp compared before and after and the chunk read again in one statement if it
    moved; row by row if a value cannot be packed). After each chunk's read the window's dates
    are read again on its connection (on MySQL in the chunk's own snapshot when it was read
    there); if they differ, or a row of the chunk is dated off them, :class:`WindowMoved` is
    raised before that chunk is yielded: every yielded chunk belongs to the window of the
    dates the first chunk has.
    """
    if chunk_funds < 1:
        raise ValueError(f"chunk_funds must be >= 1, not {chunk_funds}")
    with engine.connect() as conn:
        axis = _read_axis(conn, as_of, n_dates)
        if not axis.text:
            return
        codes = list(conn.execute(_distinct_codes(conn.dialect)).scalars())
        threads = _threads(conn, parallel) if conn.dialect.name in _PACKED_DIALECTS else 1
        if conn.dialect.name in _MYSQL:
            oldest = conn.execute(sa.select(sa.func.min(fund_nav.c.nav_date))).scalar()
            span = axis.last - axis.first
            axis = dataclasses.replace(axis, by_range=oldest is not None and axis.first - oldest <= span / 2)
    with concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="navwindow") as pool:
        for start in range(0, len(codes), chunk_funds):
            window = _read_chunk(
                engine, as_of, n_dates, axis, codes[start : start + chunk_funds], pool, threads
            )
            if len(window.codes):
                yield window


def _read_chunk(
    engine: sa.Engine,
    as_of: dt.date,
    n_dates: int,
    axis: _Axis,
    codes: list[str],
    pool: concurrent.futures.ThreadPoolExecutor,
    threads: int,
) -> NavWindow:
    """One chunk of :func:`nav_window_chunks`, checked against ``axis``."""
    where = _chunk_terms(axis, codes)
    with engine.connect() as conn:
        window: NavWindow | None = None
        try:
            if conn.dialect.name in _PACKED_DIALECTS:
                window = _read_chunk_packed(conn, axis, codes, pool, threads)
        except _OffAxis:
            raise WindowMoved("the NAV window's dates changed during the read") from None
        except _NotPackable:
            window = None
        if window is None:
            window = _onto_axis(_read_rows_where(conn, where, len(axis.text)), axis)
        if _read_axis(conn, as_of, n_dates).text != axis.text:
            raise WindowMoved("the NAV window's dates changed during the read")
    return window


def _read_chunk_packed(
    conn: sa.Connection,
    axis: _Axis,
    codes: list[str],
    pool: concurrent.futures.ThreadPoolExecutor,
    threads: int,
) -> NavWindow:
    """The chunk packed: in ``2 * threads`` parts on the pool's threads when the write stamp
    stays put across them, else in one statement on ``conn``. Raises :class:`_NotPackable`."""
    parts = 2 * threads
    if threads > 1 and len(codes) >= 2 * parts and (version := _write_stamp(conn)):
        window = _Columns(list(axis.text), codes)
        cuts = [len(codes) * k // parts for k in range(parts + 1)]
        try:
            reads = [
                pool.submit(_read_packed_codes, conn.engine, codes[lo:hi], axis, window)
                for lo, hi in itertools.pairwise(cuts)
            ]
            for read in reads:
                read.result()
        except _OffAxis:
            version = ()  # a commit under the parts: read the chunk again in one statement
        if version and _write_stamp(conn) == version:
            return window.result()
    window = _Columns(list(axis.text), codes)
    for block in _packed_blocks(conn, _chunk_terms(axis, codes)):
        window.put(block)
    return window.result()


def _read_packed_codes(engine: sa.Engine, codes: list[str], axis: _Axis, window: _Columns) -> None:
    """Some funds of a chunk into ``window``, on a connection of its own (in a worker thread)."""
    with engine.connect() as conn:
        for block in _packed_blocks(conn, _chunk_terms(axis, codes)):
            window.put(block)


def _onto_axis(window: NavWindow, axis: _Axis) -> NavWindow:
    """``window`` with every date of ``axis`` (NaN rows where it has none)."""
    dates = np.array(axis.text, dtype="datetime64[D]")
    at = np.minimum(np.searchsorted(dates, window.dates), max(len(dates) - 1, 0))
    if len(window.dates) and not (dates[at] == window.dates).all():
        raise WindowMoved("the NAV window's dates changed during the read")
    unit = np.full((len(dates), len(window.codes)), np.nan)
    accum = np.full_like(unit, np.nan)
    unit[at] = window.unit
    accum[at] = window.accum
    return NavWindow(dates, window.codes, unit, accum, window.rows)


# --------------------------------------------------------------------------- packed (SQLite)


def _range_terms(
    dialect: sa.Dialect, as_of: dt.date, n_dates: int, codes: tuple[str | None, str | None]
) -> list[sa.ColumnElement[bool]]:
    """WHERE terms: the window's rows with ``codes[0] <= fund_code < codes[1]`` (None: unbounded)."""
    c = fund_nav.c
    in_range = [c.fund_code >= codes[0]] if codes[0] is not None else []
    if codes[1] is not None:
        in_range.append(c.fund_code < codes[1])
    return [*in_range, *window_bounds(dialect, as_of, n_dates)]


def _chunk_terms(axis: _Axis, codes: Sequence[str]) -> list[sa.ColumnElement[bool]]:
    """WHERE terms: the rows of ``codes`` (ascending) from the axis' first to its last date. An
    ``IN`` list: both databases then seek each fund's first date in the primary key and read only
    the window's rows, however much older history the table holds. On MySQL, when the table holds
    little history before the window (``axis.by_range``), the codes' range instead: InnoDB scans
    a range faster than it seeks hundreds (funds created since the codes were read are then
    selected too, and left out of the chunk by :class:`_Columns`)."""
    c = fund_nav.c
    funds = (
        [c.fund_code >= codes[0], c.fund_code <= codes[-1]]
        if axis.by_range
        else [c.fund_code.in_(list(codes))]
    )
    return [*funds, c.nav_date >= axis.first, c.nav_date <= axis.last]


def _packed_statement(dialect: sa.Dialect, where: Sequence[sa.ColumnElement[bool]]) -> sa.Select:
    """One row per fund of the rows selected by ``where``."""
    if dialect.name in _MYSQL:
        return _packed_statement_mysql(where)
    c = fund_nav.c

    # Constants rendered inline (they are the code's, not data): SQLite evaluates a bound
    # parameter on every row, which costs a third of the statement here.
    def inline(value: object) -> sa.BindParameter[Any]:
        return sa.literal(value, literal_execute=True)

    scale, half = inline(_SCALE), inline(0.5)

    def scaled(column: sa.ColumnElement[float]) -> sa.ColumnElement[int]:
        return sa.cast(column * scale + half, sa.Integer)

    def exact(column: sa.ColumnElement[float]) -> sa.ColumnElement[bool]:
        return sa.type_coerce(scaled(column), sa.Double) / scale == column

    return (
        sa.select(
            c.fund_code,
            sa.func.count(),
            sa.func.group_concat(sa.type_coerce(c.nav_date, sa.String), inline("")),
            sa.func.group_concat(scaled(c.unit_nav), inline(",")),
            sa.func.group_concat(sa.func.coalesce(scaled(c.accum_nav), inline(_NULL)), inline(",")),
            # 1 when every NAV of the fund survives the trip (MIN skips a NULL accum_nav)
            sa.func.min(exact(c.unit_nav)),
            sa.func.min(exact(c.accum_nav)),
            # accum_nav must be positive so that _NULL means NULL; unit_nav's sign is checked
            # on the integers (with an exact trip, round(nav * 1e8) > 0 exactly when nav > 0)
            sa.func.min(c.accum_nav),
        )
        .where(*where)
        .group_by(c.fund_code)
    )


def _packed_statement_mysql(where: Sequence[sa.ColumnElement[bool]]) -> sa.Select:
    """:func:`_packed_statement` in MySQL's words, the same columns: ``GROUP_CONCAT`` with its
    separator, ``FLOOR(nav * 1e8 + 0.5)`` cast to an integer (MySQL's CAST rounds where SQLite's
    truncates), ``1e8`` a DOUBLE literal (``100000000.0`` would be DECIMAL and the exactness
    check decimal arithmetic). One concatenation of ``YYYYMMDD,unit,accum`` per row (``nav_date +
    0`` is the date as a number) instead of three: each costs the server as much as the scan;
    it has no ``ORDER BY`` (that doubles the server's time), since the matrices place each
    value by its date, whatever the order."""
    c = fund_nav.c
    t = fund_nav.name

    def scaled(column: str) -> str:
        return f"CAST(FLOOR({t}.{column} * 1e8 + 0.5) AS SIGNED)"

    def exact(column: str) -> str:
        return f"MIN({scaled(column)} / 1e8 = {t}.{column})"

    def concat(expression: str, separator: str) -> sa.ColumnElement[str]:
        return sa.literal_column(f"GROUP_CONCAT({expression} SEPARATOR '{separator}')")

    triple = f"{t}.nav_date + 0, ',', {scaled('unit_nav')}, ',', COALESCE({scaled('accum_nav')}, {_NULL})"
    return (
        sa.select(
            c.fund_code,
            sa.func.count(),
            concat(triple, ","),
            sa.literal_column(exact("unit_nav")),
            sa.literal_column(exact("accum_nav")),
            sa.func.min(c.accum_nav),
        )
        .select_from(fund_nav)
        .where(*where)
        .group_by(c.fund_code)
    )


class _NotPackable(Exception):
    """A value in the window that the packed read cannot carry exactly."""


class _OffAxis(_NotPackable):
    """A row dated off the window's dates: the table changed since they were read."""


def _read_packed(conn: sa.Connection, as_of: dt.date, n_dates: int, parallel: int | None) -> NavWindow | None:
    """The window through :func:`_packed_statement`, or None if it cannot be carried exactly.

    A large file is read in fund-code ranges by ``threads`` threads at once, one connection
    each: SQLite does the grouping inside ``sqlite3_step``, which runs without the GIL, so the
    ranges really are read in parallel (twice as many ranges as threads keeps them all busy
    to the end), each writing its own columns of matrices laid out in advance from the
    window's dates and the table's fund codes. Each range is its own statement, so a commit
    landing between their starts could mix two states of the table: ``PRAGMA data_version``
    (which changes when another connection commits) is read before and after, and if it
    moved the window is read again in one statement.
    """
    try:
        threads = _threads(conn, parallel)
        version = _write_stamp(conn) if threads > 1 else ()
        if not version:
            return _read_packed_serial(conn, as_of, n_dates)
        window = _read_packed_parallel(conn, as_of, n_dates, threads)
        if _write_stamp(conn) != version:
            return _read_packed_serial(conn, as_of, n_dates)
        return window
    except _NotPackable:
        return None


def _read_packed_serial(conn: sa.Connection, as_of: dt.date, n_dates: int) -> NavWindow:
    """The whole window in one packed statement, into matrices that grow as funds arrive."""
    fill = _Matrix(n_dates)
    for block in _packed_blocks(conn, _range_terms(conn.dialect, as_of, n_dates, (None, None))):
        date_index, date_keys = pd.factorize(block.date_keys)
        fill.put(block.codes, block.fund_index, date_keys.tolist(), date_index, block.unit, block.accum)
    return fill.result(_dates_from_keys)


def _read_packed_parallel(conn: sa.Connection, as_of: dt.date, n_dates: int, threads: int) -> NavWindow:
    """The window in ``2 * threads`` fund-code ranges of about as many funds, ``threads`` at once."""
    dates = conn.execute(
        sa.select(sa.type_coerce(_window_dates(conn.dialect, as_of, n_dates).c.d, sa.String))
    )
    date_text = sorted(str(d) for d in dates.scalars() if d is not None)  # MySQL: date objects
    codes = list(conn.execute(_distinct_codes(conn.dialect)).scalars())
    parts = 2 * threads
    if len(codes) < 2 * parts or not date_text:
        return _read_packed_serial(conn, as_of, n_dates)
    window = _Columns(date_text, codes)
    cuts = [len(codes) * k // parts for k in range(parts + 1)]
    ranges = [
        ((codes[lo] if lo else None), (codes[hi] if hi < len(codes) else None))
        for lo, hi in itertools.pairwise(cuts)
    ]
    with concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="navwindow") as pool:
        reads = [pool.submit(_read_packed_range, conn.engine, as_of, n_dates, r, window) for r in ranges]
        for read in reads:
            read.result()
    return window.result()


def _read_packed_range(
    engine: sa.Engine, as_of: dt.date, n_dates: int, codes: tuple[str | None, str | None], window: _Columns
) -> None:
    """One fund range into ``window``, on a connection of its own (run in a worker thread)."""
    with engine.connect() as conn:
        for block in _packed_blocks(conn, _range_terms(conn.dialect, as_of, n_dates, codes)):
            window.put(block)


def _write_stamp(conn: sa.Connection) -> tuple[Any, ...]:
    """Changes when another connection commits a write: SQLite's ``PRAGMA data_version`` (of
    this database); on MySQL the server's counts of InnoDB rows written, on MariaDB (which has
    none) the newest InnoDB transaction id (a writing transaction takes one): the whole
    server's, so a write elsewhere makes a parallel read be done again in one statement, never
    a wrong one. Empty when the server shows neither: the read is then never parallel."""
    if conn.dialect.name in _MYSQL:
        names = "('Innodb_rows_inserted', 'Innodb_rows_updated', 'Innodb_rows_deleted', 'Innodb_max_trx_id')"
        return tuple(sorted(conn.exec_driver_sql(f"SHOW GLOBAL STATUS WHERE Variable_name IN {names}")))
    return (conn.exec_driver_sql("PRAGMA data_version").scalar(),)


def _threads(conn: sa.Connection, parallel: int | None) -> int:
    """How many threads read at once: one per CPU (at most 4) for a table over 64 MB (on
    MySQL, the server's estimate of ``fund_nav``'s size)."""
    if parallel is not None:
        return parallel
    if conn.dialect.name in _MYSQL:
        size = conn.execute(
            sa.text(
                "SELECT COALESCE(data_length, 0) FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name = :name"
            ),
            {"name": fund_nav.name},
        ).scalar()
        if (size or 0) < _PARALLEL_BYTES:
            return 1
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return min(cpus, 4)
    database = conn.engine.url.database
    if not database or database == ":memory:" or "mode=memory" in str(conn.engine.url):
        return 1  # each pooled connection would see its own database
    pages = conn.exec_driver_sql("PRAGMA page_count").scalar() or 0
    page_size = conn.exec_driver_sql("PRAGMA page_size").scalar() or 0
    if pages * page_size < _PARALLEL_BYTES:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cpus, 4)


def _distinct_codes(dialect: sa.Dialect) -> sa.Select:
    """Every distinct fund_code, ascending, by one primary-key seek per code (MySQL: a loose
    index scan of the primary key; its recursive CTEs stop at 1,000 levels)."""
    c = fund_nav.c
    if dialect.name in _MYSQL:
        return sa.select(c.fund_code).distinct().order_by(c.fund_code)
    codes = sa.select(sa.func.min(c.fund_code).label("code")).cte("codes", recursive=True)
    after = sa.select(sa.func.min(c.fund_code)).where(c.fund_code > codes.c.code).scalar_subquery()
    codes = codes.union_all(sa.select(after).where(codes.c.code.is_not(None)))
    return sa.select(codes.c.code).where(codes.c.code.is_not(None))


@dataclasses.dataclass
class _Block:
    """Some funds' rows from the packed statement, parsed."""

    codes: list[str]
    fund_index: np.ndarray  # per row: index into codes
    date_keys: np.ndarray  # per row: uint64 made of the 8 digits of YYYY-MM-DD
    unit: np.ndarray
    accum: np.ndarray  # NaN where NULL


def _packed_blocks(conn: sa.Connection, where: Sequence[sa.ColumnElement[bool]]) -> Iterator[_Block]:
    """Parsed blocks of :data:`_BLOCK_FUNDS` funds; raises :class:`_NotPackable`."""
    if conn.dialect.name in _MYSQL:  # streamed: the funds' rows are parsed as they arrive
        conn.exec_driver_sql(f"SET SESSION group_concat_max_len = {_GROUP_CONCAT_MAX_LEN}")
        conn = conn.execution_options(stream_results=True)
    mysql = conn.dialect.name in _MYSQL
    result = conn.execute(_packed_statement(conn.dialect, where))
    with result:
        for funds in result.partitions(_BLOCK_FUNDS):
            names, counts, *packed, unit_exact, accum_exact, low_accum = zip(*funds, strict=True)
            if not all(unit_exact) or not all(e is None or e for e in accum_exact):
                raise _NotPackable
            if min((v for v in low_accum if v is not None), default=1) <= 0:
                raise _NotPackable
            per_fund = np.array(counts, dtype=np.int64)
            n = int(per_fund.sum())
            if mysql:  # one list of (YYYYMMDD, unit, accum) numbers
                triples = _parse_scaled(",".join(packed[0]), 3 * n).reshape(n, 3)
                date_keys, unit, accum = _keys_of_numbers(triples[:, 0]), triples[:, 1], triples[:, 2]
            else:
                date_keys = _date_keys("".join(packed[0]), n)
                unit, accum = _parse_scaled(",".join(packed[1]), n), _parse_scaled(",".join(packed[2]), n)
            if not (unit > 0).all():
                raise _NotPackable
            yield _Block(
                list(names),
                np.repeat(np.arange(len(names)), per_fund),
                date_keys,
                unit / _SCALE,
                np.where(accum == _NULL, np.nan, accum / _SCALE),
            )


_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9]  # the digit positions of YYYY-MM-DD


def _date_keys(text: str, n: int) -> np.ndarray:
    """``YYYY-MM-DD`` x n concatenated -> one uint64 per date (its 8 digit bytes)."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise _NotPackable from None
    if len(raw) != n * _DATE_WIDTH:
        raise _NotPackable
    chars = np.frombuffer(raw, dtype=np.uint8).reshape(n, _DATE_WIDTH)
    if not ((chars[:, 4] == ord("-")).all() and (chars[:, 7] == ord("-")).all()):
        raise _NotPackable
    return np.ascontiguousarray(chars[:, _DIGITS]).view(np.uint64).ravel()


def _keys_of_numbers(numbers: np.ndarray) -> np.ndarray:
    """Dates as YYYYMMDD numbers -> the keys of :func:`_date_keys` (their 8 digit bytes)."""
    if len(numbers) and not ((numbers >= 10_000_101) & (numbers <= 99_991_231)).all():
        raise _NotPackable
    digits = (numbers[:, None] // 10 ** np.arange(7, -1, -1)) % 10 + ord("0")
    return np.ascontiguousarray(digits.astype(np.uint8)).view(np.uint64).ravel()


def _dates_from_keys(keys: list[int]) -> np.ndarray:
    text = [int(k).to_bytes(8, "little").decode("ascii") for k in keys]
    try:
        return np.array([f"{t[:4]}-{t[4:6]}-{t[6:]}" for t in text], dtype="datetime64[D]")
    except ValueError as exc:
        raise FundPipelineError(f"fund_nav holds a nav_date that is not a date: {exc}") from None


class _Columns:
    """Dates x funds matrices laid out in advance; worker threads fill disjoint columns."""

    def __init__(self, dates: list[str], codes: list[str]) -> None:
        keys = _date_keys("".join(dates), len(dates))
        self.dates = _dates_from_keys(keys.tolist())
        self.key_order = np.argsort(keys)
        self.sorted_keys = keys[self.key_order]
        self.column = {code: j for j, code in enumerate(codes)}
        self.codes = np.empty(len(codes), dtype=object)
        self.codes[:] = codes
        self.unit = np.full((len(dates), len(codes)), np.nan)
        self.accum = np.full_like(self.unit, np.nan)
        self.present = np.zeros(len(codes), dtype=bool)
        self.rows = 0
        self.lock = threading.Lock()

    def put(self, block: _Block) -> None:
        at = np.minimum(np.searchsorted(self.sorted_keys, block.date_keys), len(self.sorted_keys) - 1)
        if not (self.sorted_keys[at] == block.date_keys).all():
            raise _OffAxis  # a date outside the window: the table changed under the read
        get = self.column.get
        columns = np.fromiter((get(code, -1) for code in block.codes), dtype=np.intp, count=len(block.codes))
        per_row = columns[block.fund_index]
        unit, accum = block.unit, block.accum
        if (columns < 0).any():  # funds created since the codes were read: left for the next run
            known = per_row >= 0
            at, per_row, unit, accum = at[known], per_row[known], unit[known], accum[known]
            columns = columns[columns >= 0]
        cells = self.key_order[at] * len(self.codes) + per_row
        self.unit.ravel()[cells] = unit
        self.accum.ravel()[cells] = accum
        with self.lock:
            self.present[columns] = True
            self.rows += len(cells)

    def result(self) -> NavWindow:
        keep = self.present
        codes, unit, accum = self.codes, self.unit, self.accum
        if not keep.all():  # funds with rows only outside the window
            codes, unit, accum = codes[keep], unit[:, keep], accum[:, keep]
        order = np.argsort(codes, kind="stable")  # SQLite's order is already numpy's for UTF-8
        if (order != np.arange(len(order))).any():
            codes, unit, accum = codes[order], unit[:, order], accum[:, order]
        return NavWindow(self.dates, codes, unit, accum, self.rows)


def _parse_scaled(text: str, n: int) -> np.ndarray:
    """Comma-separated decimal integers -> int64 array of length ``n``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy warns, then truncates
        try:
            values = np.fromstring(text, dtype=np.int64, sep=",")
        except (ValueError, DeprecationWarning):
            raise _NotPackable from None
    if len(values) != n:
        raise _NotPackable
    return values


# --------------------------------------------------------------------------- row by row


def _read_rows(conn: sa.Connection, as_of: dt.date, n_dates: int) -> NavWindow:
    return _read_rows_where(conn, window_bounds(conn.dialect, as_of, n_dates), n_dates)


def _read_rows_where(conn: sa.Connection, where: Sequence[sa.ColumnElement[bool]], n_dates: int) -> NavWindow:
    """The rows ``where`` selects (at most ``n_dates`` dates), in one SELECT read row by row."""
    c = fund_nav.c
    # Dates come back raw (ISO text on SQLite, date objects from pymysql) and are converted
    # once per distinct value, not once per row.
    stmt = sa.select(c.fund_code, sa.type_coerce(c.nav_date, sa.String), c.unit_nav, c.accum_nav).where(
        *where
    )
    fill = _Matrix(n_dates)
    get = [itemgetter(i) for i in range(4)]
    for block in _row_blocks(conn, stmt):
        n = len(block)
        code_index, code_keys = pd.factorize(np.fromiter(map(get[0], block), object, n))
        date_index, date_keys = pd.factorize(np.fromiter(map(get[1], block), object, n))
        fill.put(
            code_keys.tolist(),
            code_index,
            date_keys.tolist(),
            date_index,
            np.fromiter(map(get[2], block), np.float64, n),
            np.array(list(map(get[3], block)), dtype=np.float64),  # None -> NaN
        )
    return fill.result(lambda keys: np.array(keys, dtype="datetime64[D]"))


def _row_blocks(conn: sa.Connection, stmt: sa.Select) -> Iterator[Sequence[Any]]:
    if conn.dialect.name == "sqlite":
        # pysqlite steps through the result as it is fetched; with default options the
        # CursorResult buffers no row, so its DBAPI cursor is read directly, as plain tuples.
        result = conn.execute(stmt)
        with result:
            while block := result.cursor.fetchmany(_BLOCK_ROWS):
                yield block
        return
    result = conn.execution_options(stream_results=True).execute(stmt)
    with result:
        for rows in result.partitions(_BLOCK_ROWS):
            yield [tuple(row) for row in rows]


# --------------------------------------------------------------------------- the matrices


class _Matrix:
    """Funds x dates NAV matrices filled block by block; fund and date keys get slots on arrival."""

    def __init__(self, n_dates: int, funds: int = 256) -> None:
        self.code_slot: dict[Any, int] = {}
        self.date_slot: dict[Any, int] = {}
        self.n_dates = max(n_dates, 0)
        self.unit = np.full((max(funds, 1), self.n_dates), np.nan)
        self.accum = np.full_like(self.unit, np.nan)
        self.rows = 0

    def put(
        self,
        code_keys: list[Any],
        code_index: np.ndarray,
        date_keys: list[Any],
        date_index: np.ndarray,
        unit: np.ndarray,
        accum: np.ndarray,
    ) -> None:
        """Store ``unit[i]``, ``accum[i]`` at fund ``code_keys[code_index[i]]``, date likewise."""
        codes = _slots(code_keys, self.code_slot)[code_index]
        dates = _slots(date_keys, self.date_slot)[date_index]
        if len(self.date_slot) > self.n_dates:  # the statements select at most n_dates dates
            raise FundPipelineError(f"NAV window read more than the {self.n_dates} dates asked for")
        if len(self.code_slot) > self.unit.shape[0]:
            self._grow(len(self.code_slot))
        cells = codes * self.n_dates + dates
        self.unit.ravel()[cells] = unit
        self.accum.ravel()[cells] = accum
        self.rows += len(cells)

    def _grow(self, needed: int) -> None:
        size, have = max(needed, 2 * self.unit.shape[0]), self.unit.shape[0]
        for name in ("unit", "accum"):
            new = np.empty((size, self.n_dates))
            new[:have] = getattr(self, name)
            new[have:] = np.nan
            setattr(self, name, new)

    def result(self, to_dates: Callable[[list[Any]], np.ndarray]) -> NavWindow:
        codes = np.empty(len(self.code_slot), dtype=object)
        codes[:] = list(self.code_slot)
        dates = to_dates(list(self.date_slot)).astype("datetime64[D]")
        by_code = np.argsort(codes, kind="stable")
        by_date = np.argsort(dates, kind="stable")
        cells = np.ix_(by_date, by_code)  # dates x funds, both ascending
        unit, accum = self.unit[: len(codes)].T[cells], self.accum[: len(codes)].T[cells]
        return NavWindow(dates[by_date], codes[by_code], unit, accum, self.rows)


def _slots(keys: list[Any], slots: dict[Any, int]) -> np.ndarray:
    """Slot numbers of ``keys``, giving keys not seen before the next free slots."""
    return np.fromiter((slots.setdefault(k, len(slots)) for k in keys), dtype=np.intp, count=len(keys))
