"""Failure alerts: a notice to a webhook and/or by email when a run goes wrong, and when it recovers.

The daemon hands every finished history row to :meth:`Notifier.observe` (through
``Runner.on_finished``). The call only puts the row on a bounded queue and returns; one worker
thread does the rest, so a slow or dead channel never touches the scheduler thread:

1. Decide whether the row deserves an alert (:func:`alert_for`): ``failed``, ``timeout``,
   ``missed`` and ``interrupted`` always; ``skipped`` from the ``ALERT_SKIPPED_AFTER``-th skipped
   row in a row of that job; ``success`` when the job's previous finished row (read from the
   history table, so it survives restarts) was a failure, or ended a streak of alerted skips:
   kind ``recovered``.
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
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol

import requests
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fund_scheduler.settings import WEBHOOK_FORMATS, Settings, mask_webhook_url, webhook_secrets
from fund_scheduler.store import history

logger = logging.getLogger("scheduler.alerts")

FAILURE_KINDS = ("failed", "timeout", "missed", "interrupted")
KINDS = (*FAILURE_KINDS, "skipped", "recovered")
QUEUE_SIZE = 1000  # a catch-up after a long downtime records up to 50 missed rows per job
ROW_KEYS = ("id", "job_id", "status", "scheduled_run_time", "trigger", "error", "host")
DRAIN_SECONDS = 2.0
ERROR_CHARS = 500
HISTORY_LOOKBACK = 100  # rows read back to find the previous outcome / count a skip streak
PRODUCT = "fund-scheduler"


@dataclass(frozen=True)
class Alert:
    """One notice about one execution of a job."""

    job_id: str
    kind: str  # one of KINDS
    status: str  # the row's status (``success`` for ``recovered``)
    execution_id: int | None = None
    scheduled_run_time: datetime | None = None
    trigger: str | None = None
    error: str | None = None  # the error's last line
    log_path: str | None = None
    host: str | None = None
    previous_status: str | None = None  # what ``recovered`` recovered from
    in_a_row: int = 1  # skipped rows in a row, for ``skipped``
    suppressed: int = 0  # alerts of this job and kind suppressed since the last one sent

    @property
    def title(self) -> str:
        if self.kind == "recovered":
            what = f"recovered (success after {self.previous_status})"
        elif self.kind == "skipped":
            what = f"skipped {self.in_a_row} times in a row"
        else:
            what = self.status
        return f"{PRODUCT}: job {self.job_id} {what}"

    def fields(self, tz: tzinfo = UTC) -> list[tuple[str, str]]:
        """The message's lines as (label, value), in order."""
        if self.scheduled_run_time is not None:
            local = self.scheduled_run_time.astimezone(tz)
            scheduled = f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"
        else:
            scheduled = f"none ({self.trigger or 'manual'} run)"
        status = self.status if self.kind != "recovered" else f"success, after {self.previous_status}"
        rows = [("Job", self.job_id), ("Status", status), ("Scheduled", scheduled)]
        if self.error:
            rows.append(("Error", self.error))
        if self.log_path:
            rows.append(("Log", self.log_path))
        if self.execution_id is not None:
            rows.append(("Execution", f"{self.execution_id} on {self.host or '?'}"))
        if self.suppressed:
            rows.append(
                ("Suppressed", f"{self.suppressed} earlier {self.kind} alert(s) of this job (rate limit)")
            )
        return rows

    def text(self, tz: tzinfo = UTC) -> str:
        return "\n".join([self.title, *(f"{label}: {value}" for label, value in self.fields(tz))])

    def markdown(self, tz: tzinfo = UTC) -> str:
        lines = [f"**{_md(self.title)}**", ""]
        for label, value in self.fields(tz):
            shown = "`" + value.replace("`", "'") + "`" if label in ("Error", "Log") else _md(value)
            lines.append(f"- {label}: {shown}")
        return "\n".join(lines)

    def as_json(self, tz: tzinfo = UTC) -> dict[str, Any]:
        """The generic webhook body."""
        return {
            "job": self.job_id,
            "status": self.status,
            "kind": self.kind,
            "scheduled_run_time": (
                self.scheduled_run_time.astimezone(tz).isoformat() if self.scheduled_run_time else None
            ),
            "error": self.error,
            "log_path": self.log_path,
            "execution_id": self.execution_id,
            "host": self.host,
            "suppressed": self.suppressed,
            "previous_status": self.previous_status,
            "text": self.text(tz),
        }


def _md(text: str) -> str:
    for char in "\\*_`[]":
        text = text.replace(char, f"\\{char}")
    return text


def last_line(text: str | None, limit: int = ERROR_CHARS) -> str | None:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return None
    line = lines[-1]
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- deciding ------------------------------------------------------------------------------------
def _previous_statuses(engine: Engine, job_id: str, before_id: int) -> list[str]:
    """Statuses of the job's finished rows older than ``before_id``, newest first."""
    table = history.job_executions
    query = (
        select(table.c.status)
        .where(table.c.job_id == job_id, table.c.id < before_id, table.c.status != "running")
        .order_by(table.c.id.desc())
        .limit(HISTORY_LOOKBACK)
    )
    with engine.begin() as conn:
        return [status for (status,) in conn.execute(query)]


def alert_for(
    engine: Engine, row: dict[str, Any], *, skipped_after: int = 2, log_dir: Path | None = None
) -> Alert | None:
    """The alert a finished history ``row`` calls for, or None. Reads the job's earlier rows."""
    status = row["status"]
    base = Alert(
        job_id=row["job_id"],
        kind=status,
        status=status,
        execution_id=row.get("id"),
        scheduled_run_time=row.get("scheduled_run_time"),
        trigger=row.get("trigger"),
        error=last_line(row.get("error")),
        log_path=str(log_dir / f"{row['job_id']}.log") if log_dir is not None else None,
        host=row.get("host") or socket.gethostname(),
    )
    if status in FAILURE_KINDS:
        return base
    if status not in ("skipped", "success") or row.get("id") is None:
        return None
    earlier = _previous_statuses(engine, row["job_id"], row["id"])
    skips = next((i for i, s in enumerate(earlier) if s != "skipped"), len(earlier))
    if status == "skipped":
        in_a_row = skips + 1
        return replace(base, in_a_row=in_a_row) if in_a_row >= skipped_after else None
    before = earlier[skips] if skips < len(earlier) else None
    if before in FAILURE_KINDS:
        return replace(base, kind="recovered", previous_status=before)
    if skips >= skipped_after:
        return replace(base, kind="recovered", previous_status=f"{skips} skipped runs")
    return None


class RateLimiter:
    """At most one pass per key per ``interval`` seconds of ``clock``; counts the refused ones."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, str], now: float | None = None) -> tuple[bool, int]:
        """(True, suppressed since the last pass) to send; (False, suppressed so far) to hold back."""
        now = self.clock() if now is None else now
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False, self._suppressed[key]
            self._last[key] = now
            return True, self._suppressed.pop(key, 0)


# -- channels ------------------------------------------------------------------------------------
class Channel(Protocol):
    target: str  # printable, no secret

    def send(self, alert: Alert) -> None:
        """Deliver ``alert`` or raise."""


class ChannelError(Exception):
    """A channel answered, but not with success."""


class WebhookChannel:
    """POSTs the alert as JSON in one of the WEBHOOK_FORMATS."""

    def __init__(self, url: str, fmt: str = "json", *, timeout: float = 10.0, timezone: tzinfo = UTC):
        if fmt not in WEBHOOK_FORMATS:
            raise ValueError(f"webhook format {fmt!r} is not one of {', '.join(WEBHOOK_FORMATS)}")
        self.url = url
        self.format = fmt
        self.timeout = timeout
        self.timezone = timezone
        self.target = f"webhook {mask_webhook_url(url)} ({fmt})"
        self._secrets = webhook_secrets(url)

    def __repr__(self) -> str:
        return f"WebhookChannel({self.target!r})"

    def body(self, alert: Alert) -> dict[str, Any]:
        tz = self.timezone
        if self.format == "wecom":
            return {"msgtype": "markdown", "markdown": {"content": alert.markdown(tz)}}
        if self.format == "dingtalk":
            return {"msgtype": "markdown", "markdown": {"title": alert.title, "text": alert.markdown(tz)}}
        if self.format == "slack":
            return {"text": alert.text(tz)}
        return alert.as_json(tz)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def send(self, alert: Alert) -> None:
        try:
            response = requests.post(self.url, json=self.body(alert), timeout=(self.timeout, self.timeout))
        except requests.RequestException as exc:
            # requests puts the URL (and so the key) into its messages: never let it through.
            raise ChannelError(self.scrub(f"{type(exc).__name__}: {exc}")) from None
        if response.status_code >= 300:
            raise ChannelError(f"HTTP {response.status_code}: {self.scrub(response.text[:200])}")
        if self.format in ("wecom", "dingtalk"):
            # Both robots answer 200 with {"errcode": N, "errmsg": ...}; N != 0 is a refusal.
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
                raise ChannelError(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")


class EmailChannel:
    """Sends the alert as a plain-text mail through SMTP (STARTTLS and login when configured)."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        to: Sequence[str],
        sender: str | None = None,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
        timezone: tzinfo = UTC,
    ):
        self.host, self.port = host, port
        self.to = tuple(to)
        self.sender = sender or user or f"{PRODUCT}@{socket.gethostname()}"
        if "@" not in self.sender:
            self.sender = f"{self.sender}@{host}"
        self.user, self.password = user, password
        self.starttls = starttls
        self.timeout = timeout
        self.timezone = timezone
        self.target = f"smtp {host}:{port} to {', '.join(self.to)}"

    def __repr__(self) -> str:
        return f"EmailChannel({self.target!r})"

    def message(self, alert: Alert) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = alert.title
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=socket.gethostname())
        msg.set_content(alert.text(self.timezone) + "\n")
        return msg

    def send(self, alert: Alert) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(self.message(alert))


def channels_from(settings: Settings) -> list[Channel]:
    """The channels the ALERT_* settings configure (none: alerts disabled)."""
    config = settings.alerts
    channels: list[Channel] = []
    if config.webhook_url:
        channels.append(
            WebhookChannel(
                config.webhook_url,
                config.webhook_format,
                timeout=config.timeout,
                timezone=settings.timezone,
            )
        )
    if config.smtp_host:
        channels.append(
            EmailChannel(
                config.smtp_host,
                config.smtp_port,
                to=config.smtp_to,
                sender=config.smtp_from,
                user=config.smtp_user,
                password=config.smtp_password,
                starttls=config.smtp_starttls,
                timeout=config.timeout,
                timezone=settings.timezone,
            )
        )
    return channels


# -- the notifier --------------------------------------------------------------------------------
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
            logger.info("alerts disabled: set ALERT_WEBHOOK_URL and/or ALERT_SMTP_HOST to enable them")
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
            slim["error"] = last_line(slim["error"])
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
