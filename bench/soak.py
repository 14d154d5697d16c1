"""A soak of the real daemon: many every-second jobs for minutes, then every fire time checked.

A daemon of this checkout runs in a temporary ``SCHEDULER_HOME`` on SQLite with ``--jobs``
in-thread jobs (a no-op Python function, ``executor="thread"``) and ``--child-jobs`` child-process
jobs (``true``), each firing every second, for ``--minutes``. Then, from the history, per kind of
job: fire times without a row and fire times with two rows (both must be 0), rows by status
(``success``; ``skipped``, ``coalesced`` and ``missed`` are fire times that did not run a process
of their own), and the daemon's RSS after a warm-up and at the end::

    .venv/bin/python -m bench.soak --minutes 10 --jobs 200 --child-jobs 20
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
WARM_UP = 20.0  # seconds before the first RSS reading and the first fire time counted
MARGIN = 5.0  # seconds before the stop after which fire times are not counted

JOBS_MODULE = '''"""Soak jobs: {jobs} in-thread and {children} child-process jobs, every second."""

from fund_scheduler.jobs.spec import JobSpec


def noop(ctx):
    return None


for _i in range({jobs}):
    globals()[f"thread_{{_i}}"] = JobSpec(
        id=f"thread_{{_i}}",
        name="soak",
        schedule={{"second": "*"}},
        func=f"{{__name__}}:noop",
        executor="thread",
    )
for _i in range({children}):
    globals()[f"child_{{_i}}"] = JobSpec(
        id=f"child_{{_i}}", name="soak", schedule={{"second": "*"}}, command=("true",)
    )
'''


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def check(db: Path, start: datetime, end: datetime, job_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per kind (thread, child): fire times in [start, end) without a row, with two rows, by status."""
    expected = int((end - start).total_seconds())
    result: dict[str, dict[str, int]] = {}
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT job_id, scheduled_run_time, status FROM job_executions "
            "WHERE scheduled_run_time >= ? AND scheduled_run_time < ?",
            (start.strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%Y-%m-%d %H:%M:%S")),
        ).fetchall()
    seen: dict[str, dict[str, int]] = {job_id: {} for job_id in job_ids}
    for job_id, when, status in rows:
        kind = job_id.split("_")[0]
        per = result.setdefault(kind, {"jobs": 0, "fire times": 0, "without a row": 0, "duplicated": 0})
        count = seen.setdefault(job_id, {})
        count[when] = count.get(when, 0) + 1
        per[status] = per.get(status, 0) + 1
    for job_id, times in seen.items():
        per = result.setdefault(
            job_id.split("_")[0], {"jobs": 0, "fire times": 0, "without a row": 0, "duplicated": 0}
        )
        per["jobs"] += 1
        per["fire times"] += expected
        per["without a row"] += expected - len(times)
        per["duplicated"] += sum(n - 1 for n in times.values())
    return result


def start_daemon(
    jobs: int,
    children: int,
    max_workers: int = 4,
    *,
    source: str | None = None,
    env: dict[str, str] | None = None,
) -> tuple[Path, subprocess.Popen]:
    """This checkout's daemon in a new temporary home (kept) on SQLite, running ``jobs`` in-thread
    and ``children`` child-process every-second jobs of :data:`JOBS_MODULE` (or of ``source``,
    formatted alike), with ``env`` added to its environment: (home, process)."""
    home = Path(tempfile.mkdtemp(prefix="fs-soak-"))
    package = home / "soakjobs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "jobs.py").write_text((source or JOBS_MODULE).format(jobs=jobs, children=children))
    (home / "jobs.toml").write_text("")
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SCHEDULER_", "FUND_", "ALERT_"))},
        "SCHEDULER_HOME": str(home),
        "SCHEDULER_JOBS_PACKAGES": "soakjobs",
        "SCHEDULER_JOBS_CONFIG": str(home / "jobs.toml"),
        "SCHEDULER_RUN_ON_FIRST_START": "false",
        "SCHEDULER_HTTP_PORT": "0",
        "SCHEDULER_MAX_WORKERS": str(max_workers),
        "PYTHONPATH": os.pathsep.join([str(home), str(HERE)]),
    }
    environ.pop("DATABASE_URL", None)  # the embedded SQLite, unless ``env`` names a database
    environ.update(env or {})
    daemon = subprocess.Popen(
        [sys.executable, str(HERE / "scheduler_daemon.py"), "run"],
        env=environ,
        cwd=str(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return home, daemon


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the daemon runs (default 10)")
    parser.add_argument("--jobs", type=int, default=200, help="in-thread every-second jobs (default 200)")
    parser.add_argument(
        "--child-jobs", type=int, default=20, help="child-process every-second jobs (default 20)"
    )
    args = parser.parse_args(argv)

    print(f"soak: {args.jobs} in-thread + {args.child_jobs} child jobs, every second, {args.minutes} min")
    home, daemon = start_daemon(args.jobs, args.child_jobs, max(4, args.child_jobs + 4))
    try:
        time.sleep(WARM_UP)
        if daemon.poll() is not None:
            print(f"the daemon exited with {daemon.returncode}; see {home}/logs/scheduler.log")
            return 1
        start = datetime.utcnow().replace(microsecond=0) + timedelta(seconds=1)  # noqa: DTZ003 - naive UTC, as stored
        rss_start = rss_mib(daemon.pid)
        time.sleep(max(args.minutes * 60 - WARM_UP, MARGIN * 2))
        end = datetime.utcnow().replace(microsecond=0) - timedelta(seconds=MARGIN)  # noqa: DTZ003
        rss_end = rss_mib(daemon.pid)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(120)
    span = (end - start).total_seconds()
    print(f"counted fire times from {start:%H:%M:%S} to {end:%H:%M:%S} UTC ({span:.0f} s)")
    failed = False
    job_ids = [f"thread_{i}" for i in range(args.jobs)] + [f"child_{i}" for i in range(args.child_jobs)]
    for kind, figures in sorted(check(home / "data" / "scheduler.db", start, end, job_ids).items()):
        print(f"{kind:>6}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
        failed |= figures["without a row"] > 0 or figures["duplicated"] > 0
    growth = rss_end - rss_start
    print(f"RSS: {rss_start:.1f} MiB after the warm-up, {rss_end:.1f} MiB at the end ({growth:+.1f} MiB)")
    print(f"home kept for inspection: {home}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
