"""Logging for the daemon and the CLI: a size-rotated ``scheduler.log`` flushed per line, stderr
optionally, a filter that masks every known secret in every record, and a formatter that keeps
each record on one line whatever its message holds (:class:`OneLineFormatter`), or, with
``SCHEDULER_LOG_FORMAT=json``, one JSON object a line in ``scheduler.log`` for log shippers
(:class:`JsonLineFormatter`; stderr stays text for people: :func:`file_formatter`).

The daemon logs through a queue (``configure(..., queued=True)``): a thread that logs only hands
its record over, and one writer thread formats, masks and writes every record in order, so two
hundred runs a second never wait for each other at ``scheduler.log``.

A log file that cannot be written (disk full, folder gone) is a :class:`WriteFailure`: counted,
shown by ``/health`` and ``status`` (:func:`log_problems`), retried, and summed up in the log
once it can be written again; logging never gives up and never stops the daemon.

Logger names are the stable vocabulary of the log (``scheduler.daemon``, ``scheduler.runner``,
``scheduler.alerts``, ...), independent of the module layout, so ``grep`` and log shippers keep
working across releases.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import logging
import logging.handlers
import queue
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from fund_common.clock import utcnow
from fund_common.escaping import one_line, traceback_text
from fund_common.redaction import Redactor, environ_secrets, service_url_secrets
from fund_scheduler.settings import Settings

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RedactSecrets(logging.Filter):
    """Replace each known secret by ``***`` in the formatted message and traceback, and mask the
    credentials of any URL there (:meth:`fund_common.redaction.Redactor.scrub`)."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.redactor = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = self.redactor.scrub(record.getMessage())
        if record.exc_info and not record.exc_text:
            record.exc_text = traceback_text(record.exc_info[1]) if record.exc_info[1] else None
        if record.exc_text:
            record.exc_text = self.redactor.scrub(record.exc_text)
        record.msg, record.args = message, None
        return True


class OneLineFormatter(logging.Formatter):
    """:data:`FORMAT` with one line per record: every control character of the message (a file
    name, a job's output, an exception's text) shown by its escape (``\\n``, ``\\x1b``:
    :func:`fund_common.escaping.one_line`). A record's traceback follows on lines of its own;
    its frames are the program's, its exception messages one line each
    (:func:`fund_common.escaping.traceback_text`)."""

    def __init__(self, fmt: str = FORMAT):
        super().__init__(fmt)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return one_line(super().formatMessage(record))

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return traceback_text(ei[1]) if ei[1] is not None else ""


#: A job's subject at the start of a message, as the daemon's lines name it: ``job=<id>``, then
#: ``execution=<n>`` (``job=daily_collection execution=42 success``, ``execution=42 cancelled ...``).
_SUBJECT = re.compile(
    r"(?:job=(?P<job>[a-z][a-z0-9_]{0,62})(?=[\s:;,]|$)[ ]?)?(?:execution=(?P<execution>\d+)(?=[\s:;,]|$))?"
)
#: What ``json.dumps(ensure_ascii=False)`` leaves raw and some reader takes for a line's end or a
#: terminal's command (DEL, C1, U+2028, U+2029): written as JSON escapes.
_RAW_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


def job_fields(record: logging.LogRecord, message: str) -> dict[str, Any]:
    """``job_id`` and ``execution_id`` of ``record`` when it names them: its ``job_id`` /
    ``execution_id`` attributes (``extra=``) first, else its logger ``jobs.<id>`` (a job's own),
    else the ``job=<id>`` / ``execution=<n>`` its message starts with."""
    found: dict[str, Any] = {}
    subject = _SUBJECT.match(message)
    job = getattr(record, "job_id", None)
    if job is None and record.name.startswith("jobs."):
        job = record.name.removeprefix("jobs.")
    if job is None and subject is not None:
        job = subject["job"]
    if job is not None:
        found["job_id"] = one_line(str(job))
    execution = getattr(record, "execution_id", None)
    if execution is None and subject is not None and subject["execution"] is not None:
        execution = int(subject["execution"])
    if execution is not None:
        found["execution_id"] = execution if isinstance(execution, int) else one_line(str(execution))
    return found


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line (``SCHEDULER_LOG_FORMAT=json``): ``time`` (ISO 8601 in the process's
    local time with its offset, milliseconds), ``level``, ``logger``, ``message`` (exactly as
    :class:`OneLineFormatter` shows it), ``process`` (id), ``thread`` (name); ``job_id`` and
    ``execution_id`` when the record names them (:func:`job_fields`); ``exc_info`` (the traceback,
    masked as in text mode) and ``stack_info`` when it has them. Other ``extra=`` attributes are not
    written (nothing masks them). Non-ASCII stays readable; every character some reader would
    take for a line's end is a JSON escape, so the object never spans two lines."""

    def __init__(self) -> None:
        super().__init__(json_ensure_ascii=False)

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_text:  # the text RedactSecrets masked, not a fresh one
            record = copy.copy(record)
            record.exc_info = None
        return super().format(record)

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return traceback_text(ei[1]) if ei[1] is not None else ""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        message = one_line(record.message)
        log_data["time"] = (
            datetime.fromtimestamp(record.created, UTC).astimezone().isoformat("T", "milliseconds")
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = message
        log_data["process"] = record.process
        log_data["thread"] = record.threadName
        log_data.update(job_fields(record, message))
        for key in ("exc_info", "stack_info"):
            if message_dict.get(key):
                log_data[key] = message_dict[key]

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        return _RAW_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", super().jsonify_log_record(log_data))


def file_formatter(settings: Settings) -> logging.Formatter:
    """The formatter of ``scheduler.log`` by ``SCHEDULER_LOG_FORMAT``: :class:`OneLineFormatter`
    (``text``) or :class:`JsonLineFormatter` (``json``)."""
    return JsonLineFormatter() if settings.log_format == "json" else OneLineFormatter()


def secrets_of(settings: Settings) -> list[str]:
    """Known secrets: the database password and whatever the environment holds by the rule of
    :func:`fund_common.redaction.environ_secrets` (``*_URL`` credentials, ``*_PASSWORD``,
    ``*_TOKEN``, ``*_SECRET``, ``*_KEY`` values, each of ``*_URLS``' keys) and the keys of every
    ALERT_URLS entry, ALERT_URLS_FILE's included (:func:`fund_common.redaction.service_url_secrets`)."""
    found = [settings.database_url.password or ""]
    found += environ_secrets(settings.environ)
    for url in settings.alerts.urls:
        found += service_url_secrets(url)
    return [s for s in found if s]


class _Enqueue(logging.handlers.QueueHandler):
    """Hands a copy of each record to the writer thread, its message merged with its arguments
    and its traceback as text (the formatter there keeps the traceback on lines of its own)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            if not record.exc_text and record.exc_info[1] is not None:
                record.exc_text = traceback_text(record.exc_info[1])
            record.exc_info = None
        return record


#: The writer thread of a queued configuration (None: records are written by the logging thread).
_listener: logging.handlers.QueueListener | None = None


def _stop_listener() -> None:
    """Write what is queued and stop the writer thread (at exit, and before a new configuration)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        for handler in _listener.handlers:
            handler.close()
        _listener = None


atexit.register(_stop_listener)  # after logging's own exit handler is registered: runs before it


def configure(
    settings: Settings,
    *,
    console: bool,
    to_file: bool = True,
    level: int = logging.INFO,
    queued: bool = False,
    log_file: Path | None = None,
) -> None:
    """Install handlers on the root logger (idempotent: replaces earlier ones); ``queued``: they
    write in a thread of their own, fed by a queue. ``scheduler.log`` (or ``log_file``: a
    worker's) is written in ``SCHEDULER_LOG_FORMAT`` (:func:`file_formatter`), stderr always as
    text."""
    global _listener
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    _stop_listener()
    redact = RedactSecrets(secrets_of(settings))
    handlers: list[logging.Handler] = []
    if to_file:
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        log_handler = RetryingFileHandler(
            log_file or settings.scheduler_log,
            maxBytes=settings.log_max_bytes,
            backupCount=settings.log_backup_count,
            encoding="utf-8",
        )
        log_handler.setFormatter(file_formatter(settings))
        handlers.append(log_handler)
    if console:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(OneLineFormatter())
        handlers.append(stderr)
    for handler in handlers:
        handler.addFilter(redact)
    if queued:
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        _listener = logging.handlers.QueueListener(records, *handlers, respect_handler_level=True)
        _listener.start()
        handlers = [_Enqueue(records)]
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin


@dataclass
class WriteFailure:
    """A log file that cannot be written: why, since when, and how many writes were lost."""

    path: str
    reason: str
    since: datetime
    lost: int = 0

    @classmethod
    def of(cls, path: str | Path, exc: OSError, now: datetime) -> WriteFailure:
        """The failure ``exc`` (``No space left on device``; the file it names when another)."""
        reason = exc.strerror or str(exc)
        if exc.filename is not None and str(exc.filename) != str(path):
            reason = f"{exc.filename}: {reason}"
        return cls(str(path), reason, now)

    @property
    def message(self) -> str:
        """``cannot write <path>: <reason>``."""
        return f"cannot write {self.path}: {self.reason}"

    def problem(self, unit: str) -> str:
        """The problem as ``/health`` and ``status`` list it (``unit``: what ``lost`` counts)."""
        return f"{self.message} (since {_stamp(self.since)}; {unit}: {self.lost})"

    def resumed(self, unit: str, now: datetime) -> str:
        """The line written first once ``path`` can be written again."""
        return (
            f"{self.path} written again; it could not be from {_stamp(self.since)} to {_stamp(now)} "
            f"({self.reason}); {unit}: {self.lost}"
        )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").rstrip()


class RetryingFileHandler(logging.handlers.RotatingFileHandler):
    """``RotatingFileHandler`` that outlives a file it cannot write (disk full, folder gone).

    A record that cannot be written is counted as lost (:attr:`failure`), one line on stderr
    says so when it starts, and the file is reopened at the next record or :meth:`retry`: once
    it can be written, the first line says how many lines were lost, since when and why, and
    logging goes on. Errors other than ``OSError`` are reported as ``logging`` does.
    """

    LOST = "log lines lost"

    def __init__(self, *args, clock: Callable[[], datetime] = utcnow, **kwargs):
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.failure: WriteFailure | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.failure is not None and not self._resume():
            self.failure.lost += 1
            return
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        self._drop_stream()
        if self.failure is None:
            self.failure = WriteFailure.of(self.baseFilename, exc, self.clock())
            with contextlib.suppress(OSError, ValueError):  # stderr gone too: nothing left to tell
                print(f"logging: {self.failure.message}; lines are lost until it can", file=sys.stderr)
        self.failure.lost += 1

    def retry(self) -> WriteFailure | None:
        """Try to write again now (the "written again" line); the failure that remains, or None."""
        with self.lock or contextlib.nullcontext():
            if self.failure is not None:
                self._resume()
            return self.failure

    def _resume(self) -> bool:
        """Write the "written again" line of :attr:`failure`; True (failure cleared) when it worked."""
        assert self.failure is not None
        line = self.failure.resumed(self.LOST, self.clock())
        notice = logging.LogRecord("scheduler.logging", logging.WARNING, __file__, 0, line, None, None)
        try:
            if self.stream is None:
                self.stream = self._open()
            self.stream.write(self.format(notice) + self.terminator)
            self.stream.flush()
        except OSError:
            self._drop_stream()
            return False
        self.failure = None
        return True

    def _drop_stream(self) -> None:
        """Close the stream (its unwritten bytes fail again and are dropped); reopened when next used."""
        stream, self.stream = self.stream, None
        if stream is not None:
            with contextlib.suppress(OSError):  # the buffered bytes that could not be written
                stream.close()


def log_problems() -> list[str]:
    """What this process's file logging cannot write now, each file retried first (``/health``,
    ``status``)."""
    installed = [*logging.getLogger().handlers, *(_listener.handlers if _listener is not None else ())]
    handlers = [h for h in installed if isinstance(h, RetryingFileHandler)]
    failures = [h.retry() for h in handlers]
    return [f.problem(RetryingFileHandler.LOST) for f in failures if f is not None]
