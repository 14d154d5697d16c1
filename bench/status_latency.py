"""``status`` against a running daemon, timed against ``python -c "import sqlalchemy"`` (the
baseline: what a ``status`` that reads the database itself pays before its first query), the two
alternating in one run so that load on the machine hits both alike.

The daemon is this checkout's on the embedded SQLite default with the bundled jobs. Prints the
median and p90 of each side, their ratio and whether the target (median ratio at most 0.75) is
met; exit status 1 when it is not.
Usage: python -m bench.status_latency [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from bench.homes import HERE, DaemonHome, percentile
from bench.results import result

TARGET = 0.75


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=str(HERE), capture_output=True, timeout=60)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[1:]} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="calls of each side (default 20)")
    args = parser.parse_args(argv)
    baseline_argv = [sys.executable, "-c", "import sqlalchemy"]
    status_argv = [sys.executable, str(HERE / "scheduler_daemon.py"), "status"]
    with DaemonHome() as daemon:
        timed(status_argv, daemon.env)  # warm the file cache
        timed(baseline_argv)
        base: list[float] = []
        this: list[float] = []
        for _ in range(args.runs):
            base.append(timed(baseline_argv))
            this.append(timed(status_argv, daemon.env))
    ratio = statistics.median(this) / statistics.median(base)
    print(f"status (daemon running), {args.runs} runs each, medians (p90):")
    for name, values in (("baseline `python -c 'import sqlalchemy'`", base), ("this `status`", this)):
        print(f"  {name:<42} {statistics.median(values):.3f} s ({percentile(values, 90):.3f} s)")
    print(f"  ratio {ratio:.2f} (target <= {TARGET}): {'met' if ratio <= TARGET else 'NOT met'}")
    result(
        "`status`, daemon running (median)",
        f"`import sqlalchemy` {statistics.median(base):.3f} s",
        f"{statistics.median(this):.3f} s",
        f"{ratio:.2f}x",
        f"<= {TARGET}x",
        ratio <= TARGET,
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
