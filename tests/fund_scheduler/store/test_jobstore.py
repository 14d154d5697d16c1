"""The JSON job store (round trip, tampered rows set aside) and the SQLite engine settings."""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_SUBMITTED
from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from fund_scheduler.jobs.triggers import build_cron, crontab_to_fields, trigger_to_dict
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from fund_scheduler.store.jobstore import JOB_FUNC, JsonJobStore
from tests.support.schema import create_scheduler_tables, scheduler_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROJECT_DIR = Path(__file__).resolve().parents[3]


class RecordingExecutor(BaseExecutor):
    """An APScheduler executor that records submissions and runs nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[str] = []

    def _do_submit_job(self, job, run_times) -> None:
        self.submitted.append(job.id)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/data/scheduler.db"


@pytest.fixture
def open_scheduler(db_url: str) -> Iterator[Callable[..., tuple[BackgroundScheduler, JsonJobStore]]]:
    """Start schedulers (paused unless asked) on a fresh engine each; shut them all down after."""
    started: list[BackgroundScheduler] = []

    def open_(paused: bool = True, executor: BaseExecutor | None = None):
        store = JsonJobStore(scheduler_db(db_url))
        scheduler = BackgroundScheduler(
            jobstores={"default": store},
            executors={"default": executor or RecordingExecutor()},
            timezone=SHANGHAI,
        )
        scheduler.start(paused=paused)
        started.append(scheduler)
        return scheduler, store

    yield open_
    for scheduler in started:
        if scheduler.running:
            scheduler.remove_all_jobs()  # shutdown() lets the loop process due jobs once more
            scheduler.shutdown(wait=False)


def cron(expr: str):
    return build_cron(crontab_to_fields(expr), SHANGHAI)


def add(scheduler: BackgroundScheduler, job_id: str, expr: str = "0 19 * * mon-fri", **options: Any):
    return scheduler.add_job(JOB_FUNC, trigger=cron(expr), id=job_id, name=f"{job_id} job", **options)


def snapshot(job) -> dict[str, Any]:
    return {
        "id": job.id,
        "func_ref": job.func_ref,
        "trigger": trigger_to_dict(job.trigger),
        "next_run_time": job.next_run_time,
        "name": job.name,
        "executor": job.executor,
        "misfire_grace_time": job.misfire_grace_time,
        "coalesce": job.coalesce,
        "max_instances": job.max_instances,
        "args": job.args,
        "kwargs": job.kwargs,
    }


# -- round trip ----------------------------------------------------------------------------------


def test_job_state_round_trips_through_a_new_scheduler(open_scheduler) -> None:
    first, _ = open_scheduler()
    add(first, "weekday", misfire_grace_time=600, coalesce=False, max_instances=2)
    add(first, "sunday", "0 2 * * 0", misfire_grace_time=None)
    first.add_job(
        JOB_FUNC,
        trigger=IntervalTrigger(minutes=90, timezone=SHANGHAI, start_date=datetime(2026, 1, 1, tzinfo=UTC)),
        id="every_90",
    )
    add(first, "held")
    first.pause_job("held")
    before = {job.id: snapshot(job) for job in first.get_jobs()}
    assert before["held"]["next_run_time"] is None
    assert before["weekday"]["next_run_time"] is not None
    first.shutdown(wait=False)

    second, _ = open_scheduler()
    after = {job.id: snapshot(job) for job in second.get_jobs()}
    assert after == before
    assert after["weekday"]["trigger"]["fields"]["day_of_week"] == "mon-fri"
    assert after["sunday"]["trigger"]["fields"]["day_of_week"] == "sun"
    assert (after["weekday"]["misfire_grace_time"], after["weekday"]["coalesce"]) == (600, False)
    assert after["weekday"]["max_instances"] == 2
    restored = second.get_job("weekday")
    assert restored.trigger.get_next_fire_time(None, restored.next_run_time) == restored.next_run_time
    # The paused job is still paused, and resumes to its trigger's next time.
    second.resume_job("held")
    assert second.get_job("held").next_run_time == after["weekday"]["next_run_time"]


def test_stored_row_is_json_text_not_pickle(open_scheduler, db_url: str) -> None:
    scheduler, store = open_scheduler()
    add(scheduler, "weekday")
    columns = {c["name"]: c["type"] for c in inspect(store.engine).get_columns("scheduler_jobs")}
    assert "TEXT" in str(columns["job_state"]).upper()
    with store.engine.connect() as conn:
        raw, next_run = conn.execute(text("SELECT job_state, next_run_time FROM scheduler_jobs")).one()
    assert isinstance(raw, str)
    state = json.loads(raw)
    assert state == {
        "version": 1,
        "id": "weekday",
        "func": JOB_FUNC,
        "trigger": trigger_to_dict(cron("0 19 * * mon-fri")),
        "executor": "default",
        "name": "weekday job",
        "misfire_grace_time": 1,
        "coalesce": True,
        "max_instances": 1,
        "next_run_time": scheduler.get_job("weekday").next_run_time.isoformat(),
    }
    assert next_run == datetime.fromisoformat(state["next_run_time"]).timestamp()


def test_a_job_stored_by_the_previous_release_is_read_and_rewritten(open_scheduler, db_url: str) -> None:
    scheduler, store = open_scheduler()
    add(scheduler, "weekday")
    scheduler.pause_job("weekday")
    with store.engine.begin() as conn:
        raw = conn.execute(text("SELECT job_state FROM scheduler_jobs")).scalar_one()
        legacy = json.dumps({**json.loads(raw), "func": "scheduler.executor:dispatch"})
        conn.execute(text("UPDATE scheduler_jobs SET job_state = :s"), {"s": legacy})
    job = store.lookup_job("weekday")
    assert job is not None and job.func_ref == JOB_FUNC and job.next_run_time is None  # still paused
    assert store.rejected_rows() == []
    scheduler.resume_job("weekday")  # the next save writes the current name
    with store.engine.connect() as conn:
        assert (
            json.loads(conn.execute(text("SELECT job_state FROM scheduler_jobs")).scalar_one())["func"]
            == JOB_FUNC
        )


@pytest.mark.parametrize(
    "options",
    [
        {"func": "builtins:print"},
        {"func": JOB_FUNC, "args": ("x",)},
        {"func": JOB_FUNC, "kwargs": {"runner": None}},
    ],
)
def test_only_the_dispatch_function_without_arguments_can_be_stored(open_scheduler, options) -> None:
    scheduler, store = open_scheduler()
    with pytest.raises(ValueError, match="only fund_scheduler.run.executor:dispatch"):
        scheduler.add_job(trigger=cron("0 1 * * *"), id="nope", **options)
    assert store.get_all_jobs() == []


def test_conflicting_add_and_missing_update(open_scheduler) -> None:
    scheduler, store = open_scheduler()
    job = add(scheduler, "weekday")
    with pytest.raises(ConflictingIdError):
        store.add_job(store.lookup_job("weekday"))
    store.remove_job(job.id)
    with pytest.raises(JobLookupError):
        store.update_job(job)


# -- tampered rows -------------------------------------------------------------------------------


class Boom:
    """Unpickling this would create a file: proof that nothing unpickles the job state."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def edit(**changes: Any) -> Callable[[dict, Path], str]:
    def tamper(state: dict, _marker: Path) -> str:
        state.update(changes)
        return json.dumps(state)

    return tamper


def drop(key: str) -> Callable[[dict, Path], str]:
    def tamper(state: dict, _marker: Path) -> str:
        del state[key]
        return json.dumps(state)

    return tamper


TAMPERS: dict[str, tuple[Callable[[dict, Path], Any], str]] = {
    "func os:system": (edit(func="os:system"), "callable 'os:system' is not allowed"),
    "unknown trigger": (
        lambda s, _m: json.dumps({**s, "trigger": {"type": "calendarinterval", "days": 1}}),
        "trigger type 'calendarinterval' is not allowed",
    ),
    "trigger class path": (
        lambda s, _m: json.dumps({**s, "trigger": {**s["trigger"], "type": "apscheduler.triggers.cron"}}),
        "is not allowed",
    ),
    "invalid json": (lambda s, _m: json.dumps(s)[:-7], "not valid JSON"),
    "not an object": (lambda s, _m: json.dumps([s]), "not a JSON object"),
    "extra keys": (edit(args=["rm", "-rf", "/"]), "unexpected keys ['args']"),
    "missing key": (drop("trigger"), "missing keys ['trigger']"),
    "renamed key": (
        lambda s, _m: json.dumps({"func_ref": s.pop("func"), **s}),
        "missing keys ['func']; unexpected keys ['func_ref']",
    ),
    "id mismatch": (edit(id="someone_else"), "does not match the row id 'victim'"),
    "executor alias": (edit(executor="processpool"), "executor 'processpool' is not allowed"),
    "version": (edit(version=2), "version 2"),
    "bad timezone": (
        lambda s, _m: json.dumps({**s, "trigger": {**s["trigger"], "timezone": "../../etc/passwd"}}),
        "ZoneInfo keys must refer to subdirectories",
    ),
    "bad cron field": (
        lambda s, _m: json.dumps({**s, "trigger": {**s["trigger"], "fields": {"hour": "99"}}}),
        "higher than the maximum value (23)",
    ),
    "naive next run": (edit(next_run_time="2026-05-06T19:00:00"), "next_run_time has no timezone"),
    "next run not text": (edit(next_run_time=12345), "malformed"),
    "max_instances": (edit(max_instances=0), "max_instances must be a positive integer"),
    "max_instances bool": (edit(max_instances=True), "max_instances must be a positive integer"),
    "grace": (edit(misfire_grace_time="3600"), "misfire_grace_time must be a positive number or null"),
    "coalesce": (edit(coalesce="yes"), "coalesce must be a boolean"),
    "pickle": (lambda _s, marker: pickle.dumps(Boom(marker)), "not valid JSON"),
}


def plant(engine: Engine, raw: str | bytes) -> None:
    """Write ``raw`` as the victim row, as someone with database access could."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM scheduler_jobs WHERE id = 'victim'"))
        conn.execute(
            text("INSERT INTO scheduler_jobs (id, next_run_time, job_state) VALUES ('victim', :t, :s)"),
            {"t": datetime(2020, 1, 1, tzinfo=UTC).timestamp(), "s": raw},
        )


def tampered_state(open_scheduler, tmp_path: Path, name: str) -> tuple[str | bytes, dict]:
    """Store good jobs and a valid victim; return the tampered victim state and the good snapshots."""
    scheduler, _ = open_scheduler()
    add(scheduler, "good_a")
    add(scheduler, "good_b", "0 2 * * 0")
    victim = add(scheduler, "victim")
    good = {job.id: snapshot(job) for job in scheduler.get_jobs() if job.id != "victim"}
    with scheduler._lookup_jobstore("default").engine.connect() as conn:
        state = json.loads(
            conn.execute(text("SELECT job_state FROM scheduler_jobs WHERE id = 'victim'")).scalar()
        )
    assert state["id"] == victim.id
    scheduler.shutdown(wait=False)
    tamper, _ = TAMPERS[name]
    return tamper(state, tmp_path / "unpickled"), good


@pytest.mark.parametrize("name", list(TAMPERS))
def test_tampered_row_is_set_aside_and_others_load(
    open_scheduler, tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    raw, good = tampered_state(open_scheduler, tmp_path, name)
    reason = TAMPERS[name][1]
    caplog.set_level(logging.ERROR, logger="scheduler.store")
    scheduler, store = open_scheduler()
    far_future = datetime(2100, 1, 1, tzinfo=UTC)
    lookups: list[Callable[[], Any]] = [
        lambda: store.lookup_job("victim"),
        lambda: [j.id for j in store.get_due_jobs(far_future)],
        lambda: [j.id for j in store.get_all_jobs()],
        lambda: [j.id for j in scheduler.get_jobs()],
        lambda: scheduler.get_job("victim"),
    ]
    for lookup in lookups:
        plant(store.engine, raw)
        result = lookup()
        assert result in (None, ["good_a", "good_b"], ["good_b", "good_a"])
    assert {job.id: snapshot(job) for job in scheduler.get_jobs()} == good

    rejected = store.rejected_rows()
    assert len(rejected) == len(lookups)
    for row in rejected:
        assert row["id"] == "victim"
        assert reason in row["reason"]
        assert row["rejected_at"] is not None
        assert row["job_state"] == (raw if isinstance(raw, str) else repr(raw))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM scheduler_jobs WHERE id = 'victim'")).scalar() == 0

    errors = [r for r in caplog.records if r.name == "scheduler.store" and r.levelno == logging.ERROR]
    assert len(errors) == len(lookups)
    assert all("job victim" in r.getMessage() and "not executed" in r.getMessage() for r in errors)
    assert reason in errors[0].getMessage()
    assert not (tmp_path / "unpickled").exists()


@pytest.mark.parametrize("name", ["func os:system", "extra keys", "pickle"])
def test_tampered_due_row_is_never_submitted(open_scheduler, tmp_path: Path, name: str) -> None:
    raw, _ = tampered_state(open_scheduler, tmp_path, name)
    executor = RecordingExecutor()
    scheduler, store = open_scheduler(paused=True, executor=executor)
    scheduler.modify_job(
        "good_a", next_run_time=datetime.now(UTC) - timedelta(seconds=1), misfire_grace_time=None
    )
    plant(store.engine, raw)  # due since 2020, and the first row the scheduler reads
    submitted = threading.Event()
    scheduler.add_listener(lambda _event: submitted.set(), EVENT_JOB_SUBMITTED)
    scheduler.resume()  # wakes the scheduler's own loop, which reads due jobs once right away
    assert submitted.wait(10)
    assert executor.submitted == ["good_a"]
    assert [row["id"] for row in store.rejected_rows()] == ["victim"]
    assert not (tmp_path / "unpickled").exists()


# -- engines -------------------------------------------------------------------------------------


def test_sqlite_engine_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/nested/dir/x.db")
    assert (tmp_path / "nested" / "dir").is_dir()  # the folder is created
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    assert engine.hide_parameters
    engine.dispose()


def test_mysql_engine_options_without_connecting() -> None:
    engine = make_engine("mysql+pymysql://fund:secret@127.0.0.1:1/funds")
    assert engine.url.query["charset"] == "utf8mb4"
    assert engine.pool._pre_ping
    assert engine.pool._recycle == 1800
    assert engine.hide_parameters
    assert "secret" not in repr(engine)


WRITER = textwrap.dedent(
    """
    import sys
    from fund_scheduler.store import history
    from fund_scheduler.store.engine import make_engine

    engine = make_engine(sys.argv[1])
    sys.stdin.readline()  # start together
    for i in range(int(sys.argv[3])):
        row = history.start(engine, sys.argv[2], scheduled_run_time=None, trigger="manual")
        history.finish(engine, row, "success", exit_code=0)
    print("done")
    """
)


def test_two_processes_write_history_concurrently(db_url: str) -> None:
    engine = make_engine(db_url)
    create_scheduler_tables(engine)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, db_url, f"writer_{n}", "300"],
            cwd=PROJECT_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
        )
        for n in (1, 2)
    ]
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert "database is locked" not in err
        assert writer.returncode == 0, err
        assert out.strip() == "done"
    assert history.count_for_job(engine, "writer_1") == 300
    assert history.count_for_job(engine, "writer_2") == 300
    assert {r["status"] for r in history.recent(engine, limit=1000)} == {"success"}
    engine.dispose()


def test_a_read_only_store_reports_a_tampered_row_and_moves_nothing(open_scheduler, tmp_path: Path) -> None:
    raw, good = tampered_state(open_scheduler, tmp_path, "func os:system")
    _, store = open_scheduler()
    plant(store.engine, raw)
    viewer = JsonJobStore(store.engine, read_only=True)
    assert sorted(j.id for j in viewer.get_all_jobs()) == sorted(good)
    assert viewer.lookup_job("victim") is None
    assert [job_id for job_id, _ in viewer.unreadable] == ["victim", "victim"]
    assert "callable 'os:system' is not allowed" in viewer.unreadable[0][1]
    assert store.rejected_rows() == []
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM scheduler_jobs WHERE id = 'victim'")).scalar() == 1
