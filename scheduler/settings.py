"""Daemon settings from environment variables (and ``.env`` through python-dotenv), validated.

Every invalid value raises :class:`~scheduler.errors.ConfigError` whose message names the
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

from scheduler.errors import ConfigError

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
        }
