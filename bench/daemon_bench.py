"""The daemon as an operator meets it: how long ``status`` takes while the daemon runs, and how
much memory the idle daemon holds (HTTP on), for this checkout against a baseline checkout, in
the same run.

Both checkouts run with this interpreter (the baseline's own dependencies must be installed in
it), each in a temporary ``SCHEDULER_HOME`` on the embedded SQLite default. The ``status`` calls
alternate between the two daemons, so load on the machine hits both sides alike; the medians and
their ratio are printed. RSS is the daemon's ``VmRSS`` after it has been idle for ``--settle``
seconds. Make a baseline with ``git worktree add /tmp/baseline <commit>``::

    .venv/bin/python -m bench.daemon_bench --baseline /tmp/baseline --runs 30
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Side:
    """One checkout's daemon in a home of its own."""

    def __init__(self, name: str, checkout: Path):
        self.name, self.checkout = name, checkout
        self.home = Path(tempfile.mkdtemp(prefix=f"fsb-{name}-"))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SCHEDULER_", "FUND_", "ALERT_"))},
            "SCHEDULER_HOME": str(self.home),
            "SCHEDULER_JOBS_CONFIG": str(self.home / "jobs.toml"),
            "SCHEDULER_RUN_ON_FIRST_START": "false",
            "SCHEDULER_HTTP_PORT": str(free_port()),
        }
        self.env.pop("DATABASE_URL", None)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(self.checkout / "scheduler_daemon.py"), *args],
            env=self.env,
            cwd=str(self.checkout),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self) -> None:
        result = self.cli("start")
        if result.returncode != 0:
            raise SystemExit(f"{self.name}: start failed:\n{result.stdout}{result.stderr}")

    def pid(self) -> int:
        return int((self.home / "logs" / "scheduler.pid").read_text().split()[0])

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def timed_status(self) -> float:
        started = time.perf_counter()
        result = self.cli("status")
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"{self.name}: status exited {result.returncode}:\n{result.stderr}")
        return elapsed

    def stop(self) -> None:
        self.cli("stop", "--timeout", "5")
        shutil.rmtree(self.home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the baseline commit")
    parser.add_argument("--runs", type=int, default=30, help="status calls per side (default 30)")
    parser.add_argument("--settle", type=float, default=20.0, help="idle seconds before RSS (default 20)")
    args = parser.parse_args(argv)
    sides = [Side("baseline", args.baseline.resolve()), Side("this", HERE)]
    try:
        for side in sides:
            side.start()
        for side in sides:
            side.timed_status()  # warm the file cache
        times: dict[str, list[float]] = {side.name: [] for side in sides}
        for _ in range(args.runs):
            for side in sides:
                times[side.name].append(side.timed_status())
        time.sleep(max(args.settle - 0.0, 0.0))
        rss = {side.name: side.rss_mib() for side in sides}
    finally:
        for side in sides:
            side.stop()
    base, this = (statistics.median(times[n]) for n in ("baseline", "this"))
    print(
        f"status (daemon running), median of {args.runs}: baseline {base:.3f} s, this {this:.3f} s, "
        f"ratio {this / base:.2f}"
    )
    print(
        f"idle daemon RSS (HTTP on): baseline {rss['baseline']:.1f} MiB, this {rss['this']:.1f} MiB, "
        f"ratio {rss['this'] / rss['baseline']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
