"""Logging for the daemon and the CLI: a size-rotated ``scheduler.log`` flushed per line, stderr
optionally, and a filter that masks every known secret in every record.

Logger names are the stable vocabulary of the log (``scheduler.daemon``, ``scheduler.runner``,
``scheduler.alerts``, ...), independent of the module layout, so ``grep`` and log shippers keep
working across releases.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterable

from fund_common.redaction import Redactor, environ_secrets
from fund_scheduler.settings import Settings

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RedactSecrets(logging.Filter):
    """Replace each known secret by ``***`` in the formatted message and traceback."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.redactor = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redactor:
            return True
        message = self.redactor.scrub(record.getMessage())
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.scrub(record.exc_text)
        record.msg, record.args = message, None
        return True


def secrets_of(settings: Settings) -> list[str]:
    """Known secrets: the database password and whatever the environment holds by the rule of
    :func:`fund_common.redaction.environ_secrets` (``*_URL`` credentials, ``*_PASSWORD``,
    ``*_TOKEN``, ``*_SECRET``, ``*_KEY`` values)."""
    found = [settings.database_url.password or ""]
    found += environ_secrets(settings.environ)
    return [s for s in found if s]


def configure(settings: Settings, *, console: bool, to_file: bool = True, level: int = logging.INFO) -> None:
    """Install handlers on the root logger (idempotent: replaces earlier ones)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    redact = RedactSecrets(secrets_of(settings))
    formatter = logging.Formatter(FORMAT)
    handlers: list[logging.Handler] = []
    if to_file:
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                settings.scheduler_log,
                maxBytes=settings.log_max_bytes,
                backupCount=settings.log_backup_count,
                encoding="utf-8",
            )
        )
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redact)
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin
