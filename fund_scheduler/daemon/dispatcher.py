"""Starts the runs asked for ahead (``run_requests``) when they come due, on the active daemon.

One thread waits until the next request is due (at most :data:`POLL_SECONDS`, or until
:meth:`RequestDispatcher.poke`), then starts each due ``retry`` request, and runs the other
passes it was given (the backfills' :meth:`~fund_scheduler.daemon.backfill.Backfills.advance`):

* **claimed atomically** (``pending`` → ``started`` in one UPDATE): of two daemons that both
  think they are active for a moment, one starts it;
* **queued, never skipped**: a job already running as often as its ``max_instances`` allows
  keeps its request ``pending`` (released) and it starts when there is room;
* a request whose job is gone or disabled is ``cancelled`` with the reason; a daemon that is
  stopping or on standby leaves it ``pending`` for the next active daemon.

Its clock is the daemon's (injected in tests); :meth:`RequestDispatcher.tick` is one pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from fund_scheduler.errors import JobBusy, SchedulerError
from fund_scheduler.store import requests
from fund_scheduler.store.engine import describe_error, is_database_error

__all__ = ["POLL_SECONDS", "Refused", "RequestDispatcher", "start_request"]

logger = logging.getLogger("scheduler.requests")

POLL_SECONDS = 5.0  # longest wait between two passes (another daemon may have added requests)
#: The least time between two passes: every finished run pokes the thread (a queued request may
#: have room now); with hundreds of runs a second, their pokes fold into one pass per gap
#: instead of three queries per run.
PASS_GAP = 0.1


class DispatchDaemon(Protocol):
    """What the run requests' passes (this one, the backfills') use of
    :class:`fund_scheduler.daemon.daemon.Daemon`."""

    engine: Engine
    role: str
    clock: Callable[[], datetime]

    @property
    def stopping(self) -> bool: ...

    def run_now(
        self,
        job_id: str,
        trigger: str = "manual",
        *,
        run_date: date | None = None,
        with_dependents: bool = False,
        asked: Mapping[str, Any] | None = None,
        record_busy: bool = True,
    ) -> Any: ...


class RequestDispatcher:
    """The thread that starts due run requests; see the module docstring."""

    def __init__(self, daemon: DispatchDaemon, passes: tuple[Callable[[], int], ...] = ()):
        self._daemon = daemon
        #: Run after the retries in each pass (the backfills' advance), each returning the runs it started.
        self._passes = passes
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._db_down = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="requests", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def poke(self) -> None:
        """Pass again now (a request was added, a run ended, the daemon became active)."""
        self._wake.set()

    def _work(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            wait = POLL_SECONDS
            try:
                self.tick()
                wait = self._until_next_due()
            except Exception:  # noqa: BLE001 - the thread never dies; the next pass retries
                logger.exception("run requests: pass failed")
            self._wake.wait(wait)
            self._stop.wait(PASS_GAP)  # the pokes of this short while (finished runs) make one pass

    def _until_next_due(self) -> float:
        if self._daemon.role != "active":
            return POLL_SECONDS
        due = requests.next_due_at(self._daemon.engine)
        if due is None:
            return POLL_SECONDS
        return min(max((due - self._daemon.clock()).total_seconds(), 0.05), POLL_SECONDS)

    def tick(self) -> int:
        """Start every due retry this daemon may start now; how many started."""
        daemon = self._daemon
        if daemon.role != "active" or daemon.stopping:
            return 0
        try:
            due = requests.due(daemon.engine, daemon.clock(), trigger="retry")
        except Exception as exc:
            if not is_database_error(exc):
                raise
            if not self._db_down:
                logger.error("run requests not read: database unavailable (%s)", describe_error(exc))
            self._db_down = True
            return 0
        self._db_down = False
        started = sum(self._start(request) for request in due)
        return started + sum(one_pass() for one_pass in self._passes)

    def _start(self, request: dict[str, Any]) -> bool:
        """Claim ``request`` and start its run; True when it started."""
        daemon = self._daemon
        try:
            execution_id = start_request(daemon, request, request["trigger"])
        except Refused as refused:
            note = f"not started: {refused}"
            requests.set_state(daemon.engine, request["id"], "started", "cancelled", daemon.clock(), note)
            logger.warning("job=%s request %s %s", request["job_id"], request["id"], note)
            return False
        if execution_id is None:
            return False
        logger.info(
            "job=%s attempt %s started as execution %s (first attempt %s)",
            request["job_id"],
            request["attempt"],
            execution_id,
            request["first_execution_id"],
        )
        return True


class Refused(SchedulerError):
    """A request's job cannot run (it is gone or disabled); the message says why."""


def start_request(daemon: DispatchDaemon, request: dict[str, Any], trigger: str) -> int | None:
    """Claim ``request`` and start its run (``trigger``, its date, parameters, who asked, attempt,
    backfill); the execution id, or None when it must wait (another daemon claimed it, its job
    has no room, this daemon is stopping or on standby: it stays ``pending``). Raises
    :class:`Refused` (the request left ``started``) when its job cannot run."""
    engine = daemon.engine
    if not requests.claim(engine, request["id"], daemon.clock()):
        return None  # another daemon (or a cancel) got there first
    asked = {
        key: request[key]
        for key in ("params", "requested_by", "attempt", "first_execution_id", "backfill_id")
    }
    try:
        execution_id, _done = daemon.run_now(
            request["job_id"],
            trigger=trigger,
            run_date=request["run_date"],
            with_dependents=request["with_dependents"],
            asked=asked,
            record_busy=False,
        )
    except JobBusy:
        requests.release(engine, request["id"], daemon.clock())
        return None
    except SchedulerError as exc:
        if daemon.stopping or daemon.role != "active":
            requests.release(engine, request["id"], daemon.clock())
            return None
        raise Refused(str(exc)) from None
    requests.started(engine, request["id"], execution_id, daemon.clock())
    return int(execution_id)
