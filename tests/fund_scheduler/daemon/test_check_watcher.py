"""Check jobs in the daemon (fund_scheduler.daemon.checks): a real Runner runs a thread check job
on SQLite, the CheckWatcher keeps ``check_states`` and sends stale_data / fresh_again to a real
local webhook through the Notifier. Both clocks are injected; nothing sleeps."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from fund_scheduler.alerts import Notifier, WebhookChannel
from fund_scheduler.daemon.checks import CheckWatcher, check_rows
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.run.runner import Runner
from fund_scheduler.settings import Settings
from fund_scheduler.store import checks as store
from fund_scheduler.store import history
from tests.support.checkjob import breach, ok, set_result
from tests.support.schema import scheduler_db
from tests.support.webhook import Hook

START = datetime(2026, 12, 3, 12, 10, tzinfo=UTC)  # 20:10 in Shanghai
SPEC = JobSpec(
    id="nav_fresh",
    name="NAVs fresh",
    schedule={"minute": "*/10"},
    func="tests.support.checkjob:stub_check",
    executor="thread",
    kind="check",
)
PLAIN = JobSpec(
    id="plain",
    name="plain",
    schedule={"minute": "0"},
    func="tests.support.checkjob:stub_check",
    executor="thread",
)


class Clocks:
    """The watcher's wall clock and the notifier's monotonic one, moved together."""

    def __init__(self) -> None:
        self.now = START
        self.mono = 1000.0

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, **delta: float) -> None:
        step = timedelta(**delta)
        self.now += step
        self.mono += step.total_seconds()


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def setup(tmp_path, hook: Hook, clocks: Clocks):
    settings = Settings.from_env({"SCHEDULER_HOME": str(tmp_path)})
    engine = scheduler_db(f"sqlite:///{tmp_path}/s.db")
    registry = Registry(specs={"nav_fresh": SPEC, "plain": PLAIN})
    runner = Runner(settings, registry, engine)
    notifier = Notifier([WebhookChannel(hook.url, timeout=5)], engine=engine, clock=clocks.monotonic)
    watcher = CheckWatcher(engine, lambda: registry, notifier, clock=clocks.wall)
    runner.on_finished.append(watcher.observe)
    yield runner, notifier, watcher
    notifier.close()


def posts(hook: Hook, notifier: Notifier) -> list[dict]:
    """Every alert posted so far, once the notifier handled its queue and the hook recorded each."""
    assert notifier.flush(10)
    return [p["json"] for p in hook.wait(notifier.sent)]


def test_a_breach_alerts_once_and_its_end_once_with_how_long_it_lasted(setup, hook, clocks, tmp_path) -> None:
    runner, notifier, _ = setup
    set_result(tmp_path, breach())
    first = runner.run("nav_fresh")
    state = store.get_state(runner.engine, "nav_fresh")
    assert (state["state"], state["since"], state["execution_id"]) == ("breach", START, first.execution_id)
    assert state["details"] == {"table": "t", "coverage": 0.6}

    clocks.advance(minutes=10)
    runner.run("nav_fresh")  # still in breach: nothing sent, since kept, checked_at moves
    state = store.get_state(runner.engine, "nav_fresh")
    assert (state["since"], state["checked_at"]) == (START, START + timedelta(minutes=10))
    [stale] = posts(hook, notifier)
    assert (stale["job"], stale["kind"], stale["status"], stale["execution_id"]) == (
        "nav_fresh",
        "stale_data",
        "breach",
        first.execution_id,
    )
    assert stale["summary"] == "t has 2026-12-02, expected 2026-12-03 by 20:00"
    assert stale["details"] == {"table": "t", "coverage": "0.6"}
    assert stale["text"].startswith("fund-scheduler: job nav_fresh stale data\n")
    assert "  coverage: 0.6" in stale["text"]

    clocks.advance(hours=1, minutes=15)
    set_result(tmp_path, ok())
    runner.run("nav_fresh")
    runner.run("nav_fresh")  # still ok: nothing more
    state = store.get_state(runner.engine, "nav_fresh")
    assert (state["state"], state["since"]) == ("ok", START + timedelta(hours=1, minutes=25))
    stale, fresh = posts(hook, notifier)
    assert (fresh["kind"], fresh["status"], fresh["breach_seconds"]) == ("fresh_again", "ok", 85 * 60.0)
    assert fresh["text"].startswith("fund-scheduler: job nav_fresh fresh again (after 1h 25m)\n")
    assert "Breach lasted: 1h 25m" in fresh["text"]


def test_the_state_survives_a_restart_so_nothing_is_alerted_twice(setup, hook, clocks, tmp_path) -> None:
    runner, notifier, _ = setup
    set_result(tmp_path, breach())
    runner.run("nav_fresh")
    runner.on_finished.clear()  # the daemon restarts: a new watcher, memory empty, same database
    again = CheckWatcher(runner.engine, lambda: runner.registry, notifier, clock=clocks.wall)
    runner.on_finished.append(again.observe)
    clocks.advance(minutes=10)
    runner.run("nav_fresh")
    assert [p["kind"] for p in posts(hook, notifier)] == ["stale_data"]
    set_result(tmp_path, ok())
    runner.run("nav_fresh")
    assert [p["kind"] for p in posts(hook, notifier)] == ["stale_data", "fresh_again"]


def test_a_first_check_that_is_ok_sends_nothing(setup, hook, tmp_path) -> None:
    runner, notifier, _ = setup
    set_result(tmp_path, ok())
    runner.run("nav_fresh")
    assert posts(hook, notifier) == []
    assert store.get_state(runner.engine, "nav_fresh")["state"] == "ok"


def test_a_check_that_raises_is_a_failed_run_and_changes_no_state(setup, hook, clocks, tmp_path) -> None:
    runner, notifier, _ = setup
    set_result(tmp_path, breach())
    runner.run("nav_fresh")
    set_result(tmp_path, {"raise": "database gone"})
    clocks.advance(minutes=10)
    failed = runner.run("nav_fresh")
    assert (failed.status, failed.error) == ("failed", "RuntimeError: database gone")
    state = store.get_state(runner.engine, "nav_fresh")
    assert (state["state"], state["checked_at"]) == ("breach", START)
    assert [p["kind"] for p in posts(hook, notifier)] == ["stale_data"]


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ("ok", "a check returns a dict with ok and summary, not str"),
        ({"ok": "yes", "summary": "s"}, "ok must be true or false, not 'yes'"),
        ({"ok": False, "summary": ""}, "summary must be a non-empty string, not ''"),
        (
            {"ok": False, "summary": "s", "detail": {}},
            "unknown key(s) 'detail'; allowed: ok, summary, details",
        ),
        ({"ok": False, "summary": "s", "details": [1]}, "details must be an object, not list"),
        (None, "the output has no 'result:' line (did the function return nothing?)"),
    ],
)
def test_a_malformed_result_is_a_log_line_and_changes_nothing(setup, hook, tmp_path, caplog, result, reason):
    runner, notifier, _ = setup
    set_result(tmp_path, result)
    with caplog.at_level(logging.WARNING, "scheduler.checks"):
        run = runner.run("nav_fresh")
    assert history.get(runner.engine, run.execution_id)["status"] == "success"  # as the runner recorded it
    assert (
        f"job=nav_fresh execution={run.execution_id}: malformed check result, state unchanged: {reason}"
        in (caplog.text)
    )
    assert store.get_state(runner.engine, "nav_fresh") is None and posts(hook, notifier) == []


def test_an_ordinary_jobs_result_is_no_check(setup, hook, tmp_path) -> None:
    runner, notifier, watcher = setup
    set_result(tmp_path, breach())
    row = history.get(runner.engine, runner.run("plain").execution_id)
    assert row["output_tail"].startswith('result: {"ok": false')  # as a child prints it
    watcher.observe(row)
    assert store.get_state(runner.engine, "plain") is None


def test_the_rate_limit_holds_back_a_flapping_check(setup, hook, clocks, tmp_path) -> None:
    runner, notifier, _ = setup
    for _ in range(2):  # breach, ok, breach, ok within 30 minutes
        set_result(tmp_path, breach())
        runner.run("nav_fresh")
        clocks.advance(minutes=5)
        set_result(tmp_path, ok())
        runner.run("nav_fresh")
        clocks.advance(minutes=5)
    assert [p["kind"] for p in posts(hook, notifier)] == ["stale_data", "fresh_again"]
    assert notifier.suppressed == 2
    clocks.advance(minutes=30)  # the window is over: the next breach is sent, counting the one held back
    set_result(tmp_path, breach())
    runner.run("nav_fresh")
    last = posts(hook, notifier)[-1]
    assert (last["kind"], last["suppressed"]) == ("stale_data", 1)
    assert store.get_state(runner.engine, "nav_fresh")["state"] == "breach"


def test_check_rows_list_the_enabled_check_jobs_and_leave_out_states_of_undefined_ones(setup, tmp_path):
    runner, _, _ = setup
    store.save_state(
        runner.engine,
        "gone",
        state="breach",
        since=START,
        checked_at=START,
        summary="x",
        details={},
        execution_id=None,
    )
    [never] = check_rows(runner.engine, runner.registry)
    assert (never["job_id"], never["state"], never["summary"]) == ("nav_fresh", None, "not checked yet")
    set_result(tmp_path, breach())
    runner.run("nav_fresh")
    [row] = check_rows(runner.engine, runner.registry)
    assert (row["job_id"], row["state"], row["since"]) == ("nav_fresh", "breach", START)
    with pytest.raises(ValueError, match="check state 'stale' is not one of ok, breach"):
        store.save_state(
            runner.engine,
            "x",
            state="stale",
            since=START,
            checked_at=START,
            summary="",
            details={},
            execution_id=1,
        )
