"""A worker writing a run's outcome while the database is briefly away: tried again, never lost
to a hiccup shorter than half the lease."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

from fund_scheduler.settings import Settings
from fund_scheduler.store import claims
from fund_scheduler.workers import task


def _runtime(tmp_path: Path, lease: str) -> task.WorkerRuntime:
    settings = Settings.from_env(
        {
            "SCHEDULER_HOME": str(tmp_path),
            "SCHEDULER_BROKER_URL": "redis://127.0.0.1:1/0",
            "SCHEDULER_WORKER_HEARTBEAT": "0.5",
            "SCHEDULER_WORKER_LEASE": lease,
        }
    )
    return task.WorkerRuntime(settings)


def _gone() -> OperationalError:
    return OperationalError("UPDATE job_executions", {}, Exception("(2006, 'MySQL server has gone away')"))


def test_the_outcome_is_written_once_the_database_is_back(tmp_path: Path, monkeypatch) -> None:
    runtime = _runtime(tmp_path, "4")
    answers: list[object] = [_gone(), _gone(), {"id": 7, "status": "success"}]

    def finish_owned(engine, closing, *, worker):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(claims, "finish_owned", finish_owned)
    monkeypatch.setattr(task, "time", SimpleNamespace(monotonic=lambda: 0.0, sleep=lambda seconds: None))
    assert runtime._finish_owned({"execution_id": 7}, "w1@a") == {"id": 7, "status": "success"}
    assert answers == []


def test_a_longer_outage_is_left_to_the_leaders_lease(tmp_path: Path, monkeypatch) -> None:
    runtime = _runtime(tmp_path, "1")
    clock = iter(range(100))  # a second passes between two tries
    monkeypatch.setattr(
        task, "time", SimpleNamespace(monotonic=lambda: float(next(clock)), sleep=lambda s: None)
    )
    monkeypatch.setattr(claims, "finish_owned", lambda *a, **k: (_ for _ in ()).throw(_gone()))
    with pytest.raises(OperationalError):
        runtime._finish_owned({"execution_id": 7}, "w1@a")
