"""Remote runs' rows: queued by the leader, claimed once, heartbeated, finished only by their
owner, given up by the leader (times passed in, SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from fund_scheduler.store import claims, history, workers
from fund_scheduler.store.engine import make_engine
from tests.support.schema import create_scheduler_tables

T0 = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/claims.db")
    create_scheduler_tables(engine)
    yield engine
    engine.dispose()


def queued(engine: Engine, job_id: str = "calc", queue: str = "cpu", now: datetime = T0) -> int:
    [execution_id] = history.start_many(
        engine, [{"job_id": job_id, "trigger": "manual", "now": now, "queue": queue}]
    )
    assert isinstance(execution_id, int)
    return execution_id


def test_a_queued_row_has_its_queue_and_no_host_until_claimed(engine: Engine) -> None:
    row = history.get(engine, queued(engine))
    assert row is not None
    assert (row["status"], row["executor"], row["queue"], row["host"], row["queued_at"]) == (
        "queued",
        "celery",
        "cpu",
        None,
        T0,
    )


def test_a_run_is_claimed_once(engine: Engine) -> None:
    execution_id = queued(engine)
    later = T0 + timedelta(seconds=2)
    row = claims.claim(engine, execution_id, worker="w1@a", pid=4242, now=later)
    assert row is not None
    assert (row["status"], row["worker"], row["pid"], row["started_at"], row["heartbeat_at"]) == (
        "running",
        "w1@a",
        4242,
        later,
        later,
    )
    assert claims.claim(engine, execution_id, worker="w2@b", pid=1, now=later) is None  # redelivery
    assert history.get(engine, execution_id)["worker"] == "w1@a"


def test_only_the_owner_finishes_and_a_given_up_run_stays_given_up(engine: Engine) -> None:
    execution_id = queued(engine)
    claims.claim(engine, execution_id, worker="w1@a", pid=1, now=T0)
    closing = {"execution_id": execution_id, "status": "success", "exit_code": 0, "now": T0}
    assert claims.finish_owned(engine, closing, worker="w2@b") is None
    silent = T0 + timedelta(seconds=61)
    given_up = claims.give_up(
        engine,
        execution_id,
        "interrupted",
        "lost",
        was="running",
        silent_since=silent - timedelta(seconds=60),
    )
    assert given_up is not None and given_up["status"] == "interrupted"
    assert claims.finish_owned(engine, closing, worker="w1@a") is None  # frozen past its lease
    assert not claims.beat(engine, execution_id, worker="w1@a", now=silent).owned
    assert history.get(engine, execution_id)["status"] == "interrupted"


def test_a_fresh_heartbeat_keeps_the_run(engine: Engine) -> None:
    execution_id = queued(engine)
    claims.claim(engine, execution_id, worker="w1@a", pid=1, now=T0)
    assert claims.beat(engine, execution_id, worker="w1@a", now=T0 + timedelta(seconds=50)).owned
    gave_up = claims.give_up(engine, execution_id, "interrupted", "lost", was="running", silent_since=T0)
    assert gave_up is None  # its heartbeat came after
    closing = {
        "execution_id": execution_id,
        "status": "success",
        "exit_code": 0,
        "now": T0 + timedelta(seconds=60),
    }
    final = claims.finish_owned(engine, closing, worker="w1@a")
    assert final is not None and (final["status"], final["duration"]) == ("success", 60.0)


def test_a_cancel_reaches_the_worker_through_its_heartbeat(engine: Engine) -> None:
    execution_id = queued(engine)
    assert not claims.request_cancel(engine, execution_id, "alice")  # queued: cancelled directly instead
    claims.claim(engine, execution_id, worker="w1@a", pid=1, now=T0)
    assert claims.request_cancel(engine, execution_id, "alice")
    assert claims.beat(engine, execution_id, worker="w1@a", now=T0) == claims.Beat(True, "alice")


def test_unfinished_lists_remote_runs_only(engine: Engine) -> None:
    first, second = queued(engine), queued(engine, queue="io")
    local = history.start(engine, "local", scheduled_run_time=None, trigger="manual", now=T0)
    claims.give_up(engine, second, "failed", "no worker", was="queued")
    assert [r["id"] for r in claims.unfinished(engine)] == [first]
    assert [r["status"] for r in claims.unfinished(engine, [first, second, local])] == ["queued", "failed"]
    assert [r["id"] for r in history.running_rows(engine, host=history.get(engine, local)["host"])] == [local]


def test_workers_are_listed_with_the_runs_they_hold(engine: Engine) -> None:
    worker = {"host": "a", "pid": 10, "queues": ["cpu", "io"], "concurrency": 2, "version": "1"}
    workers.beat(engine, "w1@a", now=T0, starting=True, **worker)
    workers.beat(engine, "w1@a", now=T0 + timedelta(seconds=5), **worker)
    claims.claim(engine, queued(engine), worker="w1@a", pid=1, now=T0)
    [row] = workers.listed(engine)
    assert (row["name"], row["queues"], row["running"], row["started_at"], row["heartbeat_at"]) == (
        "w1@a",
        ["cpu", "io"],
        1,
        T0,
        T0 + timedelta(seconds=5),
    )
    workers.stopped(engine, "w1@a", T0 + timedelta(seconds=9))
    assert workers.listed(engine)[0]["stopped_at"] == T0 + timedelta(seconds=9)


def test_a_shipped_log_reads_by_byte_range(engine: Engine) -> None:
    from fund_scheduler.store import log_chunks

    execution_id = queued(engine, now=T0 - timedelta(days=30))
    assert log_chunks.size(engine, execution_id) is None
    log_chunks.append(engine, execution_id, 0, 0, b"hello ")
    log_chunks.append(engine, execution_id, 1, 6, b"world\n")
    assert log_chunks.size(engine, execution_id) == 12
    assert log_chunks.read(engine, execution_id, 0) == b"hello world\n"
    assert log_chunks.read(engine, execution_id, 3, 5) == b"lo wo"
    assert log_chunks.read(engine, execution_id, 12) == b""
    with pytest.raises(ValueError, match="at most"):
        log_chunks.append(engine, execution_id, 2, 12, b"x" * (log_chunks.CHUNK_BYTES + 1))
    history.finish(engine, execution_id, "success", now=T0 - timedelta(days=30))
    assert history.purge_older_than(engine, 7, now=T0) == 1
    assert log_chunks.size(engine, execution_id) is None  # purged with its row
