"""Job-store and history write throughput on SQLite: stock APScheduler settings vs ours.

Measures, in the same run on the same disk:
  (a) baseline: APScheduler's SQLAlchemyJobStore (pickled state) on a plain ``create_engine``
      (rollback journal, synchronous=FULL) -- the seeds' set-up;
  (b) this project: JsonJobStore on ``fund_scheduler.store.engine.make_engine`` (WAL, synchronous=NORMAL,
      busy timeout);
  (c) (b) while a second process writes history rows into the same file at full speed: updates/s
      and the number of "database is locked" errors (must be 0).
Prints the figures and the ratios (b)/(a). Usage: python bench/jobstore_bench.py [--updates N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apscheduler.job import Job  # noqa: E402
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # noqa: E402
from apscheduler.schedulers.background import BackgroundScheduler  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from fund_scheduler.jobs.triggers import build_cron  # noqa: E402
from fund_scheduler.store import history  # noqa: E402
from fund_scheduler.store.engine import make_engine  # noqa: E402
from fund_scheduler.store.jobstore import JOB_FUNC, JsonJobStore  # noqa: E402
from fund_scheduler_migrations.runner import upgrade  # noqa: E402


def _job_store_rate(store, updates: int) -> float:
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    scheduler.start(paused=True)
    trigger = build_cron({"minute": "*/5"}, UTC)
    for i in range(20):
        scheduler.add_job(JOB_FUNC, trigger=trigger, id=f"job{i}", name=f"job {i}")
    jobs: list[Job] = store.get_all_jobs()
    start = time.perf_counter()
    base = datetime.now(UTC)
    for n in range(updates):
        job = jobs[n % len(jobs)]
        job.next_run_time = base + timedelta(seconds=n)
        store.update_job(job)
    elapsed = time.perf_counter() - start
    scheduler.shutdown(wait=False)
    return updates / elapsed


def _history_writer(url: str, stop_at: float, result) -> None:
    engine = make_engine(url)
    rows = locked = 0
    while time.time() < stop_at:
        try:
            history.record(engine, "writer", "skipped", scheduled_run_time=None)
            rows += 1
        except OperationalError as exc:
            if "locked" in str(exc):
                locked += 1
            else:
                raise
    result.put((rows, locked))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jsbench-") as tmp:
        base_url = f"sqlite:///{tmp}/baseline.db"
        ours_url = f"sqlite:///{tmp}/ours.db"
        baseline = _job_store_rate(SQLAlchemyJobStore(engine=create_engine(base_url)), args.updates)
        ours_engine = make_engine(ours_url)
        upgrade(ours_engine)  # the schema comes from the migrations, as in the daemon
        ours = _job_store_rate(JsonJobStore(ours_engine), args.updates)

        shared_url = f"sqlite:///{tmp}/shared.db"
        engine = make_engine(shared_url)
        upgrade(engine)
        store = JsonJobStore(engine)
        result: multiprocessing.Queue = multiprocessing.Queue()
        writer = multiprocessing.Process(target=_history_writer, args=(shared_url, time.time() + 6, result))
        writer.start()
        time.sleep(0.5)
        locked = 0
        try:
            shared = _job_store_rate(store, args.updates)
        except OperationalError as exc:
            shared, locked = float("nan"), 1
            print(f"job store failed under concurrent writes: {exc}")
        writer.join(40)
        rows, writer_locked = result.get(timeout=5)
    print(f"job store updates/s, stock APScheduler SQLite set-up (baseline): {baseline:10.0f}")
    print(f"job store updates/s, this project (WAL, JSON state):             {ours:10.0f}")
    print(f"  ratio this project / baseline: {ours / baseline:.1f}x")
    print(f"job store updates/s with a second process writing history:      {shared:10.0f}")
    print(f"  ratio to the baseline: {shared / baseline:.1f}x; history rows written meanwhile: {rows}")
    print(f"'database is locked' errors: job store {locked}, history writer {writer_locked}")
    return 0 if locked == 0 and writer_locked == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
