"""The job_executions history with the time passed in: rows, queries, purge."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine

from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from tests.support.schema import create_scheduler_tables

T0 = datetime(2026, 5, 6, 11, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/history.db")
    create_scheduler_tables(engine)
    create_scheduler_tables(engine)
    yield engine
    engine.dispose()


def run(engine: Engine, job_id: str, status: str, start: datetime, seconds: float = 5, **kw) -> int:
    row = history.start(engine, job_id, scheduled_run_time=start, trigger="schedule", now=start)
    history.finish(engine, row, status, now=start + timedelta(seconds=seconds), **kw)
    return row


def test_start_and_finish(engine: Engine) -> None:
    scheduled = datetime(2026, 5, 6, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    row_id = history.start(
        engine, "daily_collection", scheduled_run_time=scheduled, trigger="schedule", now=T0
    )
    row = history.get(engine, row_id)
    assert row["status"] == "running"
    assert row["scheduled_run_time"] == T0  # 19:00 in Shanghai is 11:00 UTC
    assert row["scheduled_run_time"].tzinfo == UTC
    assert row["started_at"] == T0
    assert (row["finished_at"], row["duration"], row["pid"]) == (None, None, None)
    assert row["host"] == socket.gethostname()
    assert row["trigger"] == "schedule"

    history.set_pid(engine, row_id, 4242)
    history.finish(
        engine,
        row_id,
        "failed",
        exit_code=3,
        error="x" * 5000,
        output_tail="line\n" * 2000,
        now=T0 + timedelta(seconds=75.5),
    )
    row = history.get(engine, row_id)
    assert row["status"] == "failed"
    assert row["pid"] == 4242
    assert row["exit_code"] == 3
    assert row["finished_at"] == T0 + timedelta(seconds=75.5)
    assert row["duration"] == 75.5
    assert len(row["error"]) == 4000
    assert len(row["output_tail"]) == history.OUTPUT_TAIL_CHARS
    assert row["output_tail"].endswith("line\n")


@pytest.mark.parametrize("status", ["running", "done", ""])
def test_finish_refuses_non_final_status(engine: Engine, status: str) -> None:
    row_id = history.start(engine, "j", scheduled_run_time=None, trigger="manual", now=T0)
    with pytest.raises(ValueError, match="not a final status"):
        history.finish(engine, row_id, status, now=T0)
    assert history.get(engine, row_id)["status"] == "running"


def test_finish_before_start_gives_zero_duration(engine: Engine) -> None:
    row_id = history.start(engine, "j", scheduled_run_time=None, trigger="manual", now=T0)
    history.finish(engine, row_id, "success", now=T0 - timedelta(seconds=3))  # clock stepped back
    assert history.get(engine, row_id)["duration"] == 0.0


def test_record_a_run_that_never_ran(engine: Engine) -> None:
    missed_at = T0 - timedelta(days=1)
    row_id = history.record(
        engine, "weekly_full_calc", "missed", scheduled_run_time=missed_at, error="daemon down", now=T0
    )
    row = history.get(engine, row_id)
    assert (row["status"], row["trigger"], row["error"]) == ("missed", "schedule", "daemon down")
    assert row["scheduled_run_time"] == missed_at
    assert row["started_at"] == row["finished_at"] == T0
    assert row["duration"] == 0.0
    assert history.get(engine, row_id + 1) is None


def test_running_rows_lists_only_running_rows_of_this_host(engine: Engine) -> None:
    left = history.start(engine, "a", scheduled_run_time=None, trigger="schedule", now=T0)
    run(engine, "b", "success", T0)
    with engine.begin() as conn:
        conn.execute(
            insert(history.job_executions).values(
                job_id="c", started_at=T0, status="running", host="other-host", trigger="schedule"
            )
        )
    assert [r["id"] for r in history.running_rows(engine)] == [left]
    assert [r["job_id"] for r in history.running_rows(engine, host="other-host")] == ["c"]
    history.finish(engine, left, "interrupted", error="daemon died", now=T0 + timedelta(hours=1))
    assert history.running_rows(engine) == []


def test_recent_filters_and_orders_newest_first(engine: Engine) -> None:
    ids = [
        run(engine, "a", "success", T0),
        run(engine, "b", "failed", T0 + timedelta(minutes=1)),
        run(engine, "a", "failed", T0 + timedelta(minutes=2)),
        run(engine, "a", "success", T0 + timedelta(minutes=3)),
    ]
    assert [r["id"] for r in history.recent(engine)] == ids[::-1]
    assert [r["id"] for r in history.recent(engine, limit=2)] == ids[:1:-1]
    assert [r["id"] for r in history.recent(engine, job_id="a")] == [ids[3], ids[2], ids[0]]
    assert [r["id"] for r in history.recent(engine, status="failed")] == [ids[2], ids[1]]
    assert [r["id"] for r in history.recent(engine, job_id="a", status="failed")] == [ids[2]]
    assert history.recent(engine, job_id="nobody") == []
    assert history.count_for_job(engine, "a") == 3
    assert history.count_for_job(engine, "nobody") == 0


def test_last_per_job(engine: Engine) -> None:
    run(engine, "a", "success", T0)
    last_a = run(engine, "a", "failed", T0 + timedelta(minutes=1))
    last_b = history.record(engine, "b", "skipped", scheduled_run_time=T0, now=T0)
    last = history.last_per_job(engine)
    assert set(last) == {"a", "b"}
    assert (last["a"]["id"], last["a"]["status"]) == (last_a, "failed")
    assert (last["b"]["id"], last["b"]["status"]) == (last_b, "skipped")
    assert last["a"]["started_at"].tzinfo == UTC


def test_failures_since(engine: Engine) -> None:
    day = timedelta(days=1)
    run(engine, "old", "failed", T0 - 3 * day)
    run(engine, "ok", "success", T0)
    failed = run(engine, "f", "failed", T0)
    timed_out = run(engine, "t", "timeout", T0 + day)
    missed = history.record(engine, "m", "missed", scheduled_run_time=T0, now=T0 + day)
    history.start(engine, "r", scheduled_run_time=None, trigger="manual", now=T0 + day)
    found = history.failures_since(engine, T0 - day)
    assert [r["id"] for r in found] == [missed, timed_out, failed]
    # ``since`` in another zone means the same instant; the boundary is inclusive.
    assert [
        r["id"] for r in history.failures_since(engine, (T0 + day).astimezone(ZoneInfo("Asia/Tokyo")))
    ] == [
        missed,
        timed_out,
    ]


def test_purge_older_than(engine: Engine) -> None:
    day = timedelta(days=1)
    now = T0 + 10 * day
    old = run(engine, "a", "success", T0)
    old_missed = history.record(engine, "b", "missed", scheduled_run_time=T0, now=T0)
    still_running = history.start(engine, "c", scheduled_run_time=None, trigger="schedule", now=T0)
    edge = run(engine, "a", "failed", now - 7 * day)  # exactly 7 days: kept
    fresh = run(engine, "a", "success", now - day)
    assert history.purge_older_than(engine, 7, now=now) == 2
    assert history.get(engine, old) is None
    assert history.get(engine, old_missed) is None
    kept = {r["id"] for r in history.recent(engine, limit=100)}
    assert kept == {still_running, edge, fresh}
    assert history.purge_older_than(engine, 7, now=now) == 0
    assert history.purge_older_than(engine, 1, now=now + day) == 2  # edge and fresh; running kept


def test_a_large_purge_goes_in_batches_and_misses_nothing(engine: Engine, monkeypatch) -> None:
    monkeypatch.setattr(history, "PURGE_BATCH", 7)
    old = [
        history.record(engine, "a", "skipped", scheduled_run_time=T0 + timedelta(minutes=i), now=T0)
        for i in range(30)
    ]
    running = history.start(engine, "b", scheduled_run_time=None, trigger="manual", now=T0)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert history.purge_older_than(engine, 1, now=T0 + timedelta(days=3)) == 30
    assert sum(s.startswith("DELETE FROM job_executions") for s in statements) == 5  # 7 + 7 + 7 + 7 + 2
    assert all(history.get(engine, i) is None for i in old)
    assert history.get(engine, running)["status"] == "running"
