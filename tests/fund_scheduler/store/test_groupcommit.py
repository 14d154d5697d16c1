"""Group commit (fund_scheduler.store.groupcommit) and the batched history writes it carries:
many threads' rows in few transactions, each caller with its own result or error."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from fund_scheduler.store.groupcommit import GroupCommit
from tests.support.schema import create_scheduler_tables

T0 = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/history.db")
    create_scheduler_tables(engine)
    return engine


def _together(count: int, work) -> list:
    """``work(i)`` in ``count`` threads released at once; their results (or exceptions) by i."""
    results: list = [None] * count
    gate = threading.Barrier(count)

    def one(i: int) -> None:
        gate.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - compared by the test
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_callers_share_writes_and_each_gets_its_own_result() -> None:
    written: list[list[int]] = []
    release = threading.Event()

    def write(items: list[int]) -> list[int | BaseException]:
        if not written:
            release.wait(5)  # the first write is slow: the others queue up behind it
        written.append(items)
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    group: GroupCommit[int, int] = GroupCommit(write)
    called: list[int] = []
    lock = threading.Lock()

    def submit(i: int) -> int:
        with lock:  # the first write ends once every caller has come (no timer: a loaded machine is slow)
            called.append(i)
            if len(called) == 40:
                release.set()
        return group.submit(i)

    results = _together(40, submit)
    assert [r for r in results if not isinstance(r, Exception)] == [i * 10 for i in range(0, 40, 2)]
    assert [str(r) for r in results if isinstance(r, Exception)] == [f"odd {i}" for i in range(1, 40, 2)]
    assert sorted(i for batch in written for i in batch) == list(range(40))  # each written once
    assert group.batches == len(written) < 40  # callers waiting during a write went in one batch


def test_a_failing_write_fails_every_caller_of_its_batch_and_the_next_batch_is_written() -> None:
    calls: list[list[str]] = []

    def write(items: list[str]) -> list[str]:
        calls.append(items)
        if "boom" in items:
            raise ConnectionError("database gone")
        return [item.upper() for item in items]

    group: GroupCommit[str, str] = GroupCommit(write)
    with pytest.raises(ConnectionError, match="database gone"):
        group.submit("boom")
    assert group.submit("ok") == "OK"
    assert calls == [["boom"], ["ok"]]


def test_history_rows_of_many_runs_start_and_finish_in_few_transactions(engine: Engine) -> None:
    history.start(engine, "j3", scheduled_run_time=T0 + timedelta(seconds=3), trigger="schedule")
    starts = [
        {
            "job_id": f"j{i}",
            "scheduled_run_time": T0 + timedelta(seconds=i),
            "trigger": "schedule",
            "now": T0 + timedelta(seconds=i, milliseconds=5),
            "asked": {"requested_by": "cli:ops"} if i == 5 else None,
        }
        for i in range(8)
    ]
    started = history.start_many(engine, starts)
    assert isinstance(started[3], history.AlreadyRecorded)  # the one fire time taken already
    ids = [i for i in started if isinstance(i, int)]
    assert len(ids) == 7 and len(set(ids)) == 7
    assert history.get(engine, started[5])["requested_by"] == "cli:ops"  # rows of different columns

    closings = [
        {"execution_id": i, "status": "success", "now": T0 + timedelta(seconds=10)} for i in ids[:3]
    ] + [{"execution_id": ids[3], "status": "failed", "error": "x" * 5000, "started_at": T0, "now": T0}]
    rows = history.finish_many(engine, closings)
    assert [r["id"] for r in rows] == ids[:4]
    assert [r["status"] for r in rows] == ["success"] * 3 + ["failed"]
    assert rows[0] == history.get(engine, ids[0])
    assert rows[0]["duration"] == pytest.approx(10 - 0.005)
    assert len(rows[3]["error"]) == 4000 and rows[3]["duration"] == 0.0
    with pytest.raises(LookupError, match="execution 999 has no history row"):
        history.finish_many(engine, [{"execution_id": 999, "status": "success"}])


def test_sqlite_writers_of_one_process_take_turns_instead_of_polling_the_lock(engine: Engine) -> None:
    from fund_scheduler.store.engine import writing

    inside, release, order = threading.Event(), threading.Event(), []

    def first() -> None:
        with writing(engine) as conn:
            history.start(engine, "nested", scheduled_run_time=None, trigger="manual")  # same thread: no wait
            conn.exec_driver_sql("SELECT 1")
            inside.set()
            release.wait(5)
            order.append("first")

    def second() -> None:
        inside.wait(5)
        with writing(engine):
            order.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inside.wait(5)
    threading.Timer(0.2, release.set).start()
    for thread in threads:
        thread.join(10)
    assert order == ["first", "second"]  # the second writer waited for the first's commit
