"""Fire latency and the scheduler's CPU with many in-thread jobs firing every second, against
bare APScheduler in the same run.

``--jobs`` no-op jobs (default 200) fire every second for ``--seconds`` (default 60), after a
warm-up, on each side, each in a process of its own:

* APScheduler 3.11's ``BackgroundScheduler`` with its memory job store; with a
  ``SQLAlchemyJobStore`` on a SQLite file as created by default; and the same with WAL;
* this checkout's daemon on its embedded SQLite default, the jobs ``executor="thread"``.

Latency is a run's start less its scheduled fire time (APScheduler: the job function's clock
against the executed event's ``scheduled_run_time``; the daemon: the history row's
``started_at``); printed as p50 and p99 with the fire times that never ran (``missed``), and the
process's CPU (cores) over the measured span. The target: this daemon's p99 at most twice the
memory store's, at most 0.10 cores, nothing missed. Child-process runs are not measured here.
Usage: python -m bench.fire_latency [--jobs N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.homes import cpu_seconds, percentile
from bench.results import result
from bench.soak import start_daemon

WARM_UP = 10.0
TARGET_P99_FACTOR = 2.0
TARGET_CORES = 0.10

BASELINE = """
import json, os, sys, threading, time
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler

jobs, seconds = int(os.environ["BENCH_JOBS"]), float(os.environ["BENCH_SECONDS"])
warm = float(os.environ["BENCH_WARM"])
store = os.environ["BENCH_STORE"]
started = {}
latencies, missed = [], [0]
measuring = [False]

def work(job_id):
    started[job_id] = time.time()

def listen(event):
    if not measuring[0]:
        return
    if event.code == EVENT_JOB_MISSED:
        missed[0] += 1
    else:
        latencies.append(started[event.job_id] - event.scheduled_run_time.timestamp())

if store == "memory":
    stores = {}
else:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from sqlalchemy import create_engine, event as sa_event
    engine = create_engine(os.environ["BENCH_DB"])
    if store == "wal":
        @sa_event.listens_for(engine, "connect")
        def _wal(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
    stores = {"default": SQLAlchemyJobStore(engine=engine)}
pool = {"default": {"type": "threadpool", "max_workers": 20}}
scheduler = BackgroundScheduler(jobstores=stores, executors=pool)
scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
for i in range(jobs):
    scheduler.add_job(work, "interval", seconds=1, id=f"job{i}", args=[f"job{i}"], misfire_grace_time=1)
scheduler.start()
time.sleep(warm)
measuring[0] = True
cpu0, wall0 = time.process_time(), time.monotonic()
time.sleep(seconds)
measuring[0] = False
cores = (time.process_time() - cpu0) / (time.monotonic() - wall0)
print(json.dumps({"latencies": latencies, "missed": missed[0], "cores": cores}), flush=True)
scheduler.shutdown(wait=False)
"""


def baseline(store: str, jobs: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="fsbench-") as where:
        env = {
            **os.environ,
            "BENCH_JOBS": str(jobs),
            "BENCH_SECONDS": str(seconds),
            "BENCH_WARM": str(WARM_UP),
            "BENCH_STORE": store,
            "BENCH_DB": f"sqlite:///{Path(where) / 'jobs.db'}",
        }
        done = subprocess.run(
            [sys.executable, "-c", BASELINE], env=env, capture_output=True, text=True, timeout=seconds + 120
        )
        if done.returncode != 0:
            raise SystemExit(f"baseline {store} failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def this_daemon(jobs: int, seconds: float) -> dict:
    home, daemon = start_daemon(jobs, 0)
    try:
        time.sleep(WARM_UP)
        if daemon.poll() is not None:
            raise SystemExit(f"the daemon exited with {daemon.returncode}; see {home}/logs/scheduler.log")
        begin, cpu0, wall0 = time.time(), cpu_seconds(daemon.pid), time.monotonic()
        time.sleep(seconds)
        end, cores = time.time(), (cpu_seconds(daemon.pid) - cpu0) / (time.monotonic() - wall0)
    finally:
        daemon.terminate()
        daemon.wait(120)
    with sqlite3.connect(home / "data" / "scheduler.db") as conn:
        rows = conn.execute(
            "SELECT scheduled_run_time, started_at, status FROM job_executions "
            "WHERE scheduled_run_time >= ? AND scheduled_run_time < ?",
            (_stored(begin), _stored(end)),
        ).fetchall()
    shutil.rmtree(home, ignore_errors=True)
    latencies = [
        (_read(started) - _read(scheduled)) for scheduled, started, status in rows if status == "success"
    ]
    expected = jobs * int(end - begin)
    return {"latencies": latencies, "missed": max(expected - len(latencies), 0), "cores": cores}


def _stored(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _read(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200, help="every-second in-thread jobs (default 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured span (default 60)")
    args = parser.parse_args(argv)
    sides = {
        "APScheduler, memory store": baseline("memory", args.jobs, args.seconds),
        "APScheduler, SQLAlchemyJobStore (SQLite)": baseline("sqlite", args.jobs, args.seconds),
        "APScheduler, SQLAlchemyJobStore (SQLite, WAL)": baseline("wal", args.jobs, args.seconds),
        "this daemon": this_daemon(args.jobs, args.seconds),
    }
    print(f"{args.jobs} in-thread jobs every second, {args.seconds:g} s measured:")
    p99: dict[str, float] = {}
    for name, side in sides.items():
        values = side["latencies"] or [float("nan")]
        p99[name] = percentile(values, 99)
        print(
            f"  {name:<46} p50 {percentile(values, 50) * 1000:7.1f} ms  p99 {p99[name] * 1000:7.1f} ms  "
            f"{side['cores']:.2f} cores  {side['missed']} not run"
        )
    ours, memory = sides["this daemon"], "APScheduler, memory store"
    factor = p99["this daemon"] / p99[memory]
    met = factor <= TARGET_P99_FACTOR and ours["cores"] <= TARGET_CORES and ours["missed"] == 0
    verdict = "met" if met else "NOT met"
    print(f"  p99 {factor:.1f}x the memory store's; target (<= 2x, <= 0.10 cores, 0 missed): {verdict}")
    result(
        f"{args.jobs} in-thread jobs every second: fire latency p99, CPU",
        f"APScheduler memory store {p99[memory] * 1000:.0f} ms, {sides[memory]['cores']:.2f} cores",
        f"{p99['this daemon'] * 1000:.0f} ms, {ours['cores']:.2f} cores, {ours['missed']} not run",
        f"{factor:.1f}x",
        "<= 2x, <= 0.10 cores, 0 missed",
        met,
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
