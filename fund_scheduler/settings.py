"""Daemon settings from environment variables (and ``.env`` through python-dotenv), validated.

Every invalid value raises :class:`~fund_scheduler.errors.ConfigError` whose message names the
variable and the value, so the CLI can print one line and exit with status 2 before anything
starts. Reading settings has no side effects: no directory is created and nothing connects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from fund_scheduler.errors import ConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent
SUPPORTED_BACKENDS = ("sqlite", "mysql")
SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "mysql+pymysql")


def load_dotenv_files(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Load ``$SCHEDULER_HOME/.env`` and the project's ``.env`` into ``os.environ``.

    Variables already set in the environment win over the files. Returns the files read.
    """
    from dotenv import load_dotenv

    environ = os.environ if environ is None else environ
    candidates = []
    if environ.get("SCHEDULER_HOME"):
        candidates.append(Path(environ["SCHEDULER_HOME"]) / ".env")
    candidates.append(PROJECT_DIR / ".env")
    loaded = []
    for path in dict.fromkeys(candidates):
        if path.is_file():
            load_dotenv(path, override=False)
            loaded.append(path)
    return loaded


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    value = _int(environ, name, default, minimum=0)
    if value > 65535:
        raise ConfigError(f"{name}={value} is not a TCP port (0..65535; 0 disables)")
    return value


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true or false)")


def parse_timezone(value: str, name: str = "SCHEDULER_TIMEZONE") -> ZoneInfo:
    """Return the IANA zone ``value``; raise ConfigError naming ``name`` when unknown."""
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"{name}={value!r} is not a known IANA timezone") from None


def _database_url(environ: Mapping[str, str], home: Path) -> URL:
    raw = environ.get("DATABASE_URL", "").strip()
    if raw:
        try:
            url = make_url(raw)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise ConfigError(f"DATABASE_URL={mask_url_text(raw)!r} is not a valid database URL") from None
    elif environ.get("MYSQL_HOST", "").strip():
        missing = [n for n in ("MYSQL_USER", "MYSQL_DB") if not environ.get(n, "").strip()]
        if missing:
            raise ConfigError(f"MYSQL_HOST is set but {', '.join(missing)} is not")
        url = URL.create(
            "mysql+pymysql",
            username=environ["MYSQL_USER"].strip(),
            password=environ.get("MYSQL_PASSWORD") or None,
            host=environ["MYSQL_HOST"].strip(),
            port=_int(environ, "MYSQL_PORT", 3306, minimum=1),
            database=environ["MYSQL_DB"].strip(),
            query={"charset": "utf8mb4"},
        )
    else:
        url = URL.create("sqlite", database=str(home / "data" / "scheduler.db"))
    shown = mask_url_text(raw) if raw else url.render_as_string(hide_password=True)
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigError(
            f"DATABASE_URL={shown!r}: backend "
            f"{url.get_backend_name()!r} is not supported (use sqlite or mysql+pymysql)"
        )
    if url.drivername == "mysql":  # no driver named: the default (MySQLdb) is not installed
        url = url.set(drivername="mysql+pymysql")
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(
            f"DATABASE_URL={shown!r}: driver {url.drivername!r} is not supported "
            "(use sqlite or mysql+pymysql)"
        )
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise ConfigError(
            f"DATABASE_URL={shown!r}: an in-memory SQLite database cannot be shared by the daemon, "
            "the CLI and job processes; give a file path"
        )
    return url


def mask_url_text(raw: str) -> str:
    """Mask the password in a URL-like string that may not even parse."""
    scheme, sep, rest = raw.partition("://")
    if not sep or "@" not in rest:
        return raw
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else raw


WEBHOOK_FORMATS = ("json", "wecom", "dingtalk", "slack")


def webhook_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that may be a key: password, query values, path after the first
    segment (Slack and Discord put the token in the path)."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(url)
    found = [parts.password or ""]
    found += [value for _key, value in parse_qsl(parts.query)]
    found += [segment for segment in parts.path.split("/")[2:] if segment]
    return [s for s in found if len(s) >= 3]


def mask_webhook_url(url: str) -> str:
    """``url`` fit for a log line: no user info, query values and the path after its first segment
    shown as ``***`` (``https://qyapi.weixin.qq.com/cgi-bin/***?key=***``)."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    segments = parts.path.split("/")
    path = "/".join(segments[:2]) + ("/***" if any(segments[2:]) else "")
    query = "&".join(f"{key}=***" for key, _value in parse_qsl(parts.query, keep_blank_values=True))
    return f"{parts.scheme}://{host}{path}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class AlertSettings:
    """The ALERT_* settings; alerts are off while neither a webhook nor an SMTP host is set."""

    webhook_url: str | None = field(default=None, repr=False)
    webhook_format: str = "json"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str | None = None
    smtp_to: tuple[str, ...] = ()
    smtp_starttls: bool = True
    min_interval: int = 1800
    skipped_after: int = 2
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or self.smtp_host)

    @property
    def masked_webhook_url(self) -> str | None:
        return mask_webhook_url(self.webhook_url) if self.webhook_url else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AlertSettings:
        """Read and validate the ALERT_* variables; raise ConfigError naming the first bad one."""
        from urllib.parse import urlsplit

        def text(name: str) -> str | None:
            return environ.get(name, "").strip() or None

        url = text("ALERT_WEBHOOK_URL")
        if url:
            try:
                parts = urlsplit(url)
                parts.port  # noqa: B018 - raises ValueError on a bad port
            except ValueError:
                parts = None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(
                    f"ALERT_WEBHOOK_URL={mask_webhook_url(url)!r} is not an http(s) URL with a host"
                )
        fmt = (text("ALERT_WEBHOOK_FORMAT") or "json").lower()
        if fmt not in WEBHOOK_FORMATS:
            raise ConfigError(
                f"ALERT_WEBHOOK_FORMAT={environ['ALERT_WEBHOOK_FORMAT']!r} is not one of "
                f"{', '.join(WEBHOOK_FORMATS)}"
            )
        host = text("ALERT_SMTP_HOST")
        port = _int(environ, "ALERT_SMTP_PORT", 587, minimum=1)
        if port > 65535:
            raise ConfigError(f"ALERT_SMTP_PORT={port} is not a TCP port (1..65535)")
        to = tuple(a.strip() for a in environ.get("ALERT_SMTP_TO", "").split(",") if a.strip())
        for address in to:
            if "@" not in address:
                raise ConfigError(f"ALERT_SMTP_TO: {address!r} is not an email address")
        sender = text("ALERT_SMTP_FROM")
        if sender and "@" not in sender:
            raise ConfigError(f"ALERT_SMTP_FROM={sender!r} is not an email address")
        user, password = text("ALERT_SMTP_USER"), environ.get("ALERT_SMTP_PASSWORD") or None
        if host and not to:
            raise ConfigError("ALERT_SMTP_HOST is set but ALERT_SMTP_TO is not: name who gets the mail")
        if not host:
            given = [n for n in ("ALERT_SMTP_TO", "ALERT_SMTP_USER", "ALERT_SMTP_FROM") if text(n)]
            if given or password:
                raise ConfigError(
                    f"{given[0] if given else 'ALERT_SMTP_PASSWORD'} is set but ALERT_SMTP_HOST is not"
                )
        if password and not user:
            raise ConfigError("ALERT_SMTP_PASSWORD is set but ALERT_SMTP_USER is not")
        raw_timeout = environ.get("ALERT_TIMEOUT", "").strip()
        timeout = 10.0
        if raw_timeout:
            try:
                timeout = float(raw_timeout)
            except ValueError:
                raise ConfigError(f"ALERT_TIMEOUT={raw_timeout!r} is not a number of seconds") from None
            if not 0 < timeout <= 300:
                raise ConfigError(f"ALERT_TIMEOUT={raw_timeout!r} must be above 0 and at most 300 seconds")
        return cls(
            webhook_url=url,
            webhook_format=fmt,
            smtp_host=host,
            smtp_port=port,
            smtp_user=user,
            smtp_password=password,
            smtp_from=sender,
            smtp_to=to,
            smtp_starttls=_bool(environ, "ALERT_SMTP_STARTTLS", True),
            min_interval=_int(environ, "ALERT_MIN_INTERVAL", 1800, minimum=0),
            skipped_after=_int(environ, "ALERT_SKIPPED_AFTER", 2, minimum=1),
            timeout=timeout,
        )

    def describe(self) -> dict[str, str]:
        """The ALERT_* settings as printable strings, secrets masked."""
        if not self.enabled:
            return {"ALERT_WEBHOOK_URL": "(unset)", "ALERT_SMTP_HOST": "(unset: alerts disabled)"}
        shown = {
            "ALERT_WEBHOOK_URL": self.masked_webhook_url or "(unset)",
            "ALERT_WEBHOOK_FORMAT": self.webhook_format,
            "ALERT_SMTP_HOST": self.smtp_host or "(unset)",
        }
        if self.smtp_host:
            shown.update(
                {
                    "ALERT_SMTP_PORT": str(self.smtp_port),
                    "ALERT_SMTP_USER": self.smtp_user or "(unset)",
                    "ALERT_SMTP_PASSWORD": "***" if self.smtp_password else "(unset)",
                    "ALERT_SMTP_FROM": self.smtp_from or "(default)",
                    "ALERT_SMTP_TO": ",".join(self.smtp_to),
                    "ALERT_SMTP_STARTTLS": str(self.smtp_starttls).lower(),
                }
            )
        shown.update(
            {
                "ALERT_MIN_INTERVAL": str(self.min_interval),
                "ALERT_SKIPPED_AFTER": str(self.skipped_after),
                "ALERT_TIMEOUT": f"{self.timeout:g}",
            }
        )
        return shown


@dataclass(frozen=True)
class Settings:
    """Validated daemon settings. Build with :meth:`from_env`."""

    home: Path
    database_url: URL
    timezone: ZoneInfo
    log_dir: Path
    pid_file: Path
    misfire_grace_time: int = 3600
    log_max_bytes: int = 10 * 1024 * 1024
    log_backup_count: int = 5
    job_log_max_bytes: int = 20 * 1024 * 1024
    max_workers: int = 4
    stop_timeout: int = 30
    history_retention_days: int = 7
    run_on_first_start: bool = True
    jobs_config: Path = PROJECT_DIR / "config" / "jobs.toml"
    jobs_packages: tuple[str, ...] = ("jobs",)
    http_host: str = "127.0.0.1"
    http_port: int = 5000
    api_token: str | None = field(default=None, repr=False)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise ConfigError on the first invalid one."""
        environ = dict(os.environ if environ is None else environ)
        home = Path(environ.get("SCHEDULER_HOME") or PROJECT_DIR).expanduser().resolve()
        log_dir = Path(environ.get("SCHEDULER_LOG_DIR") or home / "logs").expanduser()
        pid_file = Path(environ.get("SCHEDULER_PID_FILE") or log_dir / "scheduler.pid").expanduser()
        jobs_config = Path(
            environ.get("SCHEDULER_JOBS_CONFIG") or PROJECT_DIR / "config" / "jobs.toml"
        ).expanduser()
        packages = tuple(
            p.strip() for p in environ.get("SCHEDULER_JOBS_PACKAGES", "jobs").split(",") if p.strip()
        )
        if not packages:
            raise ConfigError("SCHEDULER_JOBS_PACKAGES is empty: name at least one package")
        return cls(
            home=home,
            database_url=_database_url(environ, home),
            timezone=parse_timezone(environ.get("SCHEDULER_TIMEZONE", "").strip() or "Asia/Shanghai"),
            log_dir=log_dir.resolve(),
            pid_file=pid_file.resolve(),
            misfire_grace_time=_int(environ, "SCHEDULER_MISFIRE_GRACE_TIME", 3600, minimum=1),
            log_max_bytes=_int(environ, "SCHEDULER_LOG_MAX_BYTES", 10 * 1024 * 1024, minimum=1024),
            log_backup_count=_int(environ, "SCHEDULER_LOG_BACKUP_COUNT", 5, minimum=0),
            job_log_max_bytes=_int(environ, "SCHEDULER_JOB_LOG_MAX_BYTES", 20 * 1024 * 1024, minimum=1024),
            max_workers=_int(environ, "SCHEDULER_MAX_WORKERS", 4, minimum=1),
            stop_timeout=_int(environ, "SCHEDULER_STOP_TIMEOUT", 30, minimum=0),
            history_retention_days=_int(environ, "HISTORY_RETENTION_DAYS", 7, minimum=1),
            run_on_first_start=_bool(environ, "SCHEDULER_RUN_ON_FIRST_START", True),
            jobs_config=jobs_config.resolve(),
            jobs_packages=packages,
            http_host=environ.get("SCHEDULER_HTTP_HOST", "").strip() or "127.0.0.1",
            http_port=_port(environ, "SCHEDULER_HTTP_PORT", 5000),
            api_token=environ.get("SCHEDULER_API_TOKEN", "").strip() or None,
            alerts=AlertSettings.from_env(environ),
            environ=environ,
        )

    @property
    def control_socket(self) -> Path:
        """The daemon's Unix control socket, beside the PID file."""
        return self.pid_file.with_suffix(".sock")

    @property
    def scheduler_log(self) -> Path:
        return self.log_dir / "scheduler.log"

    @property
    def job_log_dir(self) -> Path:
        return self.log_dir / "jobs"

    @property
    def http_url(self) -> str | None:
        """The base URL of the daemon's HTTP server, or None when SCHEDULER_HTTP_PORT is 0."""
        if not self.http_port:
            return None
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def masked_database_url(self) -> str:
        return self.database_url.render_as_string(hide_password=True)

    def describe(self) -> dict[str, str]:
        """The settings as printable strings, with the database password masked."""
        return {
            "SCHEDULER_HOME": str(self.home),
            "DATABASE_URL": self.masked_database_url,
            "SCHEDULER_TIMEZONE": str(self.timezone),
            "SCHEDULER_LOG_DIR": str(self.log_dir),
            "SCHEDULER_PID_FILE": str(self.pid_file),
            "SCHEDULER_MISFIRE_GRACE_TIME": str(self.misfire_grace_time),
            "SCHEDULER_LOG_MAX_BYTES": str(self.log_max_bytes),
            "SCHEDULER_LOG_BACKUP_COUNT": str(self.log_backup_count),
            "SCHEDULER_JOB_LOG_MAX_BYTES": str(self.job_log_max_bytes),
            "SCHEDULER_MAX_WORKERS": str(self.max_workers),
            "SCHEDULER_STOP_TIMEOUT": str(self.stop_timeout),
            "SCHEDULER_RUN_ON_FIRST_START": str(self.run_on_first_start).lower(),
            "SCHEDULER_JOBS_CONFIG": str(self.jobs_config),
            "SCHEDULER_JOBS_PACKAGES": ",".join(self.jobs_packages),
            "HISTORY_RETENTION_DAYS": str(self.history_retention_days),
            "SCHEDULER_HTTP_HOST": self.http_host,
            "SCHEDULER_HTTP_PORT": str(self.http_port) + ("" if self.http_port else " (HTTP disabled)"),
            "SCHEDULER_API_TOKEN": "***" if self.api_token else "(unset: write endpoints disabled)",
            **self.alerts.describe(),
        }
