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
memory store's, at most 0.10 cores, nothing missed.

``--part child``: Python jobs run as child processes (the default executor), each returning its
own clock at its start; latency is that less the fire time. The baseline in the same run: a bare
``python -c`` child started from a Python process (its start to its first statement). The daemon
with its fork server at each rate of ``--rates`` (that many jobs every second), and once with
``SCHEDULER_FORK_SERVER=false`` (a new interpreter per run, as before the fork server) at the
lowest rate. The sustained rate is the highest with every fire time run. The target: p50 <= 50 ms,
p99 <= 150 ms, >= 20 child runs a second with none missed.
Usage: python -m bench.fire_latency [--part thread|child|both] [--jobs N] [--seconds S] [--rates R,R]
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
CHILD_WARM_UP = 5.0
BASELINE_WORKERS = 20
TARGET_CHILD_P50, TARGET_CHILD_P99, TARGET_CHILD_RATE = 0.050, 0.150, 20

CHILD_JOBS = '''"""Fire-latency child jobs: {children} Python jobs every second, each a child process."""

import time

from fund_scheduler.jobs.spec import JobSpec


def stamp(ctx):
    return {{"t": time.time()}}


for _i in range({children}):
    globals()[f"child_{{_i}}"] = JobSpec(
        id=f"child_{{_i}}", name="bench", schedule={{"second": "*"}}, func=f"{{__name__}}:stamp"
    )
'''

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
pool = {"default": {"type": "threadpool", "max_workers": int(os.environ["BENCH_WORKERS"])}}
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
            "BENCH_WORKERS": str(BASELINE_WORKERS),
            "BENCH_DB": f"sqlite:///{Path(where) / 'jobs.db'}",
        }
        done = subprocess.run(
            [sys.executable, "-c", BASELINE], env=env, capture_output=True, text=True, timeout=seconds + 120
        )
        if done.returncode != 0:
            raise SystemExit(f"baseline {store} failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def this_daemon(jobs: int, seconds: float) -> dict:
    home, daemon = start_daemon(jobs, 0, BASELINE_WORKERS)  # the pool size of the baselines
    rows, begin, end, cores = _measured_rows(
        home, daemon, WARM_UP, seconds, "started_at, status FROM job_executions WHERE"
    )
    latencies = [
        (_read(started) - _read(scheduled)) for scheduled, started, status in rows if status == "success"
    ]
    expected = jobs * int(end - begin)
    return {"latencies": latencies, "missed": max(expected - len(latencies), 0), "cores": cores}


def _measured_rows(home: Path, daemon: subprocess.Popen, warm_up: float, seconds: float, what: str):
    """After ``warm_up``, the daemon's CPU over ``seconds``; then the rows fired in that span
    (``SELECT scheduled_run_time, <what> scheduled_run_time in the span``), the home removed:
    (rows, begin, end, cores)."""
    try:
        time.sleep(warm_up)
        if daemon.poll() is not None:
            raise SystemExit(f"the daemon exited with {daemon.returncode}; see {home}/logs/scheduler.log")
        begin, cpu0, wall0 = time.time(), cpu_seconds(daemon.pid), time.monotonic()
        time.sleep(seconds)
        end, cores = time.time(), (cpu_seconds(daemon.pid) - cpu0) / (time.monotonic() - wall0)
        time.sleep(2.0)  # the last runs finish
    finally:
        daemon.terminate()
        daemon.wait(120)
    with sqlite3.connect(home / "data" / "scheduler.db") as conn:
        rows = conn.execute(
            f"SELECT scheduled_run_time, {what} scheduled_run_time >= ? AND scheduled_run_time < ?",
            (_stored(begin), _stored(end)),
        ).fetchall()
    shutil.rmtree(home, ignore_errors=True)
    return rows, begin, end, cores


def bare_child(runs: int) -> list[float]:
    """Start-up latencies of a bare ``python -c`` child: from before its start to its first line."""
    latencies = []
    for _ in range(runs):
        before = time.time()
        out = subprocess.run(
            [sys.executable, "-c", "import time; print(time.time())"], capture_output=True, text=True
        )
        latencies.append(float(out.stdout) - before)
    return latencies


def child_daemon(jobs: int, seconds: float, *, fork_server: bool = True) -> dict:
    """``jobs`` Python child-process jobs every second on this daemon: latencies, missed, cores."""
    env = {"SCHEDULER_FORK_SERVER": "true" if fork_server else "false"}
    home, daemon = start_daemon(0, jobs, max(4, jobs), source=CHILD_JOBS, env=env)
    rows, begin, end, cores = _measured_rows(
        home, daemon, CHILD_WARM_UP, seconds, "output_tail FROM job_executions WHERE status = 'success' AND"
    )
    latencies = []
    for scheduled, tail in rows:
        line = next((x for x in (tail or "").splitlines() if x.startswith("result: ")), None)
        if line is not None:
            latencies.append(json.loads(line.removeprefix("result: "))["t"] - _read(scheduled))
    expected = jobs * int(end - begin)
    return {"latencies": latencies, "missed": max(expected - len(latencies), 0), "cores": cores}


def child_part(rates: list[int], seconds: float) -> bool:
    """The child-process figures (see the module doc); whether the targets are met."""
    bare = bare_child(20)
    sides = {f"this daemon, {rate} jobs/s": child_daemon(rate, seconds) for rate in rates}
    sides[f"no fork server, {rates[0]} jobs/s"] = child_daemon(rates[0], seconds, fork_server=False)
    print(f"Python jobs as child processes, every second, {seconds:g} s measured per rate:")
    print(f"  {'bare `python -c` child (start to first line)':<46} p50 {percentile(bare, 50) * 1000:7.1f} ms")
    for name, side in sides.items():
        values = side["latencies"] or [float("nan")]
        side["p50"], side["p99"] = percentile(values, 50), percentile(values, 99)
        print(
            f"  {name:<46} p50 {side['p50'] * 1000:7.1f} ms  p99 {side['p99'] * 1000:7.1f} ms  "
            f"{side['cores']:.2f} cores  {side['missed']} not run"
        )
    sustained = max(
        (rate for rate in rates if sides[f"this daemon, {rate} jobs/s"]["missed"] == 0), default=0
    )
    first = sides[f"this daemon, {rates[0]} jobs/s"]
    met = (
        first["p50"] <= TARGET_CHILD_P50
        and first["p99"] <= TARGET_CHILD_P99
        and sustained >= TARGET_CHILD_RATE
    )
    verdict = "met" if met else "NOT met"
    print(
        f"  at {rates[0]} jobs/s p50 {first['p50'] * 1000:.0f} ms, p99 {first['p99'] * 1000:.0f} ms; "
        f"sustained "
        f"{sustained} runs/s with none missed; target (p50 <= 50 ms, p99 <= 150 ms, >= 20/s): {verdict}"
    )
    old = sides[f"no fork server, {rates[0]} jobs/s"]
    result(
        "Python child-process runs: start latency, sustained rate",
        f"bare `python -c` child {percentile(bare, 50) * 1000:.0f} ms; "
        f"without the fork server p50 {old['p50'] * 1000:.0f} ms",
        f"p50 {first['p50'] * 1000:.0f} ms, p99 {first['p99'] * 1000:.0f} ms; {sustained} runs/s, 0 missed",
        f"{first['p50'] / percentile(bare, 50):.2f}x bare",
        "p50 <= 50 ms, p99 <= 150 ms, >= 20 runs/s",
        met,
    )
    return met


def _stored(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _read(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200, help="every-second in-thread jobs (default 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured span (default 60)")
    parser.add_argument("--part", choices=("thread", "child", "both"), default="both", help="default both")
    parser.add_argument(
        "--rates", default="10,20,30,40", help="child jobs every second to try (default 10,20,30,40)"
    )
    args = parser.parse_args(argv)
    met = True
    if args.part in ("thread", "both"):
        met = thread_part(args.jobs, args.seconds)
    if args.part in ("child", "both"):
        rates = sorted(int(rate) for rate in args.rates.split(","))
        met = child_part(rates, args.seconds) and met
    return 0 if met else 1


def thread_part(jobs: int, seconds: float) -> bool:
    """The in-thread figures (see the module doc); whether the targets are met."""
    sides = {
        "APScheduler, memory store": baseline("memory", jobs, seconds),
        "APScheduler, SQLAlchemyJobStore (SQLite)": baseline("sqlite", jobs, seconds),
        "APScheduler, SQLAlchemyJobStore (SQLite, WAL)": baseline("wal", jobs, seconds),
        "this daemon": this_daemon(jobs, seconds),
    }
    print(f"{jobs} in-thread jobs every second, {seconds:g} s measured:")
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
        f"{jobs} in-thread jobs every second: fire latency p99, CPU",
        f"APScheduler memory store {p99[memory] * 1000:.0f} ms, {sides[memory]['cores']:.2f} cores",
        f"{p99['this daemon'] * 1000:.0f} ms, {ours['cores']:.2f} cores, {ours['missed']} not run",
        f"{factor:.1f}x",
        "<= 2x, <= 0.10 cores, 0 missed",
        met,
    )
    return met


if __name__ == "__main__":
    sys.exit(main())
