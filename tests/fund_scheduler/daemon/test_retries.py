"""Retries with an injected clock: each attempt waits its backoff (exponential, jitter, cap) in a
``run_requests`` row (no thread waits), runs as its own row linked to the first attempt, timeouts
count, one failure alert after the last attempt and no ``recovered`` for a retried success, and a
pending retry survives a daemon restart."""

from __future__ import annotations

import random
import shutil
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fund_scheduler.daemon.retries import retry_delay
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.store import requests
from tests.support.harness import wait_for
from tests.support.inprocess import InProcessDaemon
from tests.support.packages import job_package
from tests.support.webhook import Hook

PACKAGE = """
import os
import time
from pathlib import Path

from fund_scheduler.jobs.declare import scheduled

FAR = "0 0 1 1 *"


def _attempt(ctx) -> int:
    marks = Path(os.environ["RETRY_MARKS"]) / ctx.job_id
    marks.mkdir(parents=True, exist_ok=True)
    n = len(list(marks.iterdir())) + 1
    (marks / str(n)).write_text(str(ctx.execution_id))
    return n


@scheduled(id="doomed", name="Always fails", cron=FAR, retries=2, retry_backoff=60, retry_backoff_max=100)
def doomed(ctx):
    raise RuntimeError(f"feed down (attempt {_attempt(ctx)})")


@scheduled(id="flaky", name="Fails once", cron=FAR, retries=1, retry_backoff=30)
def flaky(ctx):
    if _attempt(ctx) == 1:
        raise RuntimeError("feed hiccup")
    print("collected")


@scheduled(id="slow", name="Times out once", cron=FAR, retries=1, retry_backoff=10, timeout=1)
def slow(ctx):
    if _attempt(ctx) == 1:
        time.sleep(30)
"""


class Clock:
    """The daemon's injected wall clock: starts at the real now, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


def test_retry_delay_doubles_with_jitter_within_the_cap() -> None:
    spec = JobSpec(
        id="j",
        name="j",
        schedule={"hour": "19"},
        command=("true",),
        retries=5,
        retry_backoff=10,
        retry_backoff_max=70,
    )
    rng = random.Random(7)
    for attempt, base in ((1, 10), (2, 20), (3, 40)):
        delays = [retry_delay(spec, attempt, rng) for _ in range(200)]
        assert 0.75 * base <= min(delays) < max(delays) <= 1.25 * base
    assert max(retry_delay(spec, 9, rng) for _ in range(50)) == 70.0


def test_bad_retry_options_are_refused() -> None:
    spec = JobSpec(id="j", name="j", schedule={"hour": "19"}, command=("true",), retries=-1, retry_backoff=0)
    assert spec.option_problems() == [
        "retries -1 is not a whole number from 0 to 20",
        "retry_backoff 0 is not a positive number of seconds",
    ]


@pytest.fixture(scope="module")
def package() -> Iterator[Path]:
    with job_package("retry_jobs", PACKAGE) as where:
        yield where


@pytest.fixture
def home(package: Path) -> Iterator[tuple[Path, dict[str, str], Hook]]:
    root = Path(tempfile.mkdtemp(prefix="fsr-"))
    hook = Hook()
    env = {
        "SCHEDULER_JOBS_PACKAGES": "jobs,retry_jobs",
        "RETRY_MARKS": str(root / "marks"),
        "ALERT_WEBHOOK_URL": hook.url,
    }
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RETRY_MARKS", env["RETRY_MARKS"])
            yield root, env, hook
    finally:
        hook.close()
        shutil.rmtree(root, ignore_errors=True)


def _finished(d: InProcessDaemon, execution_id: int) -> dict:
    return wait_for(
        lambda: (r := d.ops.execution(execution_id)) and r["status"] != "running" and r,
        30,
        f"execution {execution_id} to finish",
    )


def _attempts(d: InProcessDaemon, job_id: str, count: int) -> list[dict]:
    rows = wait_for(
        lambda: (
            (rows := [r for r in d.ops.executions(job_id=job_id, status=None, limit=20)])
            and len(rows) >= count
            and all(r["status"] != "running" for r in rows)
            and rows
        ),
        30,
        f"{count} finished attempts of {job_id}",
    )
    return sorted(rows, key=lambda r: r["id"])


def _pending(d: InProcessDaemon) -> list[dict]:
    return requests.pending_retries(d.daemon.engine)


def _advance_and_dispatch(d: InProcessDaemon, clock: Clock, seconds: float) -> None:
    clock.advance(seconds)
    d.daemon.requests.tick()


def test_attempts_wait_their_backoff_and_alert_once(home) -> None:
    root, env, hook = home
    clock = Clock()
    with InProcessDaemon(root, **env) as d:
        d.daemon.clock = clock
        first = d.ops.run("doomed", wait=True)
        assert first["status"] == "failed"
        (retry,) = _pending(d)
        waited = (retry["due_at"] - clock()).total_seconds()
        assert 45 <= waited <= 75, waited  # 60 s ± 25 %
        assert (retry["attempt"], retry["first_execution_id"], retry["trigger"]) == (
            2,
            first["execution_id"],
            "retry",
        )

        d.daemon.requests.tick()  # not due yet: nothing starts, no thread waits for it
        assert len(d.ops.executions(job_id="doomed", status=None, limit=10)) == 1
        _advance_and_dispatch(d, clock, waited + 1)
        rows = _attempts(d, "doomed", 2)
        (retry,) = _pending(d)
        waited = (retry["due_at"] - clock()).total_seconds()
        assert 90 <= waited <= 100, waited  # 120 s ± 25 %, capped at 100
        _advance_and_dispatch(d, clock, waited + 1)
        rows = _attempts(d, "doomed", 3)
        assert _pending(d) == []

        assert [(r["trigger"], r["attempt"], r["status"]) for r in rows] == [
            ("manual", 1, "failed"),
            ("retry", 2, "failed"),
            ("retry", 3, "failed"),
        ]
        assert [r["first_execution_id"] for r in rows] == [None, rows[0]["id"], rows[0]["id"]]
        assert {r["run_date"] for r in rows} == {rows[0]["run_date"]}
        posts = [p["json"] for p in hook.wait(1) if p["json"]["job"] == "doomed"]
        assert [(p["kind"], p["execution_id"]) for p in posts] == [("failed", rows[2]["id"])]


def test_a_timeout_is_retried_and_the_success_is_no_recovery(home) -> None:
    root, env, hook = home
    clock = Clock()
    with InProcessDaemon(root, **env) as d:
        d.daemon.clock = clock
        first = d.ops.run("slow", wait=True)
        assert first["status"] == "timeout"
        _advance_and_dispatch(d, clock, 15)
        rows = _attempts(d, "slow", 2)
        assert [(r["status"], r["attempt"]) for r in rows] == [("timeout", 1), ("success", 2)]
    assert not [p for p in hook.posts if p["json"]["job"] == "slow"]


def test_a_pending_retry_survives_a_restart(home) -> None:
    root, env, hook = home
    with InProcessDaemon(root, **env) as d:
        first = d.ops.run("flaky", wait=True)
        assert first["status"] == "failed"
        (retry,) = _pending(d)
    clock = Clock()
    with InProcessDaemon(root, **env) as d:
        d.daemon.clock = clock
        assert [r["id"] for r in _pending(d)] == [retry["id"]]  # kept in the database
        _advance_and_dispatch(d, clock, 60)
        rows = _attempts(d, "flaky", 2)
        assert [(r["status"], r["attempt"], r["first_execution_id"]) for r in rows] == [
            ("failed", 1, None),
            ("success", 2, first["execution_id"]),
        ]
        assert _pending(d) == []
        assert (
            d.ops.execution(rows[1]["id"])["requested_by"] == d.ops.execution(rows[0]["id"])["requested_by"]
        )
    assert not [p for p in hook.posts if p["json"]["job"] == "flaky"]


def test_jobs_toml_sets_retries_with_durations_and_names_a_bad_value() -> None:
    from zoneinfo import ZoneInfo

    from fund_scheduler.jobs.overrides import apply_override

    zone = ZoneInfo("Asia/Shanghai")
    values = {
        "cron": "0 3 * * *",
        "command": ["true"],
        "retries": 3,
        "retry_backoff": "1m",
        "retry_backoff_max": "30m",
    }
    spec = apply_override(None, "backup", values, zone)
    assert (spec.retries, spec.retry_backoff, spec.retry_backoff_max) == (3, 60.0, 1800.0)
    for bad, says in (
        ({"retries": "3"}, "retries must be a whole number from 0 to 20, got '3'"),
        ({"retries": 21}, "retries 21 is not a whole number from 0 to 20"),
        ({"retry_backoff": "soon"}, "retry_backoff 'soon' is not"),
    ):
        with pytest.raises(ValueError, match=None) as caught:
            apply_override(spec, "backup", bad, zone)
        assert says in str(caught.value)
