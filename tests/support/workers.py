"""Worker processes for the remote-run tests: ``scheduler_daemon.py worker`` started in a
SCHEDULER_HOME of its own (a stand-in for another host), in a session of its own so a test can
``kill -9`` or SIGSTOP the whole worker (its main and pool processes) as a crash or a freeze
would, while the runs' own process groups live on as they would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from tests.support.harness import PROJECT, PY, SchedulerHome, wait_for


class WorkerProcess:
    """One ``worker -Q QUEUES -c N -n NAME`` of ``home``; its output in ``home/worker-NAME.out``."""

    def __init__(self, home: SchedulerHome, name: str, queues: str, concurrency: int = 1):
        self.home = home
        self.name = name
        self.queues = queues
        self.concurrency = concurrency
        self.output = home.root / f"worker-{name}.out"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def node(self) -> str:
        return f"{self.name}@{os.uname().nodename}"

    def start(self) -> WorkerProcess:
        command = [PY, str(PROJECT / "scheduler_daemon.py"), "worker", "-Q", self.queues]
        command += ["-c", str(self.concurrency), "-n", f"{self.name}@%h"]
        with self.output.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                env=self.home.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(PROJECT),
                start_new_session=True,
            )
        mark = f"{self.node} ready"
        wait_for(
            lambda: mark in self.text() or self.process.poll() is not None, 60, f"worker {self.name} ready"
        )
        assert self.process.poll() is None, self.text()
        return self

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def signal_all(self, sig: int) -> None:
        """``sig`` to the worker's whole process group (main and pool processes)."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        self.signal_all(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def stop(self, timeout: float = 30) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.signal_all(signal.SIGCONT)
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


@contextlib.contextmanager
def worker_homes(db_url: str, broker_url: str, jobs: str, extra_env: dict[str, str], count: int):
    """A daemon home and ``count`` worker homes on one database and broker, the same jobs."""
    env = {"SCHEDULER_BROKER_URL": broker_url, **extra_env}
    homes = [SchedulerHome.create(database_url=db_url, extra_env=env) for _ in range(count + 1)]
    try:
        for home in homes:
            home.write_jobs(jobs)
        yield homes
    finally:
        for home in homes:
            home.__exit__(None, None, None)


def pid_in(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
