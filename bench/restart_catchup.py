"""A restart with many overdue jobs: how late an unrelated job due one second after the start
runs, against bare APScheduler 3.11 with a ``SQLAlchemyJobStore`` (SQLite) in the same run.

Each side first stores ``--jobs`` daily jobs (1,200 distinct times of day, see
:func:`hours_of`) whose next run time lies two hours in the past
(older than the one-hour grace time: every one is a missed fire time), then a new process
starts with a probe job due one second after its launch. Measured: from the launch to the
probe's run, less the second (the probe's lateness), and the process's CPU time by then. This
project's daemon must also have recorded every missed fire time (a ``missed`` history row per
job), which is checked. The target: this daemon's lateness at most a tenth of the baseline's,
and at most 2 s.
Usage: python -m bench.restart_catchup [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.homes import DaemonHome, cpu_seconds
from bench.results import result

TARGET_FACTOR = 10.0
TARGET_SECONDS = 2.0

BASELINE = """
import os, sys, time
from datetime import datetime, timedelta, timezone
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

launched = float(os.environ["BENCH_LAUNCHED"])
url, jobs, phase = os.environ["BENCH_DB"], int(os.environ["BENCH_JOBS"]), os.environ["BENCH_PHASE"]

def work():
    pass

def probe():
    print(f"probe {time.time() - (launched + 1.0):.3f} {time.process_time():.3f}", flush=True)

store = SQLAlchemyJobStore(url=url)
scheduler = BackgroundScheduler(jobstores={"default": store}, job_defaults={"misfire_grace_time": 3600})
if phase == "store":  # written straight into the store, as a scheduler stopped two hours ago left it
    store.start(scheduler, "default")
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    start = datetime.now(timezone.utc).hour + 3
    for i in range(jobs):
        hour, minute = (start + i // 60 % 20) % 24, i % 60
        store.add_job(Job(
            scheduler, id=f"job{i}", func=work, trigger=CronTrigger(hour=hour, minute=minute, timezone="UTC"),
            executor="default",
            args=(), kwargs={}, name="work", misfire_grace_time=3600, coalesce=True, max_instances=1,
            next_run_time=past,
        ))
else:
    due = datetime.fromtimestamp(launched + 1.0, timezone.utc)
    scheduler.add_job(probe, "date", run_date=due, id="probe", replace_existing=True)
    scheduler.start()
    time.sleep(300)
"""


def baseline(jobs: int) -> tuple[float, float]:
    """(the probe's lateness, CPU seconds by then) of bare APScheduler."""
    with tempfile.TemporaryDirectory(prefix="fsbench-") as where:
        env = {**os.environ, "BENCH_DB": f"sqlite:///{Path(where) / 'jobs.db'}", "BENCH_JOBS": str(jobs)}
        subprocess.run(
            [sys.executable, "-c", BASELINE],
            env={**env, "BENCH_PHASE": "store", "BENCH_LAUNCHED": "0"},
            check=True,
            timeout=600,
        )
        env.update(BENCH_PHASE="run", BENCH_LAUNCHED=repr(time.time()))
        proc = subprocess.Popen(
            [sys.executable, "-c", BASELINE],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("probe "):
                    late, cpu = map(float, line.split()[1:])
                    return late, cpu
            raise SystemExit("the baseline's probe never ran")
        finally:
            proc.kill()
            proc.wait()


def hours_of(jobs: int) -> list[tuple[int, int]]:
    """(hour, minute) in UTC of each job: 1,200 distinct times of day, none between two hours
    ago and three hours from now, so that the stored next run time (two hours ago, older than the
    grace time) is each job's one missed fire time, on both sides alike."""
    start = datetime.now(UTC).hour + 3
    return [((start + i // 60 % 20) % 24, i % 60) for i in range(jobs)]


def jobs_toml(jobs: int, probe_at: datetime | None) -> str:
    lines = [
        f'[jobs.job{i}]\ncron = "{minute} {hour} * * *"\ntimezone = "UTC"\ncommand = ["true"]\n'
        for i, (hour, minute) in enumerate(hours_of(jobs))
    ]
    if probe_at is not None:
        lines.append(f'[jobs.probe]\nat = "{probe_at.isoformat()}"\ncommand = ["true"]\n')
    return "\n".join(lines)


def this_daemon(jobs: int) -> tuple[float, float, int]:
    """(the probe's lateness, the daemon's CPU seconds by then, missed rows recorded)."""
    home = DaemonHome(http=False)
    jobs_file = home.home / "jobs.toml"
    jobs_file.write_text(jobs_toml(jobs, None))
    try:
        home.start(timeout=600)  # the jobs stored
        home.stop()
        engine = sa.create_engine(f"sqlite:///{home.home / 'data' / 'scheduler.db'}")
        past = datetime.now(UTC) - timedelta(hours=2)
        with engine.begin() as conn:  # every job left overdue by two hours, as after downtime
            rows = conn.execute(sa.text("SELECT id, job_state FROM scheduler_jobs")).all()
            updates = []
            for job_id, state in rows:
                data = json.loads(state)
                data["next_run_time"] = past.isoformat()
                updates.append({"t": past.timestamp(), "s": json.dumps(data), "id": job_id})
            conn.execute(
                sa.text("UPDATE scheduler_jobs SET next_run_time = :t, job_state = :s WHERE id = :id"),
                updates,
            )
        launched = time.time()
        jobs_file.write_text(jobs_toml(jobs, datetime.fromtimestamp(launched + 1.0, UTC)))
        home.start(timeout=600)
        probe = None
        deadline = time.monotonic() + 600
        while probe is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                probe = conn.execute(
                    sa.text("SELECT started_at FROM job_executions WHERE job_id = 'probe'")
                ).scalar()
            time.sleep(0.05)
        cpu = cpu_seconds(home.pid)
        with engine.connect() as conn:
            missed = conn.execute(
                sa.text("SELECT COUNT(*) FROM job_executions WHERE status = 'missed'")
            ).scalar_one()
        engine.dispose()
        if probe is None:
            raise SystemExit("the probe never ran")
        ran = datetime.fromisoformat(str(probe)).replace(tzinfo=UTC).timestamp()
        return ran - (launched + 1.0), cpu, missed
    finally:
        home.__exit__()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="overdue jobs (default 10,000)")
    args = parser.parse_args(argv)
    base_late, base_cpu = baseline(args.jobs)
    late, cpu, missed = this_daemon(args.jobs)
    print(f"restart with {args.jobs:,} overdue jobs: the probe due 1 s after launch ran late by")
    print(f"  baseline (APScheduler + SQLAlchemyJobStore): {base_late:7.2f} s  (CPU {base_cpu:.1f} s)")
    print(f"  this daemon: {late:7.2f} s  (CPU {cpu:.1f} s), {missed:,} missed fire times recorded")
    met = late <= TARGET_SECONDS and late * TARGET_FACTOR <= base_late and missed >= args.jobs
    verdict = "met" if met else "NOT met"
    print(f"  {base_late / max(late, 1e-3):.1f}x faster; target (10x, <= {TARGET_SECONDS:g} s): {verdict}")
    result(
        f"restart with {args.jobs:,} overdue jobs: lateness of a job due 1 s after launch",
        f"APScheduler + SQLAlchemyJobStore {base_late:.2f} s",
        f"{late:.2f} s ({missed:,} missed recorded)",
        f"{base_late / max(late, 1e-3):.1f}x faster",
        f">= {TARGET_FACTOR:g}x, <= {TARGET_SECONDS:g} s",
        met,
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
