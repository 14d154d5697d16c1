"""Logging for the daemon and the CLI: a size-rotated ``scheduler.log`` flushed per line, stderr
optionally, and a filter that masks known secrets in every record."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterable

from fund_scheduler.settings import Settings

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Webhook path segments this long (after the first) are treated as keys; "send", "webhook" are not.
MIN_PATH_SECRET = 8


class RedactSecrets(logging.Filter):
    """Replace each known secret by ``***`` in the formatted message and traceback."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 3]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self.secrets:
            message = message.replace(secret, "***")
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "***")
        record.msg, record.args = message, None
        return True


def secrets_of(settings: Settings) -> list[str]:
    """Known secrets: the database password, tokens, and credentials inside configured URLs."""
    from urllib.parse import parse_qsl, urlsplit

    names = ("MYSQL_PASSWORD", "SCHEDULER_API_TOKEN", "ALERT_SMTP_PASSWORD")
    found = [settings.database_url.password or ""]
    found += [settings.environ.get(n, "") for n in names]
    for name in ("FUND_HTTP_URL", "ALERT_WEBHOOK_URL"):
        raw = settings.environ.get(name, "")
        if not raw:
            continue
        parts = urlsplit(raw)
        found.append(parts.password or "")
        found += [value for _key, value in parse_qsl(parts.query) if "{" not in value]
        if name == "ALERT_WEBHOOK_URL":  # Slack-style keys live in the path: /services/T…/B…/<key>
            found += [seg for seg in parts.path.split("/")[2:] if len(seg) >= MIN_PATH_SECRET]
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
