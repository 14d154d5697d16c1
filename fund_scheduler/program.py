"""Where this program lives and how it starts another process of itself.

fund-scheduler runs from a git checkout (``./start_scheduler.sh``, ``python scheduler_daemon.py``)
or installed with pip (``fund-scheduler``, ``python -m fund_scheduler``). The two differ in a few
places, all answered here and nowhere else (checkout / installed):

* default ``SCHEDULER_HOME``: the checkout / the current directory;
* default ``SCHEDULER_JOBS_CONFIG``: ``<checkout>/config/jobs.toml`` /
  ``$SCHEDULER_HOME/config/jobs.toml``;
* the bundled job package: ``jobs`` (the checkout's ``jobs/``) / ``fund_scheduler_jobs``;
* ``.env`` files read: ``$SCHEDULER_HOME/.env`` and ``<checkout>/.env`` / ``$SCHEDULER_HOME/.env``;
* configuration templates (systemd, supervisor): ``<checkout>/config/`` /
  ``fund_scheduler/config/``;
* working directory of job runs: the checkout / ``$SCHEDULER_HOME``.

Child processes (the background daemon, each Python job run) run the same interpreter on
``<checkout>/scheduler_daemon.py`` (so ``ps`` and ``pgrep -f scheduler_daemon.py`` find them, and
they import the checkout's code whatever their working directory), or ``-m fund_scheduler`` when
installed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "CHECKOUT",
    "PACKAGE_DIR",
    "DaemonPaths",
    "bundled_jobs_package",
    "daemon_paths",
    "config_dir",
    "default_home",
    "default_jobs_config",
    "default_workdir",
    "dotenv_candidates",
    "load_dotenv_files",
    "python_command",
]

PACKAGE_DIR = Path(__file__).resolve().parent
#: The git checkout this code runs from, or None when it is installed (site-packages).
CHECKOUT: Path | None = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "scheduler_daemon.py").is_file() else None
#: The name the checkout's ``jobs/`` folder is installed under (``jobs`` would clash in
#: site-packages).
INSTALLED_JOBS_PACKAGE = "fund_scheduler_jobs"


def bundled_jobs_package() -> str:
    """The import name of the bundled job set: ``jobs`` in a checkout, else its installed name."""
    return "jobs" if CHECKOUT is not None else INSTALLED_JOBS_PACKAGE


def default_home() -> Path:
    return CHECKOUT if CHECKOUT is not None else Path.cwd()


def default_jobs_config(home: Path) -> Path:
    root = CHECKOUT if CHECKOUT is not None else home
    return root / "config" / "jobs.toml"


def default_workdir(home: Path) -> Path:
    """Where job runs start (a command job's ``workdir`` overrides it)."""
    return CHECKOUT if CHECKOUT is not None else home


def config_dir() -> Path:
    """The folder of the configuration templates (systemd unit, supervisor program, examples)."""
    return CHECKOUT / "config" if CHECKOUT is not None else PACKAGE_DIR / "config"


def dotenv_candidates(home: Path | None) -> list[Path]:
    """The ``.env`` files read at start, the first winning over the later."""
    candidates = [home / ".env"] if home is not None else []
    if CHECKOUT is not None:
        candidates.append(CHECKOUT / ".env")
    return list(dict.fromkeys(candidates))


def load_dotenv_files(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Load the ``.env`` files of :func:`dotenv_candidates` into ``os.environ``; variables
    already set win over the files. Returns the files read."""
    from dotenv import load_dotenv

    environ = os.environ if environ is None else environ
    home = Path(environ["SCHEDULER_HOME"]) if environ.get("SCHEDULER_HOME") else default_home()
    loaded = []
    for path in dotenv_candidates(home):
        if path.is_file():
            load_dotenv(path, override=False)
            loaded.append(path)
    return loaded


class DaemonPaths(NamedTuple):
    """Where the daemon of a ``SCHEDULER_HOME`` lives: its home, log folder and PID file (the
    control socket lies beside it)."""

    home: Path
    log_dir: Path
    pid_file: Path

    @property
    def control_socket(self) -> Path:
        return self.pid_file.with_suffix(".sock")


def daemon_paths(environ: Mapping[str, str]) -> DaemonPaths:
    """``SCHEDULER_HOME``, ``SCHEDULER_LOG_DIR`` and ``SCHEDULER_PID_FILE`` (``~`` expanded,
    resolved) or their defaults: what the settings read, and all a command that only talks to
    the running daemon needs."""

    def path(name: str, default: Path) -> Path:
        raw = environ.get(name, "").strip()
        return (Path(raw).expanduser() if raw else default).resolve()

    home = path("SCHEDULER_HOME", default_home())
    log_dir = path("SCHEDULER_LOG_DIR", home / "logs")
    return DaemonPaths(home, log_dir, path("SCHEDULER_PID_FILE", log_dir / "scheduler.pid"))


def python_command(*args: str) -> list[str]:
    """The argv running this program's command line with ``args`` in a new process."""
    if CHECKOUT is not None:
        return [sys.executable, str(CHECKOUT / "scheduler_daemon.py"), *args]
    return [sys.executable, "-m", "fund_scheduler", *args]
