"""The run history at scale: the queries behind ``status``, ``history``, ``/health``,
``/metrics``, ``/api/status`` and the cleanup job, on a SQLite history of 1,000,000 rows against
the same queries on 1,000 rows (the baseline), built and measured in the same run.

The rows: 12 jobs, one run every few minutes over a year, 3 % failures, the newest week and the
rest in proportion; each query's median of ``--repeat`` runs, then the cleanup job's purge
(rows older than 7 days) timed once on each side. Prints milliseconds and the ratio 1M / 1k
(for the purge, per row deleted: it deletes a thousand times more rows).
Usage: python -m bench.history_bench [--rows N] [--repeat K]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fund_common.runstatus import RunStatus
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from fund_scheduler_migrations.runner import upgrade

JOBS = [f"job_{i:02d}" for i in range(12)]
SPAN = timedelta(days=365)


def build(path: Path, rows: int, now: datetime) -> None:
    """``rows`` finished runs spread evenly over the year before ``now``, oldest first."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    step = SPAN / rows
    batch: list[dict] = []
    with engine.begin() as conn:
        for n in range(rows):
            started = now - SPAN + step * n
            failed = n % 33 == 0
            batch.append(
                {
                    "job_id": JOBS[n % len(JOBS)],
                    "scheduled_run_time": started,
                    "started_at": started,
                    "finished_at": started + timedelta(seconds=3),
                    "duration": 3.0,
                    "status": (RunStatus.FAILED if failed else RunStatus.SUCCESS).value,
                    "error": "exit status 1" if failed else None,
                    "output_tail": "loaded 5,000 NAVs\n",
                    "host": "bench",
                    "trigger": "schedule",
                }
            )
            if len(batch) == 20_000:
                conn.execute(history.job_executions.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(history.job_executions.insert(), batch)
    engine.dispose()


def queries(now: datetime) -> dict[str, Callable]:
    return {
        "history (newest 20)": lambda e: history.recent(e, limit=20),
        "history --job --status": lambda e: history.recent(e, job_id=JOBS[3], status="failed", limit=20),
        "status: last run per job": history.last_per_job,
        "status: failures in 24 h": lambda e: history.failures_since(e, now - timedelta(hours=24)),
        "/health, /metrics: last success": history.last_success_per_job,
        "/api/status: 7-day counts": lambda e: history.counts_since(e, now - timedelta(days=7)),
        "weekly report: a week's runs": lambda e: history.runs_between(
            e, now - timedelta(days=14), now - timedelta(days=7)
        ),
    }


def median_ms(func: Callable, engine, repeat: int) -> tuple[float, int]:
    """The median time of ``func(engine)`` and how many rows it read (runs, or counted runs)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = func(engine)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), _rows_read(result)


def _rows_read(result) -> int:
    """Rows returned, or for counts per job and status (``{job: {status: n}}``) rows counted."""
    if isinstance(result, dict) and result and all(isinstance(v, dict) for v in result.values()):
        counts = [n for per_job in result.values() for n in per_job.values()]
        if all(isinstance(n, int) for n in counts):
            return sum(counts)
    return len(result)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="histbench-") as tmp:
        paths = {"base": Path(tmp) / "base.db", "big": Path(tmp) / "big.db"}
        started = time.perf_counter()
        build(paths["base"], args.baseline_rows, now)
        build(paths["big"], args.rows, now)
        print(f"built {args.baseline_rows:,} and {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
        engines = {k: make_engine(f"sqlite:///{p}") for k, p in paths.items()}
        print(f"{'query':<36} {args.baseline_rows:>9,} rows {args.rows:>11,} rows   ratio  (rows read)")
        for name, func in queries(now).items():
            base, base_rows = median_ms(func, engines["base"], args.repeat)
            big, big_rows = median_ms(func, engines["big"], args.repeat)
            print(
                f"{name:<36} {base:>10.2f} ms {big:>13.2f} ms {big / base:>7.1f}x  "
                f"({base_rows:,} / {big_rows:,})"
            )
        purged = {}
        for key in ("base", "big"):
            start = time.perf_counter()
            deleted = history.purge_older_than(engines[key], 7, now=now)
            purged[key] = ((time.perf_counter() - start) * 1000, deleted)
        (base_ms, base_n), (big_ms, big_n) = purged["base"], purged["big"]
        per_base, per_big = base_ms / max(base_n, 1) * 1000, big_ms / max(big_n, 1) * 1000
        print(
            f"{'cleanup: purge older than 7 days':<36} {base_ms:>10.2f} ms {big_ms:>13.2f} ms "
            f"({base_n:,} and {big_n:,} rows deleted: {per_base:.1f} and {per_big:.1f} ms per 1,000 rows, "
            f"{per_big / per_base:.1f}x)"
        )
        for engine in engines.values():
            engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
