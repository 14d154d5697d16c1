"""Drives the real CLI and shell scripts against a temporary SCHEDULER_HOME.

Every command is a real child process with its own environment; nothing is mocked. The home's
daemon (if any) is SIGKILLed with its process group at teardown so a failing test leaves nothing
running.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fund_scheduler.daemon.pidfile import RUNNING, probe

PROJECT = Path(__file__).resolve().parents[2]
PY = sys.executable
FAR_AWAY = "0 3 1 1 *"  # a cron that never fires during a test
#: The test daemons' operator calendar file: XSHG known far ahead (its end is no health problem).
TEST_CALENDARS = Path(__file__).with_name("calendars.toml")
# The caller's own settings never reach a test daemon (ALERT_*: no test posts to a real webhook).
ISOLATED_PREFIXES = ("SCHEDULER_", "FUND_", "MYSQL_", "ALERT_")


class SchedulerHome:
    """A SCHEDULER_HOME on the embedded SQLite default, or on ``database_url`` when given."""

    def __init__(self, root: Path, extra_env: dict[str, str] | None = None, database_url: str | None = None):
        self.root = root
        self.jobs_toml = root / "jobs.toml"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)},
            "SCHEDULER_HOME": str(root),
            "SCHEDULER_JOBS_CONFIG": str(self.jobs_toml),
            "SCHEDULER_RUN_ON_FIRST_START": "false",
            "SCHEDULER_HTTP_PORT": "0",  # many daemons run in parallel: HTTP tests pick a free port
            "SCHEDULER_CALENDARS_FILE": str(TEST_CALENDARS),  # no test depends on the date it runs
            "FUND_DEMO_FUNDS": "12",
            "FUND_DEMO_HISTORY_DAYS": "70",
            "VIRTUAL_ENV": sys.prefix,  # the scripts then use this interpreter, no .venv bootstrap
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.env.pop("DATABASE_URL", None)
        self.env.pop("PIPELINE_COMMAND", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.env.update(extra_env or {})

    @classmethod
    def create(cls, **kw) -> SchedulerHome:
        return cls(Path(tempfile.mkdtemp(prefix="fsh-")), **kw)

    def __enter__(self) -> SchedulerHome:
        return self

    def __exit__(self, *exc) -> None:
        self.kill_daemon()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- paths -------------------------------------------------------------------------------
    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pid_file(self) -> Path:
        return self.logs / "scheduler.pid"

    @property
    def scheduler_log(self) -> Path:
        return self.logs / "scheduler.log"

    @property
    def database_url(self) -> str:
        """The URL the daemon of this home uses (its settings decide, as for the daemon)."""
        from fund_scheduler.settings import Settings

        return Settings.from_env(self.env).database_url.render_as_string(hide_password=False)

    @property
    def backend(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "mariadb"

    def job_log(self, job_id: str) -> Path:
        """The job's newest run log (``logs/jobs/<job>/latest.log``, a symlink to it)."""
        return self.logs / "jobs" / job_id / "latest.log"

    def run_log(self, job_id: str, execution_id: int) -> Path:
        return self.logs / "jobs" / job_id / f"{execution_id}.log"

    # -- commands ----------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 60, env: dict[str, str] | None = None):
        return subprocess.run(
            [PY, str(PROJECT / "scheduler_daemon.py"), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(PROJECT),
            stdin=subprocess.DEVNULL,
        )

    def script(self, name: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None):
        return subprocess.run(
            [str(PROJECT / name), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def foreground(self) -> subprocess.Popen:
        """Start ``scheduler_daemon.py run`` (output piped) and return once it logged ready."""
        daemon = subprocess.Popen(
            [PY, str(PROJECT / "scheduler_daemon.py"), "run"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for(
                lambda: self.scheduler_log.exists() and "scheduler ready" in self.scheduler_log.read_text(),
                20,
                "daemon ready",
            )
        except AssertionError:
            daemon.kill()
            raise
        return daemon

    def history(self, *args: str) -> list[dict]:
        result = self.cli("history", "--json", "--limit", "200", *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def write_jobs(self, text: str) -> None:
        self.jobs_toml.write_text(textwrap.dedent(text))

    def command_job(self, job_id: str, argv: list[str], **options: object) -> None:
        """Write jobs.toml with one command job that never fires on its own (run it with run-job)."""
        lines = [
            f"[jobs.{job_id}]",
            f'cron = "{FAR_AWAY}"',
            f"command = {json.dumps([str(a) for a in argv])}",
        ]
        lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
        self.jobs_toml.write_text("\n".join(lines) + "\n")

    def daemon_pid(self) -> int | None:
        state = probe(self.pid_file)
        return state.pid if state.state == RUNNING else None

    def kill_daemon(self) -> None:
        pid = self.daemon_pid()
        if pid:
            for target in (-pid, pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(target, signal.SIGKILL)
            wait_for(lambda: self.daemon_pid() is None, 10, "daemon killed")


def set_next_run_times(database_url: str, **when: datetime | Callable[[Any], datetime]) -> None:
    """Write jobs' next run times straight into a job store, as a daemon would have left them.

    A value is a time, or a function of the stored job (e.g. a fire time of its trigger).
    """
    from fund_scheduler.store.engine import make_engine
    from fund_scheduler.store.jobstore import JsonJobStore

    engine = make_engine(database_url)
    try:
        store = JsonJobStore(engine)
        for job_id, value in when.items():
            job = store.lookup_job(job_id)
            job.next_run_time = value(job) if callable(value) else value
            store.update_job(job)
    finally:
        engine.dispose()


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1):
    """Wait for an external process to reach a state (never a schedule); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def run_cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``scheduler_daemon.py ARGS`` once, with only this home's settings in effect (none of the
    caller's SCHEDULER_*, FUND_*, MYSQL_*, ALERT_* or DATABASE_URL), its ``jobs.toml``, and
    ``env`` on top; output as text."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("SCHEDULER_", "FUND_", "MYSQL_", "ALERT_"))
    }
    environ.pop("DATABASE_URL", None)
    environ.update(SCHEDULER_HOME=str(home), SCHEDULER_JOBS_CONFIG=str(home / "jobs.toml"), **(env or {}))
    return subprocess.run(
        [sys.executable, str(PROJECT / "scheduler_daemon.py"), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(PROJECT),
        stdin=subprocess.DEVNULL,
    )
