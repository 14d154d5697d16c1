"""The idle daemon's resident memory against the set-ups a user would otherwise run, each in a
process of its own in the same run, measured after ``--settle`` idle seconds:

* bare: APScheduler's ``BackgroundScheduler`` with a ``SQLAlchemyJobStore`` on a SQLite file and
  nine cron jobs calling a function (the seeds' daemon);
* Flask: the same with a Flask app served by waitress in a thread (what Flask-APScheduler
  composes);
* this checkout's daemon on the embedded SQLite default with the bundled jobs, HTTP on and off.

Prints each RSS (``VmRSS``, MiB), the ratios to bare and whether the target (HTTP on at most
1.15x bare) is met; exit status 1 when it is not.
Usage: python -m bench.idle_footprint [--settle S]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.homes import DaemonHome, free_port, rss_mib
from bench.results import result

TARGET = 1.15

BARE = """
import os, sys, time
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

def work():
    pass

scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=os.environ["BENCH_DB"])})
for i in range(9):
    scheduler.add_job(work, "cron", hour=2, minute=i, id=f"job{i}", replace_existing=True)
scheduler.start()
if os.environ.get("BENCH_PORT"):
    import threading
    from flask import Flask, jsonify
    from waitress import serve
    app = Flask(__name__)

    @app.get("/jobs")
    def jobs():
        return jsonify([job.id for job in scheduler.get_jobs()])

    threading.Thread(target=serve, args=(app,), kwargs={"host": "127.0.0.1",
                     "port": int(os.environ["BENCH_PORT"]), "threads": 4}, daemon=True).start()
print("ready", flush=True)
time.sleep(3600)
"""


def baseline_rss(settle: float, http: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="fsbench-") as where:
        env = {**os.environ, "BENCH_DB": f"sqlite:///{Path(where) / 'jobs.db'}"}
        if http:
            env["BENCH_PORT"] = str(free_port())
        proc = subprocess.Popen([sys.executable, "-c", BARE], env=env, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            time.sleep(settle)
            return rss_mib(proc.pid)
        finally:
            proc.kill()
            proc.wait()


def daemon_rss(settle: float, http: bool) -> float:
    with DaemonHome(http=http) as daemon:
        time.sleep(settle)
        return rss_mib(daemon.pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle", type=float, default=10.0, help="idle seconds before RSS (default 10)")
    args = parser.parse_args(argv)
    figures = {
        "bare BackgroundScheduler + SQLAlchemyJobStore": baseline_rss(args.settle, http=False),
        "Flask + waitress + the same scheduler": baseline_rss(args.settle, http=True),
        "this daemon, HTTP on": daemon_rss(args.settle, http=True),
        "this daemon, HTTP off": daemon_rss(args.settle, http=False),
    }
    bare = figures["bare BackgroundScheduler + SQLAlchemyJobStore"]
    print(f"idle RSS after {args.settle:g} s:")
    for name, mib in figures.items():
        print(f"  {name:<46} {mib:6.1f} MiB  {mib / bare:.2f}x bare")
    ratio = figures["this daemon, HTTP on"] / bare
    print(f"  target: HTTP on <= {TARGET}x bare: {'met' if ratio <= TARGET else 'NOT met'} ({ratio:.2f}x)")
    flask = figures["Flask + waitress + the same scheduler"]
    result(
        "idle daemon RSS, HTTP on",
        f"bare APScheduler {bare:.1f} MiB; Flask + waitress {flask:.1f} MiB",
        f"{figures['this daemon, HTTP on']:.1f} MiB",
        f"{ratio:.2f}x bare",
        f"<= {TARGET}x bare",
        ratio <= TARGET,
    )
    off = figures["this daemon, HTTP off"]
    result(
        "idle daemon RSS, HTTP off", f"bare {bare:.1f} MiB", f"{off:.1f} MiB", f"{off / bare:.2f}x", "-", None
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
