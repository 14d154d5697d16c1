"""Start at boot: render the systemd unit, the supervisor program and the ``@reboot`` crontab line
with absolute paths (``install-service``): the checkout's, or for an installed copy the
``SCHEDULER_HOME`` it runs in and ``python -m fund_scheduler``.

The templates are ``config/systemd/fund-scheduler.service`` and
``config/supervisor/fund-scheduler.conf``; their ``@NAME@`` placeholders are filled in here, each
value quoted for its format: systemd per systemd.syntax(7) (``%`` specifiers, ``$`` variables,
double quotes in command lines), supervisor per its INI parser (``%`` interpolation) and the
``shlex.split`` of its ``command=``, cron with ``shlex.quote`` (plus ``%``, which cron turns into
a newline). Rendering has no side effects; :func:`install_file` is the only writer.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from fund_scheduler import program
from fund_scheduler.errors import ConfigError, SchedulerError

SERVICE_NAME = "fund-scheduler"
SYSTEMD_TEMPLATE = program.config_dir() / "systemd" / f"{SERVICE_NAME}.service"
WORKER_SERVICE_NAME = f"{SERVICE_NAME}-worker"
WORKER_TEMPLATE = program.config_dir() / "systemd" / f"{WORKER_SERVICE_NAME}.service"
#: How long systemd lets a worker's runs finish after SIGTERM before it kills the cgroup.
WORKER_STOP_SECONDS = 600
SUPERVISOR_TEMPLATE = program.config_dir() / "supervisor" / f"{SERVICE_NAME}.conf"
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
SUPERVISOR_CONF_DIR = Path("/etc/supervisor/conf.d")
STOP_MARGIN = 30  # seconds above SCHEDULER_STOP_TIMEOUT before systemd/supervisor kill
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")


class ServiceFileExists(SchedulerError):
    """The target file exists with other content and ``--force`` was not given."""

    exit_code = 1


@dataclass(frozen=True)
class ServiceContext:
    """What the rendered files depend on: the checkout, the interpreter, the user, the timeout."""

    project_dir: Path
    python: Path
    stop_timeout: int = 30
    user: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        for name in ("project_dir", "python"):
            value = str(getattr(self, name))
            if not os.path.isabs(value):
                raise ConfigError(f"{name} {value!r} is not an absolute path")
            if any(ord(c) < 32 or ord(c) == 127 for c in value):
                raise ConfigError(f"{name} {value!r} contains a control character")

    @property
    def daemon_script(self) -> Path:
        return self.project_dir / "scheduler_daemon.py"

    @property
    def checkout(self) -> bool:
        """True when ``project_dir`` is a checkout (it has ``scheduler_daemon.py``)."""
        return self.daemon_script.is_file()

    def daemon_command(self, *words: str) -> list[str]:
        """``<python> <checkout>/scheduler_daemon.py run`` (or ``words`` instead of ``run``), or
        ``<python> -m fund_scheduler run``."""
        words = words or ("run",)
        if self.checkout:
            return [str(self.python), str(self.daemon_script), *words]
        return [str(self.python), "-m", "fund_scheduler", *words]


@dataclass(frozen=True)
class WorkerOptions:
    """The ``worker`` command a worker unit runs: its queues, concurrency and name."""

    queues: str
    concurrency: int | None = None
    name: str | None = None

    def arguments(self) -> list[str]:
        words = ["worker", "-Q", self.queues]
        if self.concurrency:
            words += ["-c", str(self.concurrency)]
        if self.name:
            words += ["-n", self.name]
        return words


def default_project_dir(home: Path) -> Path:
    """Where the service runs: the checkout, or ``SCHEDULER_HOME`` for an installed copy."""
    return program.CHECKOUT if program.CHECKOUT is not None else home


def default_python(project_dir: Path) -> Path:
    """The project's ``.venv/bin/python`` when it exists (not resolved: the symlink is the venv),
    else the running interpreter."""
    import sys

    venv = project_dir / ".venv" / "bin" / "python"
    if os.access(venv, os.X_OK):
        return venv
    return Path(os.path.abspath(sys.executable))


def default_user(environ: dict[str, str] | None = None) -> tuple[str, str]:
    """The current user and its primary group; the invoking user when run as root through sudo."""
    import grp
    import pwd

    environ = dict(os.environ if environ is None else environ)
    if os.geteuid() == 0 and environ.get("SUDO_USER"):
        try:
            entry = pwd.getpwnam(environ["SUDO_USER"])
            return entry.pw_name, grp.getgrgid(entry.pw_gid).gr_name
        except KeyError:
            pass
    entry = pwd.getpwuid(os.geteuid())
    try:
        group = grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        group = str(entry.pw_gid)
    return entry.pw_name, group


# -- quoting ------------------------------------------------------------------------------------
def systemd_value(text: str) -> str:
    """A path or name for a systemd setting that is not a command line: escape ``%`` specifiers."""
    return text.replace("%", "%%")


def systemd_word(text: str) -> str:
    """One word of a systemd command line (``ExecStart=``), per systemd.syntax(7)/systemd.service(5)."""
    text = text.replace("%", "%%").replace("$", "$$")
    if text and not re.search(r"[\s\"'\\;]", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def supervisor_value(text: str) -> str:
    """A supervisor option value: its INI parser interpolates ``%(name)s``, so ``%`` -> ``%%``."""
    if re.search(r"\s[;#]", text):
        # supervisor's parser takes " ;" and " #" as the start of an inline comment
        raise ConfigError(f"{text!r}: supervisor cannot take a value with ' ;' or ' #' in it")
    return text.replace("%", "%%")


def cron_command(words: str) -> str:
    """A crontab command: cron turns an unescaped ``%`` into a newline."""
    return words.replace("%", "\\%")


# -- rendering ----------------------------------------------------------------------------------
def _fill(template: Path, values: dict[str, str]) -> str:
    text = template.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = _PLACEHOLDER.findall(text)
    if left:
        raise ConfigError(f"{template}: placeholders not filled: {', '.join(sorted(set(left)))}")
    return text


def _user_lines(ctx: ServiceContext, user_unit: bool) -> str:
    """``User=``/``Group=`` of a system unit (none in a ``--user`` unit: not allowed there)."""
    if user_unit:
        return ""
    lines = f"User={systemd_value(ctx.user)}\n" if ctx.user else ""
    return lines + (f"Group={systemd_value(ctx.group)}\n" if ctx.group else "")


def render_systemd(ctx: ServiceContext, user_unit: bool = False) -> str:
    """The systemd unit; a system unit runs as ``ctx.user``/``ctx.group``, a ``--user`` unit as
    the user whose manager runs it (``User=`` is not allowed there)."""
    user_lines = _user_lines(ctx, user_unit)
    exec_start = " ".join(systemd_word(w) for w in ctx.daemon_command())
    return _fill(
        SYSTEMD_TEMPLATE,
        {
            "PROJECT_DIR": str(ctx.project_dir),
            "USER_LINES": user_lines,
            "WORKING_DIRECTORY": systemd_value(str(ctx.project_dir)),
            "ENVIRONMENT_FILE": systemd_value(str(ctx.project_dir / ".env")),
            "EXEC_START": exec_start,
            "STOP_TIMEOUT": str(ctx.stop_timeout),
            "TIMEOUT_STOP_SEC": str(ctx.stop_timeout + STOP_MARGIN),
            "WANTED_BY": "default.target" if user_unit else "multi-user.target",
        },
    )


def render_worker_systemd(ctx: ServiceContext, worker: WorkerOptions, user_unit: bool = False) -> str:
    """The worker's systemd unit (``KillMode=control-group``: no run outlives its worker)."""
    user_lines = _user_lines(ctx, user_unit)
    exec_start = " ".join(systemd_word(w) for w in ctx.daemon_command(*worker.arguments()))
    return _fill(
        WORKER_TEMPLATE,
        {
            "PROJECT_DIR": str(ctx.project_dir),
            "QUEUES": systemd_value(worker.queues),
            "USER_LINES": user_lines,
            "WORKING_DIRECTORY": systemd_value(str(ctx.project_dir)),
            "ENVIRONMENT_FILE": systemd_value(str(ctx.project_dir / ".env")),
            "EXEC_START": exec_start,
            "TIMEOUT_STOP_SEC": str(WORKER_STOP_SECONDS),
            "WANTED_BY": "default.target" if user_unit else "multi-user.target",
        },
    )


def render_supervisor(ctx: ServiceContext) -> str:
    """The supervisor ``[program:fund-scheduler]`` section."""
    command = shlex.join(ctx.daemon_command())
    return _fill(
        SUPERVISOR_TEMPLATE,
        {
            "PROJECT_DIR": str(ctx.project_dir),
            "COMMAND": supervisor_value(command),
            "DIRECTORY": supervisor_value(str(ctx.project_dir)),
            "USER": supervisor_value(ctx.user or default_user()[0]),
            "STOP_TIMEOUT": str(ctx.stop_timeout),
            "STOP_WAIT_SECS": str(ctx.stop_timeout + STOP_MARGIN),
            "STDOUT_LOGFILE": supervisor_value(str(ctx.project_dir / "logs" / "supervisor.out")),
        },
    )


def render_cron(ctx: ServiceContext) -> str:
    """The ``@reboot`` crontab line (for ``crontab -e`` of the user who runs the daemon)."""
    start = (
        "./start_scheduler.sh"
        if ctx.checkout
        else shlex.join([str(ctx.python), "-m", "fund_scheduler", "start"])
    )
    command = f"cd {shlex.quote(str(ctx.project_dir))} && {start} >> logs/boot.log 2>&1"
    return f"@reboot {cron_command(command)}\n"


# -- installing ---------------------------------------------------------------------------------
def systemd_unit_path(
    user_unit: bool = False, environ: dict[str, str] | None = None, name: str = SERVICE_NAME
) -> Path:
    """``/etc/systemd/system/<name>.service`` (``fund-scheduler``, or ``fund-scheduler-worker``),
    or the user unit directory for ``--user``."""
    if not user_unit:
        return SYSTEM_UNIT_DIR / f"{name}.service"
    environ = dict(os.environ if environ is None else environ)
    config = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user" / f"{name}.service"


def supervisor_conf_path() -> Path:
    return SUPERVISOR_CONF_DIR / f"{SERVICE_NAME}.conf"


def install_file(path: Path, text: str, force: bool = False) -> bool:
    """Write ``text`` to ``path`` (mode 0644, parents created). Returns False when the file already
    holds exactly ``text``; raises :class:`ServiceFileExists` when it holds something else and
    ``force`` is false."""
    if path.exists():
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current == text:
            return False
        if not force:
            raise ServiceFileExists(
                f"{path} exists with different content; not overwritten (use --force to replace it, "
                "or --print to compare)"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o644)
    tmp.replace(path)
    return True
