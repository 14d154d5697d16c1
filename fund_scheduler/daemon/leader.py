"""Active/standby across hosts: one daemon per database is *active* and runs jobs.

On MySQL/MariaDB the active daemon holds ``GET_LOCK('fund_scheduler_leader:<database>')`` on a
dedicated connection of its own (never one of the pool). The server releases the lock when that
connection ends, so a daemon killed with ``kill -9`` (or cut off by a network partition) hands
over to a standby, which retries every few seconds. The active daemon checks the lock every few
seconds (``IS_USED_LOCK(name) = CONNECTION_ID()`` with a short read timeout); any error counts as
lost and it stops submitting at once.

A host that vanishes without closing its sockets (power loss, network partition, a frozen
process) would keep its lock until the server noticed the dead connection: hours with the default
``wait_timeout``. The lock connection therefore sets its own ``wait_timeout`` to
:data:`LOCK_IDLE_TIMEOUT_S`: the active daemon touches it every few seconds, so only a daemon that
can no longer reach the server loses it, and a standby takes over some seconds later. The
scheduler loop calls :meth:`Leadership.confirm` before each pass, so a daemon waking from a freeze
re-checks the lock before it submits anything.

On SQLite there is no lock server: leadership is always held and the single-host PID lock is the
only lock. Failover between hosts needs MySQL/MariaDB.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from typing import Any

from sqlalchemy.engine import Engine

logger = logging.getLogger("scheduler.leader")

LOCK_PREFIX = "fund_scheduler_leader:"
MAX_LOCK_NAME = 64  # MySQL's limit on user lock names
CHECK_TIMEOUT_S = 3
# The server drops the lock connection after this many idle seconds (checked every ~3 s).
LOCK_IDLE_TIMEOUT_S = 10


def lock_name(database: str | None) -> str:
    """``fund_scheduler_leader:<database>``; a digest of the name when that would be too long."""
    name = LOCK_PREFIX + (database or "")
    if len(name) <= MAX_LOCK_NAME:
        return name
    return LOCK_PREFIX + hashlib.sha1((database or "").encode()).hexdigest()  # noqa: S324 - a name


class Leadership:
    """The leader lock of one database; ``held`` is what this daemon last saw.

    Thread-safe: the main thread checks or retries the lock, the scheduler loop confirms it.
    """

    def __init__(self, engine: Engine, clock=time.monotonic):
        self.engine = engine
        self.enabled = engine.dialect.name in ("mysql", "mariadb")
        self.name = lock_name(engine.url.database)
        self.held = not self.enabled
        self.confirmed_at: float | None = None  # clock() when the server last said we hold it
        self._clock = clock
        self._conn: Any = None
        self._lock = threading.RLock()

    def _connect(self):
        """A new DBAPI connection outside the pool, with short timeouts."""
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        cparams = {**cparams, "connect_timeout": CHECK_TIMEOUT_S, "read_timeout": CHECK_TIMEOUT_S}
        cparams["write_timeout"] = CHECK_TIMEOUT_S
        conn = self.engine.dialect.dbapi.connect(*cargs, **cparams)
        try:
            cursor = conn.cursor()
            cursor.execute("SET SESSION wait_timeout = %s", (LOCK_IDLE_TIMEOUT_S,))
            cursor.close()
        except Exception:
            conn.close()
            raise
        return conn

    def _saw(self, held: bool) -> bool:
        self.held = held
        if held:
            self.confirmed_at = self._clock()
        return held

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
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                return self._saw(self._scalar("SELECT GET_LOCK(%s, 0)") == 1)
            except Exception as exc:  # noqa: BLE001 - no database, no leadership; retried later
                logger.debug("leader lock not acquired: %s: %s", type(exc).__name__, exc)
                self._close()
                return self._saw(False)

    def still_held(self) -> bool:
        """True while the lock connection answers and still owns the lock; any error: False."""
        if not self.enabled:
            return True
        with self._lock:
            if self._conn is None:
                return self._saw(False)
            try:
                held = self._scalar("SELECT IS_USED_LOCK(%s) = CONNECTION_ID()") == 1
            except Exception as exc:  # noqa: BLE001 - a broken lock connection means the lock is gone
                logger.debug("leader lock check failed: %s", type(exc).__name__)
                held = False
            if not held:
                self._close()
            return self._saw(held)

    def confirm(self, max_age: float) -> bool:
        """True when the lock was confirmed within ``max_age`` seconds, else :meth:`still_held`."""
        if not self.enabled:
            return True
        with self._lock:
            if not self.held:
                return False
            if self.confirmed_at is not None and self._clock() - self.confirmed_at <= max_age:
                return True
            return self.still_held()

    def release(self) -> None:
        with self._lock:
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
