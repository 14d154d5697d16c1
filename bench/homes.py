"""What the daemon benchmarks share: this checkout's daemon in a temporary ``SCHEDULER_HOME`` on
the embedded SQLite default (the bundled demo jobs, HTTP on a free port), a process's RSS, and
medians and percentiles."""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

__all__ = ["HERE", "DaemonHome", "cpu_seconds", "free_port", "percentile", "rss_mib"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    """The process's resident memory (``VmRSS``) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system, all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolated."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[min(max(round(q), 1), 99) - 1]


class DaemonHome:
    """This checkout's daemon in a home of its own; ``with`` starts and stops it."""

    def __init__(self, *, http: bool = True, env: dict[str, str] | None = None):
        self.home = Path(tempfile.mkdtemp(prefix="fsbench-"))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SCHEDULER_", "FUND_", "ALERT_"))},
            "SCHEDULER_HOME": str(self.home),
            "SCHEDULER_JOBS_CONFIG": str(self.home / "jobs.toml"),
            "SCHEDULER_RUN_ON_FIRST_START": "false",
            "SCHEDULER_HTTP_PORT": str(free_port()) if http else "0",
            **(env or {}),
        }
        self.env.pop("DATABASE_URL", None)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(HERE / "scheduler_daemon.py"), *args],
            env=self.env,
            cwd=str(HERE),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, timeout: float = 120) -> None:
        started = self.cli("start", timeout=timeout)
        if started.returncode != 0:
            raise SystemExit(f"the daemon did not start:\n{started.stdout}{started.stderr}")

    def stop(self) -> None:
        self.cli("stop", "--timeout", "5")

    def __enter__(self) -> DaemonHome:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the daemon and delete the home."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    @property
    def pid(self) -> int:
        return int((self.home / "logs" / "scheduler.pid").read_text().split()[0])
