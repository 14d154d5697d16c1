"""The leader's watcher of remote runs, driven pass by pass with an injected clock: final rows
handed to their waiter, a silent worker's run given up, a queue nobody consumes reported,
adopted runs handed to their callback, released waiters told so."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from fund_scheduler.run.remote import Released, RemoteRuns
from fund_scheduler.settings import RemoteSettings
from fund_scheduler.store import claims
from tests.fund_scheduler.store.test_claims import T0, engine, queued  # noqa: F401 - the scratch history


class Sent:
    def __init__(self) -> None:
        self.messages: list[tuple[int, str, float | None]] = []
        self.asked: list[list[str]] = []

    def send(self, execution_id: int, queue: str, time_limit: float | None) -> None:
        self.messages.append((execution_id, queue, time_limit))

    def queue_depths(self, queues: list[str]) -> dict[str, int | None]:
        self.asked.append(queues)
        return dict.fromkeys(queues, 0)

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def remote(engine: Engine, clock: Clock) -> RemoteRuns:  # noqa: F811
    settings = RemoteSettings(broker_url="redis://x", lease=60, queue_timeout=600)
    runs = RemoteRuns(engine, settings, Sent(), clock=clock, poll=3600)  # passes run by hand
    yield runs
    runs.close()


def test_a_final_row_goes_to_its_waiter(engine: Engine, remote: RemoteRuns) -> None:  # noqa: F811
    execution_id = queued(engine)
    waiter = remote.watch(execution_id)
    claims.claim(engine, execution_id, worker="w1@a", pid=1, now=T0)
    remote.check()
    assert not waiter.done()
    claims.finish_owned(engine, {"execution_id": execution_id, "status": "success", "now": T0}, worker="w1@a")
    remote.check()
    assert waiter.result(0)["status"] == "success"
    assert remote.in_flight == 0


def test_a_silent_worker_loses_its_run_after_the_lease(
    engine: Engine,  # noqa: F811
    remote: RemoteRuns,
    clock: Clock,
) -> None:
    execution_id = queued(engine)
    waiter = remote.watch(execution_id)
    claims.claim(engine, execution_id, worker="w1@a", pid=1, now=T0)
    clock.now = T0 + timedelta(seconds=59)
    remote.check()
    assert not waiter.done()
    clock.now = T0 + timedelta(seconds=61)
    remote.check()
    row = waiter.result(0)
    assert row["status"] == "interrupted"
    assert "worker w1@a stopped heartbeating" in row["error"] and "lease 60s" in row["error"]


def test_a_queue_nobody_consumes_fails_the_run(engine: Engine, remote: RemoteRuns, clock: Clock) -> None:  # noqa: F811
    execution_id = queued(engine)
    waiter = remote.watch(execution_id)
    clock.now = T0 + timedelta(seconds=601)
    remote.check()
    row = waiter.result(0)
    assert (row["status"], row["error"]) == ("failed", "no worker consumed queue cpu within 600s")


def test_adopted_runs_end_through_the_callback_and_released_waiters_are_told(
    engine: Engine,  # noqa: F811
    remote: RemoteRuns,
) -> None:
    adopted, waited = queued(engine), queued(engine)
    ended: list[dict] = []
    assert remote.adopt(claims.unfinished(engine, [adopted]), ended.append) == 1
    waiter = remote.watch(waited)
    claims.give_up(engine, adopted, "cancelled", "cancelled by alice", was="queued", cancelled_by="alice")
    remote.check()
    assert [(r["id"], r["status"], r["cancelled_by"]) for r in ended] == [(adopted, "cancelled", "alice")]
    assert remote.release() == 1
    with pytest.raises(Released):
        waiter.result(0)


def test_queue_depths_are_asked_of_the_broker_at_most_every_few_seconds(remote: RemoteRuns) -> None:
    sent = remote.publisher
    assert isinstance(sent, Sent)
    assert remote.queue_depths(["io", "cpu"]) == {"cpu": 0, "io": 0}
    assert remote.queue_depths(["cpu", "io"]) == {"cpu": 0, "io": 0}  # within the TTL: not asked
    assert remote.queue_depths(["cpu"]) == {"cpu": 0}  # other queues: asked
    assert sent.asked == [["cpu", "io"], ["cpu"]]
