"""Faults against a composed daemon with real child processes: every fire time of an every-second
job has exactly one history row (ran, skipped, coalesced or missed), when a run outlasts its
interval and when more runs are due than there are workers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fund_common.runstatus import FINAL
from fund_scheduler.store import history
from tests.support.inprocess import InProcessDaemon

ACCOUNTED = {"success", "skipped", "coalesced", "missed"}


def _every_second(job_id: str, seconds: float) -> str:
    return f'[jobs.{job_id}]\nsecond = "*"\ncommand = ["sleep", "{seconds}"]\n'


def _run(tmp_path: Path, jobs: str, seconds: float, **env: str) -> tuple[dict[str, list[dict]], datetime]:
    config = tmp_path / "fire_times.toml"
    config.write_text(jobs)
    with InProcessDaemon(tmp_path, SCHEDULER_JOBS_CONFIG=str(config), **env) as daemon:
        time.sleep(seconds)
        horizon = datetime.now(UTC) - timedelta(seconds=3)
        engine = daemon.daemon.engine
    rows = history.recent(engine, limit=10_000)
    by_job: dict[str, list[dict]] = {}
    for row in rows:
        by_job.setdefault(row["job_id"], []).append(row)
    return by_job, horizon


def _assert_every_fire_time_has_one_row(rows: list[dict], horizon: datetime) -> dict[str, int]:
    assert all(row["status"] in FINAL for row in rows)
    times = [row["scheduled_run_time"] for row in rows]
    assert len(times) == len(set(times))
    first = min(times)
    expected = [first + timedelta(seconds=i) for i in range(int((horizon - first).total_seconds()) + 1)]
    status = {row["scheduled_run_time"]: row["status"] for row in rows}
    assert [t for t in expected if t not in status] == []  # no fire time without a row
    counts: dict[str, int] = {}
    for t in expected:
        assert status[t] in ACCOUNTED, (t, status[t])
        counts[status[t]] = counts.get(status[t], 0) + 1
    return counts


def test_a_run_longer_than_its_interval_records_each_blocked_fire_time_skipped(tmp_path: Path) -> None:
    by_job, horizon = _run(tmp_path, _every_second("slow", 2.5), 7)
    counts = _assert_every_fire_time_has_one_row(by_job["slow"], horizon)
    assert counts.get("success", 0) >= 1
    assert counts.get("skipped", 0) >= 2 * (counts["success"] - 1)  # 2 of every 3 seconds blocked
    skipped = [r for r in by_job["slow"] if r["status"] == "skipped"]
    assert {r["error"] for r in skipped} == {"previous run still going (max_instances reached)"}


def test_more_due_runs_than_workers_leave_no_fire_time_without_a_row(tmp_path: Path) -> None:
    jobs = "".join(_every_second(f"busy_{i}", 0.6) for i in range(4))
    by_job, horizon = _run(tmp_path, jobs, 6, SCHEDULER_MAX_WORKERS="2", SCHEDULER_MISFIRE_GRACE_TIME="1")
    total: dict[str, int] = {}
    for i in range(4):
        for status, n in _assert_every_fire_time_has_one_row(by_job[f"busy_{i}"], horizon).items():
            total[status] = total.get(status, 0) + n
    assert total.get("success", 0) >= 4
    assert set(total) - {"success"}  # 2.4 s of work a second on 2 workers: some did not run
