"""The leader's side of runs on worker hosts: each queued run's message sent, its row watched
until it ends, a lost worker's run given up and a queue nobody consumes reported.

:class:`RemoteRuns` holds one thread, the watcher, whatever the number of runs in flight: every
:attr:`RemoteRuns.poll` seconds it reads the rows of the runs waited for in one query and

* hands a final row to its waiter (the runner's thread for that run, which then records it like
  any other run: alerts, retries, dependents, metrics);
* gives up a ``running`` row whose heartbeat is older than the lease (``interrupted``: its worker
  died, froze or lost the database; the job's retries apply);
* fails a ``queued`` row older than the queue timeout ("no worker consumed queue cpu").

Both are conditional writes (:func:`fund_scheduler.store.claims.give_up`): a worker's heartbeat
or outcome that comes first wins. Runs found unfinished when a daemon becomes active (the
previous leader's) are :meth:`RemoteRuns.adopt`\\ ed: watched the same way, their final row
handed to a callback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from fund_common.clock import utcnow
from fund_common.runstatus import FINAL, RunStatus
from fund_scheduler.settings import RemoteSettings
from fund_scheduler.store import claims
from fund_scheduler.store.engine import describe_error, is_database_error

__all__ = ["Publisher", "Released", "RemoteRuns"]

logger = logging.getLogger("scheduler.remote")

#: Seconds between two reads of the rows waited for.
POLL_SECONDS = 0.5
#: Queue depths asked of the broker are reused this long (status, /metrics and the page ask often).
DEPTHS_TTL_SECONDS = 5.0


class Released(Exception):  # noqa: N818 - a signal, not a failure
    """This daemon stopped watching the run (stopping, or no longer the leader): the run goes on
    on its worker, and the next active daemon adopts it."""


class Publisher(Protocol):
    """Sends a run's message to the broker (:class:`fund_scheduler.workers.app.CeleryPublisher`)."""

    def send(self, execution_id: int, queue: str, time_limit: float | None) -> None:
        """Queue ``execution_id`` on ``queue``; ``time_limit``: the worker's hard limit (None: none).
        Raises when the broker cannot be reached."""
        ...

    def queue_depths(self, queues: list[str]) -> dict[str, int | None]:
        """Messages waiting per queue (None: unknown)."""
        ...

    def close(self) -> None: ...


class RemoteRuns:
    """Sends remote runs and watches their rows (one watcher thread for all of them)."""

    def __init__(
        self,
        engine: Engine,
        settings: RemoteSettings,
        publisher: Publisher,
        *,
        clock: Callable[[], datetime] = utcnow,
        poll: float = POLL_SECONDS,
    ):
        self.engine = engine
        self.settings = settings
        self.publisher = publisher
        self.clock = clock
        self.poll = poll
        self._lock = threading.Lock()
        self._waiting: dict[int, Future[dict[str, Any]]] = {}
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._depths: tuple[float, tuple[str, ...], dict[str, int | None]] | None = None

    def send(self, execution_id: int, queue: str, time_limit: float | None) -> None:
        """Hand ``execution_id`` to the broker (raises when it cannot be reached)."""
        self.publisher.send(execution_id, queue, time_limit)

    def watch(self, execution_id: int) -> Future[dict[str, Any]]:
        """A future of ``execution_id``'s final row."""
        with self._lock:
            future = self._waiting.get(execution_id)
            if future is None:
                future = self._waiting[execution_id] = Future()
            self._start()
        return future

    def wait(self, execution_id: int) -> dict[str, Any]:
        """Block until ``execution_id``'s row is final; that row."""
        return self.watch(execution_id).result()

    def adopt(self, rows: list[dict[str, Any]], on_final: Callable[[dict[str, Any]], None]) -> int:
        """Watch remote runs nobody here waits for (a previous leader's), ``on_final`` getting each
        final row; how many were adopted."""
        adopted = 0
        for row in rows:
            with self._lock:
                if row["id"] in self._waiting:
                    continue
            adopted += 1
            self.watch(row["id"]).add_done_callback(lambda done: _hand(done, on_final))
        return adopted

    def queue_depths(self, queues: list[str]) -> dict[str, int | None]:
        """Messages waiting at the broker per queue (None: unknown), at most
        :data:`DEPTHS_TTL_SECONDS` old."""
        wanted = tuple(sorted(queues))
        cached = self._depths
        if cached is not None and cached[1] == wanted and time.monotonic() - cached[0] < DEPTHS_TTL_SECONDS:
            return dict(cached[2])
        depths = self.publisher.queue_depths(list(wanted)) if wanted else {}
        self._depths = (time.monotonic(), wanted, depths)
        return dict(depths)

    def poke(self) -> None:
        """Read the rows now (a cancel was asked, a test moved the clock)."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._waiting)

    def release(self) -> int:
        """Stop waiting for the runs in flight (each waiter gets :class:`Released`; the next active
        daemon adopts them); how many were released."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(Released())
        return len(waiting)

    def close(self) -> None:
        """Release the runs in flight and stop the watcher and the publisher."""
        self.release()
        with self._lock:
            self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.publisher.close()

    def _start(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._watch_loop, name="remote-runs", daemon=True)
            self._thread.start()

    def _watch_loop(self) -> None:
        while True:
            self._wake.wait(self.poll)
            self._wake.clear()
            with self._lock:
                if self._closed:
                    return
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001 - the watcher outlives a database outage
                if not is_database_error(exc):
                    logger.exception("remote runs: the watcher's pass failed")
                else:
                    logger.warning("remote runs: database unavailable (%s); retrying", describe_error(exc))

    def check(self) -> None:
        """One pass: settle the rows waited for (final ones handed over, lost ones given up)."""
        with self._lock:
            ids = list(self._waiting)
        if not ids:
            return
        now = self.clock()
        for row in claims.unfinished(self.engine, ids):
            final = row if row["status"] in FINAL else self._settle(row, now)
            if final is not None:
                self._resolve(final)

    def _settle(self, row: dict[str, Any], now: datetime) -> dict[str, Any] | None:
        """Give up ``row`` when its worker is silent past the lease or no worker took it in time."""
        if row["status"] == RunStatus.RUNNING:
            last = row.get("heartbeat_at") or row["started_at"]
            silent_since = now - timedelta(seconds=self.settings.lease)
            if last > silent_since:
                return None
            error = (
                f"worker {row.get('worker') or '?'} stopped heartbeating (last at "
                f"{last.isoformat(timespec='seconds')}, lease {self.settings.lease:g}s); run given up"
            )
            final = claims.give_up(
                self.engine,
                row["id"],
                RunStatus.INTERRUPTED,
                error,
                was=RunStatus.RUNNING,
                silent_since=silent_since,
                now=now,
            )
            if final is not None:
                logger.error("job=%s execution=%s interrupted: %s", row["job_id"], row["id"], error)
            return final
        queued_at = row.get("queued_at") or row["started_at"]
        if now - queued_at < timedelta(seconds=self.settings.queue_timeout):
            return None
        error = f"no worker consumed queue {row.get('queue')} within {self.settings.queue_timeout:g}s"
        final = claims.give_up(self.engine, row["id"], RunStatus.FAILED, error, was=RunStatus.QUEUED, now=now)
        if final is not None:
            logger.error("job=%s execution=%s failed: %s", row["job_id"], row["id"], error)
        return final

    def _resolve(self, row: dict[str, Any]) -> None:
        with self._lock:
            future = self._waiting.pop(row["id"], None)
        if future is not None and not future.done():
            future.set_result(row)


def _hand(done: Future[dict[str, Any]], on_final: Callable[[dict[str, Any]], None]) -> None:
    if done.exception() is not None:  # released
        return
    try:
        on_final(done.result())
    except Exception:  # noqa: BLE001 - an observer never breaks the watcher
        logger.exception("remote runs: handling an adopted run's end failed")
