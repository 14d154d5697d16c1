"""Runs on Celery workers: fire time to start, and the rate sustained with three workers, against
the local child-process runner in the same run.

A daemon of this checkout runs ``--rates`` command jobs (``date +%s.%N``: the run's own clock at
its start, printed) firing every second, for
``--seconds`` after a warm-up, twice: with ``executor = "process"`` (the baseline: child processes
of the daemon) and with ``executor = "celery"`` (queue ``bench``, three workers started with
``worker -Q bench -c 4``, each a stand-in for a host), on a real ``redis-server`` and, when the
server binaries are installed, a real MariaDB (else the embedded SQLite). Each side's latency is
the clock the run printed as it started (local: a child of the daemon; remote: a child of the
worker that claimed it) less its fire time, as p50 and p99; a fire time without a ``success`` row
is missed. The sustained rate is the highest of ``--rates`` run with none missed.

The target: remote p50 <= 250 ms and p99 <= 1 s above the fire time, and >= 10 runs/s sustained
with three workers, none missed.
Usage: python -m bench.remote_latency [--rates 5,10,20] [--seconds 20] [--concurrency 4] [--sqlite]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bench.homes import percentile
from bench.results import result
from bench.soak import HERE, start_daemon

WARM_UP = 8.0
WORKERS = 3
TARGET_P50, TARGET_P99, TARGET_RATE = 0.250, 1.0, 10

JOBS = '''"""Remote-latency jobs: {jobs} command jobs every second ({children} marks the executor)."""

from fund_scheduler.jobs.spec import JobSpec

EXECUTOR = {{0: "process", 1: "celery"}}[{children}]

for _i in range({jobs}):
    globals()[f"tick_{{_i}}"] = JobSpec(
        id=f"tick_{{_i}}",
        name="bench",
        schedule={{"second": "*"}},
        command=("date", "+%s.%N"),
        executor=EXECUTOR,
        queue="bench" if EXECUTOR == "celery" else None,
    )
'''


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def side(rate: int, seconds: float, database_url: str, broker_url: str | None, concurrency: int) -> dict:
    """One daemon (with three workers when ``broker_url``): latencies and missed fire times."""
    from sqlalchemy import create_engine

    remote = broker_url is not None
    env = {
        "DATABASE_URL": database_url,
        "SCHEDULER_LANG": "en",
        "SCHEDULER_MISFIRE_GRACE_TIME": "5",
        "SCHEDULER_WORKER_HEARTBEAT": "2",
        "SCHEDULER_WORKER_LEASE": "30",
    }
    if remote:
        env["SCHEDULER_BROKER_URL"] = broker_url
    home, daemon = start_daemon(rate, int(remote), max(4, rate), source=JOBS, env=env)
    environ = {**os.environ, **env, "SCHEDULER_HOME": str(home), "SCHEDULER_JOBS_PACKAGES": "soakjobs"}
    environ.update(
        SCHEDULER_JOBS_CONFIG=str(home / "jobs.toml"), PYTHONPATH=os.pathsep.join([str(home), str(HERE)])
    )
    workers: list[subprocess.Popen] = []
    log = home / "logs" / "scheduler.log"
    try:
        _wait(lambda: log.exists() and "scheduler ready" in log.read_text(), 60, "the daemon")
        if remote:
            for n in range(WORKERS):
                command = [sys.executable, str(HERE / "scheduler_daemon.py"), "worker", "-Q", "bench"]
                command += ["-c", str(concurrency), "-n", f"bench{n}@%h"]
                workers.append(
                    subprocess.Popen(
                        command,
                        env=environ,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
        time.sleep(WARM_UP)
        begin = time.time()
        time.sleep(seconds)
        end = time.time()
        time.sleep(3.0)  # the last runs finish
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(120)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
    engine = create_engine(database_url)
    start = datetime.fromtimestamp(begin, UTC).replace(tzinfo=None)
    stop = datetime.fromtimestamp(end, UTC).replace(tzinfo=None)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT scheduled_run_time, output_tail FROM job_executions WHERE status = 'success' "
                "AND scheduled_run_time >= :start AND scheduled_run_time < :stop"
            ),
            {"start": start, "stop": stop},
        ).all()
    engine.dispose()
    shutil.rmtree(home, ignore_errors=True)
    latencies = [float((tail or "nan").split()[0]) - _epoch(scheduled) for scheduled, tail in rows]
    expected = rate * len(range(int(begin) + 1, int(end) + 1))
    return {"latencies": latencies, "missed": max(expected - len(latencies), 0), "runs": len(latencies)}


def _epoch(value) -> float:
    """A stored naive-UTC fire time as a POSIX time."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC).timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="5,10,20", help="jobs firing every second, per round")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds measured per round")
    parser.add_argument("--concurrency", type=int, default=4, help="runs at once per worker")
    parser.add_argument(
        "--sqlite", action="store_true", help="the embedded SQLite even with MariaDB installed"
    )
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    sys.path.insert(0, str(HERE))
    from tests.support.redis import RedisServer, redis_binary

    binary = redis_binary()
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    broker = RedisServer(binary).start()
    server = None
    try:
        if not args.sqlite and (shutil.which("mariadbd") or Path("/usr/sbin/mariadbd").exists()):
            from tests.support.mariadb import MariaDBServer

            server = MariaDBServer().__enter__()
        figures = {}
        for rate in rates:
            for name, broker_url in (("local", None), ("remote", broker.url)):
                if server is not None:
                    url = server.create_database(f"bench_{name}_{rate}")
                else:
                    scratch = (
                        Path(os.environ.get("TMPDIR", "/tmp")) / f"fs-remote-{os.getpid()}-{name}-{rate}.db"
                    )
                    url = f"sqlite:///{scratch}"
                figures[(name, rate)] = side(rate, args.seconds, url, broker_url, args.concurrency)
        backend = "MariaDB" if server is not None else "SQLite"
    finally:
        if server is not None:
            server.__exit__(None, None, None)
        broker.close()
    print(
        f"Command jobs every second, {args.seconds:g} s measured per rate, {backend}, "
        f"{WORKERS} workers x {args.concurrency}:"
    )
    for (name, rate), side_ in figures.items():
        values = side_["latencies"] or [float("nan")]
        side_["p50"], side_["p99"] = percentile(values, 50), percentile(values, 99)
        print(
            f"  {name:<7} {rate:>3} jobs/s  p50 {side_['p50'] * 1000:7.1f} ms  "
            f"p99 {side_['p99'] * 1000:7.1f} ms  {side_['runs']} runs, {side_['missed']} missed"
        )
    sustained = {
        name: max((r for r in rates if figures[(name, r)]["missed"] == 0), default=0)
        for name in ("local", "remote")
    }
    first_local, first_remote = figures[("local", rates[0])], figures[("remote", rates[0])]
    met = (
        first_remote["p50"] <= TARGET_P50
        and first_remote["p99"] <= TARGET_P99
        and sustained["remote"] >= TARGET_RATE
    )
    print(
        f"  sustained with none missed: local {sustained['local']} runs/s, "
        f"remote {sustained['remote']} runs/s; "
        f"target (remote p50 <= 250 ms, p99 <= 1 s, >= 10 runs/s): {'met' if met else 'NOT met'}"
    )
    result(
        "Remote runs (3 Celery workers): fire to start, sustained rate",
        f"local child runs p50 {first_local['p50'] * 1000:.0f} ms, p99 {first_local['p99'] * 1000:.0f} ms; "
        f"{sustained['local']} runs/s",
        f"p50 {first_remote['p50'] * 1000:.0f} ms, p99 {first_remote['p99'] * 1000:.0f} ms; "
        f"{sustained['remote']} runs/s, 0 missed",
        f"{first_remote['p50'] / max(first_local['p50'], 1e-6):.1f}x local p50",
        "p50 <= 250 ms, p99 <= 1 s, >= 10 runs/s",
        met,
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
