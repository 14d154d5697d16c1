"""Database engines shared by the daemon, the CLI and job processes, and the one test of
"the database is unreachable".

SQLite runs in WAL mode with a 30 s busy timeout and ``synchronous=NORMAL`` so several processes
share the file without "database is locked"; within one process, write transactions opened with
:func:`writing` take turns on a lock (SQLite's busy handler would make a waiting writer sleep
1, 2, 5 ... 100 ms between tries: hundreds of milliseconds with a few hundred runs a second).
MySQL/MariaDB engines use ``pool_pre_ping`` and ``pool_recycle`` against "server has gone away",
utf8mb4 and a 5 s connect timeout. Both hide bound parameters in error messages so row values
and secrets never reach a log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

__all__ = [
    "describe_error",
    "has_tables",
    "is_database_error",
    "make_engine",
    "missing_tables",
    "open_existing",
    "vacuum",
    "writing",
]

SQLITE_BUSY_TIMEOUT_MS = 30_000
MYSQL_CONNECT_TIMEOUT = 5  # seconds


def make_engine(url: URL | str) -> Engine:
    """An engine for ``url``; for a SQLite file its folder is created (the file on first use)."""
    url = make_url(url) if isinstance(url, str) else url
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_engine(url)
    if url.get_backend_name() == "mysql" and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    connect_args = {}
    if url.get_backend_name() == "mysql" and "connect_timeout" not in url.query:
        # An unreachable host fails a connect (and /health, the pre-ping) in seconds, not minutes.
        connect_args["connect_timeout"] = MYSQL_CONNECT_TIMEOUT
    return create_engine(
        url,
        hide_parameters=True,
        connect_args=connect_args,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_size=5,
        max_overflow=5,
    )


#: One lock per SQLite file written by this process (see :func:`writing`).
_SQLITE_WRITERS: dict[str, threading.RLock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` for a transaction that writes. On SQLite the threads of this process
    take turns on one lock per file, so a writer waits for the one before it instead of polling
    SQLite's lock with sleeps; after the busy timeout it goes on and SQLite decides."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.setdefault(engine.url.database or ":memory:", threading.RLock())
    held = lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        if held:
            lock.release()


def open_existing(url: URL | str) -> Engine | None:
    """An engine for reading an existing database: None for a SQLite file that does not exist.

    Read-only commands use it, so they never create a database (nor, by not writing, a table).
    """
    url = make_url(url) if isinstance(url, str) else url
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        return None
    return make_engine(url)


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(
        url,
        hide_parameters=True,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no branch - trivial
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def vacuum(engine: Engine) -> tuple[int, int] | None:
    """Rebuild a SQLite file so the space freed by deletions (a large history purge) goes back to
    the file system; (bytes before, bytes after), or None for a server database (InnoDB reuses
    freed pages itself). Writers wait while it runs."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    path = engine.url.database
    before = os.path.getsize(path)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("VACUUM")
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return before, os.path.getsize(path)


def missing_tables(engine: Engine, names: tuple[str, ...] | list[str]) -> list[str]:
    """Which of the tables ``names`` the database lacks (in the order given)."""
    present = set(inspect(engine).get_table_names())
    return [name for name in names if name not in present]


def has_tables(engine: Engine, *names: str) -> bool:
    return not missing_tables(engine, list(names))


def is_database_error(exc: BaseException) -> bool:
    """True for an error meaning "the database is unreachable or the connection broke"."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def describe_error(exc: BaseException) -> str:
    """One line naming the driver error, without SQL, parameters or the connection URL."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    return f"{type(orig).__name__}: {text}"[:300]
