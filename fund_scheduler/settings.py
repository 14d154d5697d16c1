"""Daemon settings from environment variables (and ``.env`` through python-dotenv), validated.

Every variable is read with :class:`fund_common.envreader.EnvReader`; an invalid value is one
line naming the variable and the value, and :meth:`Settings.from_env` raises one
:class:`~fund_scheduler.errors.ConfigError` holding every such line, so the CLI prints them all
and exits with status 2 before anything starts. Reading settings has no side effects: no
directory is created and nothing connects. Defaults that depend on where the program lives
(checkout or installed) come from :mod:`fund_scheduler.program`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from fund_common import i18n
from fund_common.envreader import EnvReader
from fund_common.i18n import N_
from fund_common.redaction import mask_service_url, mask_url, split_urls
from fund_scheduler import program
from fund_scheduler.errors import ConfigError

__all__ = ["WEBHOOK_FORMATS", "AlertSettings", "Settings"]

SUPPORTED_BACKENDS = ("sqlite", "mysql")
SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "mysql+pymysql")
WEBHOOK_FORMATS = ("json", "wecom", "dingtalk", "slack")
#: The schema migration runner of the product (``SCHEDULER_MIGRATIONS``' default).
DEFAULT_MIGRATIONS = "fund_scheduler_migrations.runner:upgrade"
#: Why a database URL that reads two ways is refused, and how to write it instead.
AMBIGUOUS_USERINFO = (
    "the password holds an unencoded '@' (or '/', '?', '#'), so part of it could be read as the "
    "host; percent-encode the password ('@' as %40, ':' as %3A, '/' as %2F, '?' as %3F, "
    "'#' as %23, '%' as %25), e.g. python3 -c \"import urllib.parse, getpass; "
    "print(urllib.parse.quote(getpass.getpass(), safe=''))\", or unset DATABASE_URL and set "
    "MYSQL_PASSWORD"
)
#: Earlier names of the default runner, still accepted in ``SCHEDULER_MIGRATIONS``.
LEGACY_MIGRATIONS = {"migrations.runner:upgrade": DEFAULT_MIGRATIONS}


def _database_url(env: EnvReader, home: Path) -> URL | None:
    """The database URL from ``DATABASE_URL`` or ``MYSQL_*``; None (a problem recorded) if invalid."""
    raw = env.raw("DATABASE_URL")
    if raw:
        try:
            url = make_url(raw)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            env.problem(N_("DATABASE_URL={url!r} is not a valid database URL"), url=mask_url(raw))
            return None
    elif env.raw("MYSQL_HOST"):
        missing = [n for n in ("MYSQL_USER", "MYSQL_DB") if not env.raw(n)]
        if missing:
            env.problem(N_("MYSQL_HOST is set but {names} is not"), names=", ".join(missing))
            return None
        url = URL.create(
            "mysql+pymysql",
            username=env.raw("MYSQL_USER"),
            password=env.environ.get("MYSQL_PASSWORD") or None,
            host=env.raw("MYSQL_HOST"),
            port=env.integer("MYSQL_PORT", 3306, minimum=1),
            database=env.raw("MYSQL_DB"),
            query={"charset": "utf8mb4"},
        )
    else:
        return URL.create("sqlite", database=str(home / "data" / "scheduler.db"))
    shown = mask_url(raw) if raw else url.render_as_string(hide_password=True)
    if raw and _hosts_differ(raw, url):
        env.problem(f"DATABASE_URL={shown!r}: {AMBIGUOUS_USERINFO}")
        return None
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        env.problem(
            f"DATABASE_URL={shown!r}: backend {url.get_backend_name()!r} is not supported "
            "(use sqlite or mysql+pymysql)"
        )
        return None
    if url.drivername == "mysql":  # no driver named: the default (MySQLdb) is not installed
        url = url.set(drivername="mysql+pymysql")
    if url.drivername not in SUPPORTED_DRIVERS:
        env.problem(
            f"DATABASE_URL={shown!r}: driver {url.drivername!r} is not supported "
            "(use sqlite or mysql+pymysql)"
        )
        return None
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        env.problem(
            f"DATABASE_URL={shown!r}: an in-memory SQLite database cannot be shared by the daemon, "
            "the CLI and job processes; give a file path"
        )
        return None
    return url


def _hosts_differ(raw: str, url: URL) -> bool:
    """True when SQLAlchemy (password up to the first ``@``) and urllib (user info up to the
    last ``@`` of the host part) read different hosts in ``raw``: an unencoded ``@``, ``/``,
    ``?`` or ``#`` in the password (or an ``@`` in the query), and either reading may show a
    part of the password as the host."""
    if url.get_backend_name() == "sqlite":
        return False
    try:
        host = urlsplit(raw).hostname
    except ValueError:
        return True
    return (host or "") != (url.host or "").lower().strip("[]")


def _port(env: EnvReader, name: str, default: int, minimum: int = 0) -> int:
    value = env.integer(name, default, minimum=minimum)
    if value > 65535:
        env.problem(
            f"{name}={value} is not a TCP port ({minimum}..65535{'; 0 disables' if minimum == 0 else ''})"
        )
        return default
    return value


DEFAULT_UMASK = 0o077
#: Host names the HTTP server always answers to (besides its bind address).
LOCAL_HOST_NAMES = ("localhost", "127.0.0.1", "::1")
_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|[0-9a-f.]*:[0-9a-f.]*:[0-9a-f:.]*")


def _host_names(env: EnvReader, name: str) -> tuple[str, ...]:
    """Comma-separated host names (lower-cased, no port: ``fund.example.com,10.0.0.5``)."""
    names = []
    for word in env.words(name):
        host = word.lower().rstrip(".").removeprefix("[").removesuffix("]")
        if not _HOST_NAME.fullmatch(host):
            env.problem(f"{name}: {word!r} is not a host name or address (no port, no scheme)")
            continue
        names.append(host)
    return tuple(names)


def _optional_path(env: EnvReader, name: str, home: Path) -> Path | None:
    """A file path (relative to ``home``), or None when unset or blank."""
    if not env.text(name):
        return None
    return env.path(name, home, base=home).resolve()


def _umask(env: EnvReader, name: str) -> int:
    """An octal umask (``077``, ``0027``); files the daemon creates get ``0666 & ~umask``."""
    raw = env.text(name)
    if not raw:
        return DEFAULT_UMASK
    try:
        value = int(raw, 8)
    except ValueError:
        value = -1
    if not 0 <= value <= 0o777:
        env.problem(N_("{name}={raw!r} is not an octal umask such as 077 or 027"), name=name, raw=raw)
        return DEFAULT_UMASK
    return value


@dataclass(frozen=True)
class AlertSettings:
    """The ALERT_* settings; alerts are off while no webhook, SMTP host or ALERT_URLS is set."""

    webhook_url: str | None = field(default=None, repr=False)
    webhook_format: str = "json"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str | None = None
    smtp_to: tuple[str, ...] = ()
    smtp_starttls: bool = True
    #: apprise URLs (ALERT_URLS, then the lines of ALERT_URLS_FILE); their keys are secrets.
    urls: tuple[str, ...] = field(default=(), repr=False)
    urls_file: Path | None = None
    min_interval: int = 1800
    skipped_after: int = 2
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or self.smtp_host or self.urls)

    @property
    def masked_webhook_url(self) -> str | None:
        return mask_url(self.webhook_url) if self.webhook_url else None

    @property
    def masked_urls(self) -> tuple[str, ...]:
        """ALERT_URLS as printable, each by :func:`~fund_common.redaction.mask_service_url`."""
        return tuple(mask_service_url(url) for url in self.urls)

    @classmethod
    def read(cls, env: EnvReader) -> AlertSettings:
        """The ALERT_* variables of ``env``; every bad one is recorded in ``env.problems``."""
        from urllib.parse import urlsplit

        url = env.raw("ALERT_WEBHOOK_URL")
        if url:
            try:
                parts = urlsplit(url)
                ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
            except ValueError:  # a bad port
                ok = False
            if not ok:
                env.problem(f"ALERT_WEBHOOK_URL={mask_url(url)!r} is not an http(s) URL with a host")
        fmt = env.choice("ALERT_WEBHOOK_FORMAT", "json", WEBHOOK_FORMATS)
        host = env.raw("ALERT_SMTP_HOST")
        port = _port(env, "ALERT_SMTP_PORT", 587, minimum=1)
        to = env.words("ALERT_SMTP_TO")
        for address in to:
            if "@" not in address:
                env.problem(f"ALERT_SMTP_TO: {address!r} is not an email address")
        sender = env.raw("ALERT_SMTP_FROM")
        if sender and "@" not in sender:
            env.problem(f"ALERT_SMTP_FROM={sender!r} is not an email address")
        user, password = env.raw("ALERT_SMTP_USER"), env.environ.get("ALERT_SMTP_PASSWORD") or None
        if host and not to:
            env.problem(N_("ALERT_SMTP_HOST is set but ALERT_SMTP_TO is not: name who gets the mail"))
        if not host:
            given = [n for n in ("ALERT_SMTP_TO", "ALERT_SMTP_USER", "ALERT_SMTP_FROM") if env.raw(n)]
            if given or password:
                env.problem(
                    f"{given[0] if given else 'ALERT_SMTP_PASSWORD'} is set but ALERT_SMTP_HOST is not"
                )
        if password and not user:
            env.problem("ALERT_SMTP_PASSWORD is set but ALERT_SMTP_USER is not")
        urls, urls_file = _alert_urls(env)
        return cls(
            webhook_url=url,
            webhook_format=fmt,
            smtp_host=host,
            smtp_port=port,
            smtp_user=user,
            smtp_password=password,
            smtp_from=sender,
            smtp_to=to,
            smtp_starttls=env.boolean("ALERT_SMTP_STARTTLS", True),
            urls=urls,
            urls_file=urls_file,
            min_interval=env.integer("ALERT_MIN_INTERVAL", 1800, minimum=0),
            skipped_after=env.integer("ALERT_SKIPPED_AFTER", 2, minimum=1),
            timeout=env.number("ALERT_TIMEOUT", 10.0, above=0, maximum=300),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AlertSettings:
        """Read and validate the ALERT_* variables; ConfigError with every problem."""
        env = EnvReader(environ)
        alerts = cls.read(env)
        env.raise_problems(ConfigError)
        return alerts

    def describe(self) -> dict[str, str]:
        """The ALERT_* settings as printable strings, secrets masked."""
        if not self.enabled:
            return {"ALERT_WEBHOOK_URL": "(unset)", "ALERT_SMTP_HOST": "(unset: alerts disabled)"}
        shown = {
            "ALERT_WEBHOOK_URL": self.masked_webhook_url or "(unset)",
            "ALERT_WEBHOOK_FORMAT": self.webhook_format,
            "ALERT_SMTP_HOST": self.smtp_host or "(unset)",
        }
        if self.urls:
            shown["ALERT_URLS"] = " ".join(self.masked_urls)
        if self.urls_file:
            shown["ALERT_URLS_FILE"] = str(self.urls_file)
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


#: A Celery queue's name (a job's ``queue``, SCHEDULER_QUEUE, ``worker -Q``).
QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Where a job runs unless it names its own ``executor`` (SCHEDULER_EXECUTOR).
DEFAULT_EXECUTORS = ("process", "celery")
#: What a broker URL may start with: Redis (the default broker) or RabbitMQ.
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")


@dataclass(frozen=True)
class RemoteSettings:
    """Runs on Celery workers on other hosts (``executor = "celery"``): the broker, the default
    executor and queue, and the times that tell a lost worker or a queue nobody consumes."""

    #: SCHEDULER_BROKER_URL (``redis://:pw@host:6379/0``, ``amqp://user:pw@host//``); a secret.
    broker_url: str | None = field(default=None, repr=False)
    #: The executor of a job that names none: ``process`` (here) or ``celery`` (a worker).
    default_executor: str = "process"
    #: The queue of a remote job that names none.
    default_queue: str = "default"
    #: How often a worker writes its heartbeat into the row of each run it holds (and its own).
    heartbeat: float = 10.0
    #: A run whose heartbeat is older than this is given up (``interrupted``; retried if due).
    lease: float = 60.0
    #: A run ``queued`` longer than this fails: no worker consumed its queue.
    queue_timeout: float = 600.0
    #: Redis redelivers a message not acknowledged within this (None: computed from the longest
    #: remote job's timeout, see fund_scheduler.workers.app.visibility_timeout).
    visibility_timeout: float | None = None

    @property
    def masked_broker_url(self) -> str | None:
        return mask_url(self.broker_url) if self.broker_url else None

    @classmethod
    def read(cls, env: EnvReader) -> RemoteSettings:
        """The SCHEDULER_BROKER_URL, SCHEDULER_EXECUTOR, SCHEDULER_QUEUE and worker timing
        variables, every problem recorded on ``env``."""
        broker = env.text("SCHEDULER_BROKER_URL") or None
        if broker is not None and broker.split("://", 1)[0].lower() not in BROKER_SCHEMES:
            env.problem(
                N_("SCHEDULER_BROKER_URL={value!r} is not a broker URL ({schemes}://...)"),
                value=mask_url(broker),
                schemes="|".join(BROKER_SCHEMES[:3]),
            )
            broker = None
        executor = env.choice("SCHEDULER_EXECUTOR", "process", DEFAULT_EXECUTORS)
        if executor == "celery" and broker is None:
            env.problem(N_("SCHEDULER_EXECUTOR=celery needs SCHEDULER_BROKER_URL"))
        queue = env.text("SCHEDULER_QUEUE") or "default"
        if not QUEUE_NAME.fullmatch(queue):
            env.problem(
                N_("SCHEDULER_QUEUE={value!r} is not a queue name (letters, digits, _ . -)"), value=queue
            )
            queue = "default"
        heartbeat = env.number("SCHEDULER_WORKER_HEARTBEAT", 10.0, above=0)
        lease = env.number("SCHEDULER_WORKER_LEASE", max(60.0, heartbeat * 3), above=0)
        if lease < heartbeat * 2:
            env.problem(
                N_("SCHEDULER_WORKER_LEASE={lease:g} must be at least twice the heartbeat ({beat:g})"),
                lease=lease,
                beat=heartbeat,
            )
        visibility = env.raw("SCHEDULER_BROKER_VISIBILITY_TIMEOUT")
        return cls(
            broker_url=broker,
            default_executor=executor,
            default_queue=queue,
            heartbeat=heartbeat,
            lease=lease,
            queue_timeout=env.number("SCHEDULER_QUEUE_TIMEOUT", 600.0, above=0),
            visibility_timeout=(
                None
                if visibility is None
                else env.number("SCHEDULER_BROKER_VISIBILITY_TIMEOUT", 0.0, above=0) or None
            ),
        )

    def describe(self) -> dict[str, str]:
        """The remote-run settings as printable strings, the broker's password masked."""
        return {
            "SCHEDULER_BROKER_URL": self.masked_broker_url or "(unset: runs only here)",
            "SCHEDULER_EXECUTOR": self.default_executor,
            "SCHEDULER_QUEUE": self.default_queue,
            "SCHEDULER_WORKER_HEARTBEAT": f"{self.heartbeat:g}",
            "SCHEDULER_WORKER_LEASE": f"{self.lease:g}",
            "SCHEDULER_QUEUE_TIMEOUT": f"{self.queue_timeout:g}",
            "SCHEDULER_BROKER_VISIBILITY_TIMEOUT": (
                f"{self.visibility_timeout:g}"
                if self.visibility_timeout
                else "(from the longest job timeout)"
            ),
        }


#: An apprise URL's shape (what apprise itself understands is checked when alerts are sent and by
#: :func:`fund_scheduler.alerts.channels.apprise_url_problems`: importing apprise takes 0.1 s).
_SERVICE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


def _alert_urls(env: EnvReader) -> tuple[tuple[str, ...], Path | None]:
    """ALERT_URLS (separated by blanks, commas or newlines) and the lines of ALERT_URLS_FILE
    (``~`` expanded; blank lines and ``#`` comments skipped); each malformed entry a problem
    naming its position and masked form."""
    urls = split_urls(env.environ.get("ALERT_URLS") or "")
    path = None
    name = env.raw("ALERT_URLS_FILE")
    if name:
        path = Path(name).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            env.problem(f"ALERT_URLS_FILE={name!r} cannot be read: {type(exc).__name__}: {exc.args[-1]}")
            lines = []
        for line in lines:
            if line.strip() and not line.lstrip().startswith("#"):
                urls += split_urls(line)
    for position, url in enumerate(urls, start=1):
        if not _SERVICE_URL.fullmatch(url):
            env.problem(
                f"ALERT_URLS entry {position} ({mask_service_url(url)!r}) is not an apprise URL "
                "(scheme://...; e.g. dingtalk://secret@token/, json://host:port/path)"
            )
    return tuple(urls), path


def _reports_dir(env: EnvReader, home: Path) -> Path:
    """SCHEDULER_REPORTS_DIR, else the pipeline's FUND_REPORT_DIR (read as a variable: the
    scheduler imports no fundpipe), else ``reports``; ``~`` expanded, relative to ``home`` (as
    fundpipe resolves FUND_REPORT_DIR, so both name the same folder by default)."""
    name = "SCHEDULER_REPORTS_DIR" if env.raw("SCHEDULER_REPORTS_DIR") else "FUND_REPORT_DIR"
    return env.path(name, Path("reports"), base=home).resolve()


LOG_FORMATS = ("text", "json")


def _language(env: EnvReader) -> str:
    """SCHEDULER_LANG (``zh_CN``, ``zh``, ``en``...), else the locale's language, else English."""
    given = env.text("SCHEDULER_LANG")
    if given and i18n.normalise(given) is None:
        env.problem(N_("SCHEDULER_LANG={value!r} is not a language here: use zh_CN or en"), value=given)
    return i18n.language_from_environ(env.environ)


def _default_calendars_file(home: Path) -> Path:
    """``config/calendars.toml``, found where ``config/jobs.toml`` is (the checkout, else home)."""
    return program.default_jobs_config(home).parent / "calendars.toml"


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
    #: Python job runs forked from a pre-imported fork server (false: a new interpreter each).
    fork_server: bool = True
    jobs_config: Path = field(default_factory=lambda: program.default_jobs_config(program.default_home()))
    jobs_packages: tuple[str, ...] = field(default_factory=lambda: (program.bundled_jobs_package(),))
    #: The operator's calendar file (closures announced after the library's release), beside jobs.toml.
    calendars_file: Path = field(default_factory=lambda: _default_calendars_file(program.default_home()))
    migrations: str | None = DEFAULT_MIGRATIONS
    http_host: str = "127.0.0.1"
    http_port: int = 5000
    http_allowed_hosts: tuple[str, ...] = ()
    api_token: str | None = field(default=None, repr=False)
    #: Named tokens with roles, one ``name role token`` a line (see fund_scheduler.api.tokens).
    api_tokens_file: Path | None = None
    umask: int = DEFAULT_UMASK
    #: The weekly reports served read-only at /reports/ (the pipeline's FUND_REPORT_DIR by default).
    reports_dir: Path | None = None
    #: What people read (CLI, alerts, the page's default, the weekly report): ``en`` or ``zh_CN``.
    language: str = "en"
    #: scheduler.log's lines: ``text`` (one line each) or ``json`` (one object each, for shippers).
    log_format: str = "text"
    alerts: AlertSettings = field(default_factory=AlertSettings)
    remote: RemoteSettings = field(default_factory=RemoteSettings)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; ConfigError with one line per invalid value."""
        environ = dict(os.environ if environ is None else environ)
        env = EnvReader(environ)
        home, log_dir, pid_file = program.daemon_paths(environ)
        packages = env.words("SCHEDULER_JOBS_PACKAGES", (program.bundled_jobs_package(),))
        if not packages:
            env.problem(N_("SCHEDULER_JOBS_PACKAGES is empty: name at least one package"))
        migrations = env.text("SCHEDULER_MIGRATIONS") or DEFAULT_MIGRATIONS
        migrations = LEGACY_MIGRATIONS.get(migrations, migrations)
        if migrations.lower() != "none" and ":" not in migrations:
            env.problem(
                N_("SCHEDULER_MIGRATIONS={value!r} is not module:function (or none)"), value=migrations
            )
        settings = cls(
            home=home,
            database_url=_database_url(env, home) or URL.create("sqlite", database="invalid"),
            timezone=env.timezone("SCHEDULER_TIMEZONE", "Asia/Shanghai"),
            log_dir=log_dir,
            pid_file=pid_file,
            misfire_grace_time=env.integer("SCHEDULER_MISFIRE_GRACE_TIME", 3600, minimum=1),
            log_max_bytes=env.integer("SCHEDULER_LOG_MAX_BYTES", 10 * 1024 * 1024, minimum=1024),
            log_backup_count=env.integer("SCHEDULER_LOG_BACKUP_COUNT", 5, minimum=0),
            job_log_max_bytes=env.integer("SCHEDULER_JOB_LOG_MAX_BYTES", 20 * 1024 * 1024, minimum=1024),
            max_workers=env.integer("SCHEDULER_MAX_WORKERS", 4, minimum=1),
            stop_timeout=env.integer("SCHEDULER_STOP_TIMEOUT", 30, minimum=0),
            history_retention_days=env.integer("HISTORY_RETENTION_DAYS", 7, minimum=1),
            run_on_first_start=env.boolean("SCHEDULER_RUN_ON_FIRST_START", True),
            fork_server=env.boolean("SCHEDULER_FORK_SERVER", True),
            jobs_config=env.path("SCHEDULER_JOBS_CONFIG", program.default_jobs_config(home)).resolve(),
            jobs_packages=packages,
            calendars_file=env.path("SCHEDULER_CALENDARS_FILE", _default_calendars_file(home)).resolve(),
            migrations=None if migrations.lower() == "none" else migrations,
            http_host=env.text("SCHEDULER_HTTP_HOST") or "127.0.0.1",
            http_port=_port(env, "SCHEDULER_HTTP_PORT", 5000),
            http_allowed_hosts=_host_names(env, "SCHEDULER_HTTP_ALLOWED_HOSTS"),
            api_token=env.raw("SCHEDULER_API_TOKEN"),
            api_tokens_file=_optional_path(env, "SCHEDULER_API_TOKENS_FILE", home),
            umask=_umask(env, "SCHEDULER_UMASK"),
            reports_dir=_reports_dir(env, home),
            alerts=AlertSettings.read(env),
            remote=RemoteSettings.read(env),
            language=_language(env),
            log_format=env.choice("SCHEDULER_LOG_FORMAT", "text", LOG_FORMATS),
            environ=environ,
        )
        env.raise_problems(ConfigError)
        return settings

    @property
    def control_socket(self) -> Path:
        """The daemon's Unix control socket, beside the PID file."""
        return program.DaemonPaths(self.home, self.log_dir, self.pid_file).control_socket

    @property
    def scheduler_log(self) -> Path:
        return self.log_dir / "scheduler.log"

    @property
    def job_log_dir(self) -> Path:
        return self.log_dir / "jobs"

    @property
    def workdir(self) -> Path:
        """Where job runs start unless a job names its own ``workdir``."""
        return program.default_workdir(self.home)

    @property
    def http_url(self) -> str | None:
        """The base URL of the daemon's HTTP server, or None when SCHEDULER_HTTP_PORT is 0."""
        if not self.http_port:
            return None
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        """The names the HTTP server answers to in a request's ``Host`` header (any port):
        the bind address, ``localhost``, ``127.0.0.1``, ``::1`` and SCHEDULER_HTTP_ALLOWED_HOSTS."""
        names = (self.http_host.lower(), *LOCAL_HOST_NAMES, *self.http_allowed_hosts)
        return tuple(dict.fromkeys(names))

    @property
    def masked_database_url(self) -> str:
        return mask_url(self.database_url.render_as_string(hide_password=False))

    @property
    def reports_folder(self) -> Path:
        """Where the weekly reports are: SCHEDULER_REPORTS_DIR, else ``$SCHEDULER_HOME/reports``."""
        return self.reports_dir if self.reports_dir is not None else self.home / "reports"

    def describe(self) -> dict[str, str]:
        """The settings as printable strings, with every secret masked."""
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
            "SCHEDULER_FORK_SERVER": str(self.fork_server).lower(),
            "SCHEDULER_JOBS_CONFIG": str(self.jobs_config),
            "SCHEDULER_JOBS_PACKAGES": ",".join(self.jobs_packages),
            "SCHEDULER_CALENDARS_FILE": str(self.calendars_file),
            "SCHEDULER_MIGRATIONS": self.migrations or "none",
            "HISTORY_RETENTION_DAYS": str(self.history_retention_days),
            "SCHEDULER_HTTP_HOST": self.http_host,
            "SCHEDULER_HTTP_PORT": str(self.http_port) + ("" if self.http_port else " (HTTP disabled)"),
            "SCHEDULER_HTTP_ALLOWED_HOSTS": ",".join(self.allowed_hosts),
            "SCHEDULER_API_TOKEN": "***" if self.api_token else "(unset)",
            "SCHEDULER_API_TOKENS_FILE": str(self.api_tokens_file or "(unset)"),
            "SCHEDULER_UMASK": f"{self.umask:03o}",
            "SCHEDULER_REPORTS_DIR": str(self.reports_folder),
            "SCHEDULER_LANG": self.language,
            "SCHEDULER_LOG_FORMAT": self.log_format,
            **self.remote.describe(),
            **self.alerts.describe(),
        }
