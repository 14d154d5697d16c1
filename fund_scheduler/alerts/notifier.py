"""Failure alerts: a notice to a webhook, by email and/or to apprise URLs (ALERT_URLS) when a run
goes wrong, and when it recovers.

The daemon hands every finished history row to :meth:`Notifier.observe` (a subscriber of the
runner's finished runs). The call only puts the row on a bounded queue and returns; one worker
thread does the rest, so a slow or dead channel never touches the scheduler thread:

1. Decide whether the row deserves an alert (:func:`fund_scheduler.alerts.decide.alert_for`).
2. Rate limit: at most one alert per (job, kind) per ``ALERT_MIN_INTERVAL`` seconds. The others
   are counted, and the next alert sent for that job and kind says how many were suppressed.
   ``recovered`` is a kind of its own, so a failure's limit never hides a recovery.
3. Send to each channel with a timeout (``ALERT_TIMEOUT``). A failing channel is logged as a
   warning naming the masked target and the error; the other channels are still tried.

A full queue (a storm while a channel hangs) drops the new alert and counts it. :meth:`close`
drains the queue for at most ``drain_seconds`` (2 s) at shutdown. Without any channel the
notifier is disabled: ``observe`` does nothing and no thread is started.

Example::

    notifier = Notifier([WebhookChannel("http://127.0.0.1:8080/hook", "slack")], engine=engine)
    runner.on_finished.append(notifier.observe)
    ...
    notifier.close()
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from fund_common.texttable import last_line
from fund_scheduler.alerts.channels import Channel, ChannelError, channels_from
from fund_scheduler.alerts.decide import RateLimiter, alert_for
from fund_scheduler.alerts.messages import ERROR_CHARS, Alert
from fund_scheduler.settings import Settings

__all__ = ["Notifier"]

logger = logging.getLogger("scheduler.alerts")

QUEUE_SIZE = 1000  # a catch-up after a long downtime records up to 50 missed rows per job
ROW_KEYS = (
    "id",
    "job_id",
    "status",
    "scheduled_run_time",
    "trigger",
    "error",
    "host",
    "attempt",
    "first_execution_id",
    "retry_at",
)
DRAIN_SECONDS = 2.0

_STOP = object()


class Notifier:
    """Decides, rate-limits and sends alerts on one worker thread; never blocks its callers."""

    def __init__(
        self,
        channels: Iterable[Channel],
        *,
        engine: Engine | None = None,
        min_interval: float = 1800,
        skipped_after: int = 2,
        log_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        queue_size: int = QUEUE_SIZE,
        drain_seconds: float = DRAIN_SECONDS,
    ):
        self.channels = list(channels)
        self.engine = engine
        self.skipped_after = skipped_after
        self.log_dir = log_dir
        self.clock = clock
        self.limiter = RateLimiter(min_interval, clock)
        self.drain_seconds = drain_seconds
        self.sent = 0  # alerts delivered to at least one channel
        self.failed = 0  # channel sends that raised
        self.suppressed = 0  # alerts held back by the rate limit
        self.dropped = 0  # alerts lost to a full queue
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._dropping = False
        self._lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None
        if self.channels:
            self._thread = threading.Thread(target=self._work, name="alerts", daemon=True)
            self._thread.start()

    @classmethod
    def from_settings(
        cls, settings: Settings, engine: Engine, *, clock: Callable[[], float] = time.monotonic
    ) -> Notifier:
        """The notifier the ALERT_* settings describe; logs one line saying what it will do."""
        config = settings.alerts
        channels = channels_from(settings)
        if channels:
            logger.info(
                "alerts to %s; at most one per job and kind every %ss",
                "; ".join(c.target for c in channels),
                config.min_interval,
            )
        else:
            logger.info(
                "alerts disabled: set ALERT_WEBHOOK_URL, ALERT_SMTP_HOST and/or ALERT_URLS to enable them"
            )
        return cls(
            channels,
            engine=engine,
            min_interval=config.min_interval,
            skipped_after=config.skipped_after,
            log_dir=settings.job_log_dir,
            clock=clock,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.channels)

    # -- callers' side (any thread, never blocks) -----------------------------------------------
    def observe(self, row: dict[str, Any] | None) -> None:
        """Hook for ``Runner.on_finished``: queue a finished history row for a decision."""
        if row and self.enabled:
            slim = {key: row.get(key) for key in ROW_KEYS}  # no output tail held in the queue
            slim["error"] = last_line(slim["error"], ERROR_CHARS)
            self._put(("row", slim, self.clock()))

    def notify(self, alert: Alert) -> bool:
        """Queue ``alert`` (rate limit still applies); False when disabled, closed or the queue is full."""
        return self.enabled and self._put(("alert", alert, self.clock()))

    def _put(self, item: tuple) -> bool:
        if self._closed:
            return False
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            with self._lock:
                self.dropped += 1
                first, self._dropping = not self._dropping, True
            if first:
                logger.warning(
                    "alert queue full (%d waiting; a channel is slow?): dropping alerts", self._queue.maxsize
                )
            return False
        with self._lock:
            recovered, self._dropping = self._dropping, False
        if recovered:
            logger.warning("alert queue accepts again; %d alert(s) dropped so far", self.dropped)
        return True

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until everything queued so far was handled."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting alerts; send what is queued for at most ``timeout`` (``drain_seconds``)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is None:
            return
        timeout = self.drain_seconds if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=timeout)
        self._thread.join(max(deadline - time.monotonic(), 0.0))
        if self._thread.is_alive():
            logger.warning(
                "alerts: %d alert(s) still queued at shutdown after %.1fs; not sent",
                self._queue.qsize(),
                timeout,
            )

    # -- the worker ------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                self._handle(*item)
            except Exception:  # noqa: BLE001 - one bad alert never stops the worker
                payload = item[1]
                if isinstance(payload, Alert):
                    job_id, execution_id = payload.job_id, payload.execution_id
                else:
                    job_id, execution_id = payload.get("job_id"), payload.get("id")
                logger.exception("alert job=%s execution=%s could not be handled", job_id, execution_id)
            finally:
                self._queue.task_done()

    def _handle(self, what: str, payload: Any, at: float) -> None:
        if what == "row":
            if self.engine is None:
                return
            alert = alert_for(self.engine, payload, skipped_after=self.skipped_after, log_dir=self.log_dir)
            if alert is None:
                return
        else:
            alert = payload
        admitted, count = self.limiter.admit((alert.job_id, alert.kind), at)
        if not admitted:
            self.suppressed += 1
            logger.debug(
                "alert job=%s execution=%s %s suppressed (rate limit %ss; %d suppressed since the last one)",
                alert.job_id,
                alert.execution_id,
                alert.kind,
                self.limiter.interval,
                count,
            )
            return
        self.deliver(replace(alert, suppressed=count))

    def deliver(self, alert: Alert) -> bool:
        """Send ``alert`` to every channel now (worker thread); True when at least one took it."""
        delivered = False
        for channel in self.channels:
            started = time.monotonic()
            try:
                channel.send(alert)
            except Exception as exc:  # noqa: BLE001 - a channel's failure is logged, never raised
                self.failed += 1
                logger.warning(
                    "alert job=%s execution=%s %s not sent to %s after %.1fs: %s",
                    alert.job_id,
                    alert.execution_id,
                    alert.kind,
                    channel.target,
                    time.monotonic() - started,
                    exc if isinstance(exc, ChannelError) else f"{type(exc).__name__}: {exc}",
                )
            else:
                delivered = True
                logger.info(
                    "alert job=%s execution=%s %s sent to %s%s",
                    alert.job_id,
                    alert.execution_id,
                    alert.kind,
                    channel.target,
                    f" ({alert.suppressed} suppressed before it)" if alert.suppressed else "",
                )
        if delivered:
            self.sent += 1
        return delivered
