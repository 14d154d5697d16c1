"""Active/standby across hosts: one daemon per database is *active* and runs jobs.

On MySQL/MariaDB the active daemon holds ``GET_LOCK('fund_scheduler_leader:<database>')`` on a
dedicated connection of its own (never one of the pool). The server releases the lock when that
connection ends, so a daemon killed with ``kill -9`` (or cut off by a network partition) hands
over to a standby, which retries every few seconds. The active daemon checks the lock every few
seconds (``IS_USED_LOCK(name) = CONNECTION_ID()`` with a short read timeout); any error counts as
lost and it stops submitting at once.

On SQLite there is no lock server: leadership is always held and the single-host PID lock is the
only lock. Failover between hosts needs MySQL/MariaDB.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from typing import Any

from sqlalchemy.engine import Engine

logger = logging.getLogger("scheduler.leader")

LOCK_PREFIX = "fund_scheduler_leader:"
MAX_LOCK_NAME = 64  # MySQL's limit on user lock names
CHECK_TIMEOUT_S = 3


def lock_name(database: str | None) -> str:
    """``fund_scheduler_leader:<database>``; a digest of the name when that would be too long."""
    name = LOCK_PREFIX + (database or "")
    if len(name) <= MAX_LOCK_NAME:
        return name
    return LOCK_PREFIX + hashlib.sha1((database or "").encode()).hexdigest()  # noqa: S324 - a name


class Leadership:
    """The leader lock of one database; ``held`` is what this daemon last saw."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.enabled = engine.dialect.name in ("mysql", "mariadb")
        self.name = lock_name(engine.url.database)
        self.held = not self.enabled
        self._conn: Any = None

    def _connect(self):
        """A new DBAPI connection outside the pool, with short timeouts."""
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        cparams = {**cparams, "connect_timeout": CHECK_TIMEOUT_S, "read_timeout": CHECK_TIMEOUT_S}
        cparams["write_timeout"] = CHECK_TIMEOUT_S
        return self.engine.dialect.dbapi.connect(*cargs, **cparams)

    def _scalar(self, sql: str) -> Any:
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql, (self.name,))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return row[0] if row else None

    def try_acquire(self) -> bool:
        """Take the lock without waiting; True when this daemon holds it now."""
        if not self.enabled:
            return True
        try:
            if self._conn is None:
                self._conn = self._connect()
            self.held = self._scalar("SELECT GET_LOCK(%s, 0)") == 1
        except Exception as exc:  # noqa: BLE001 - no database, no leadership; retried later
            logger.debug("leader lock not acquired: %s: %s", type(exc).__name__, exc)
            self._close()
            self.held = False
        return self.held

    def still_held(self) -> bool:
        """True while the lock connection answers and still owns the lock; any error: False."""
        if not self.enabled:
            return True
        if self._conn is None:
            self.held = False
            return False
        try:
            self.held = self._scalar("SELECT IS_USED_LOCK(%s) = CONNECTION_ID()") == 1
        except Exception as exc:  # noqa: BLE001 - a broken lock connection means the lock is gone
            logger.debug("leader lock check failed: %s", type(exc).__name__)
            self.held = False
        if not self.held:
            self._close()
        return self.held

    def release(self) -> None:
        if self.enabled and self._conn is not None and self.held:
            with contextlib.suppress(Exception):
                self._scalar("SELECT RELEASE_LOCK(%s)")
        self._close()
        self.held = not self.enabled

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
