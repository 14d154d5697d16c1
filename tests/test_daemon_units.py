"""Daemon pieces that need no process: the guarded scheduler loop and orphan reaping."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from fund_scheduler.daemon.daemon import GuardedBackgroundScheduler
from fund_scheduler.jobs.triggers import build_cron
from fund_scheduler.run.runner import process_alive, reap_orphans
from fund_scheduler.store import history
from fund_scheduler.store.jobstore import JOB_FUNC, JsonJobStore, make_engine
from tests.daemon_harness import wait_for


def test_guarded_scheduler_does_not_process_jobs_after_shutdown(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/s.db")
    store = JsonJobStore(engine)
    scheduler = GuardedBackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.start(paused=True)
    due = datetime.now(UTC) - timedelta(minutes=5)
    scheduler.add_job(JOB_FUNC, trigger=build_cron({"minute": "*/10"}, UTC), id="j", next_run_time=due)
    thread = scheduler._thread
    scheduler.shutdown(wait=False)
    thread.join(5)
    assert JsonJobStore(engine).lookup_job("j").next_run_time == due


def test_guarded_scheduler_submits_nothing_while_may_submit_says_no(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/s.db")
    store = JsonJobStore(engine)
    answer = {"value": False, "asked": 0}

    def may_submit() -> bool:
        answer["asked"] += 1
        return answer["value"]

    scheduler = GuardedBackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.may_submit = may_submit
    scheduler.start(paused=True)
    due = datetime.now(UTC) - timedelta(minutes=5)
    scheduler.add_job(JOB_FUNC, trigger=build_cron({"minute": "*/10"}, UTC), id="j", next_run_time=due)
    try:
        scheduler.resume()  # wakes the loop: one pass, refused
        wait_for(lambda: answer["asked"] >= 1, 5, "the loop asked")
        assert JsonJobStore(engine).lookup_job("j").next_run_time == due
        answer["value"] = True
        scheduler.wakeup()
        wait_for(lambda: JsonJobStore(engine).lookup_job("j").next_run_time > due, 5, "submitted")
    finally:
        scheduler.shutdown(wait=False)


def test_reap_orphans_terminates_a_dead_owners_child_and_spares_a_live_owners(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/s.db")
    history.ensure_schema(engine)
    orphan_id = history.start(engine, "a", scheduled_run_time=None, trigger="schedule")
    owned_id = history.start(engine, "b", scheduled_run_time=None, trigger="manual")
    gone_id = history.start(engine, "c", scheduled_run_time=None, trigger="schedule")
    dead_owner = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    env = dict(os.environ)
    orphan = subprocess.Popen(
        sleeper,
        env={
            **env,
            "SCHEDULER_EXECUTION_ID": str(orphan_id),
            "SCHEDULER_OWNER_PID": dead_owner.stdout.decode(),
        },
        start_new_session=True,
    )
    owned = subprocess.Popen(
        sleeper,
        env={**env, "SCHEDULER_EXECUTION_ID": str(owned_id), "SCHEDULER_OWNER_PID": str(os.getppid())},
        start_new_session=True,
    )
    try:
        history.set_pid(engine, orphan_id, orphan.pid)
        history.set_pid(engine, owned_id, owned.pid)
        history.set_pid(engine, gone_id, int(dead_owner.stdout))  # exited already
        assert reap_orphans(engine, grace=5) == (2, 1)
        orphan.wait(5)
        assert not process_alive(orphan.pid)
        assert owned.poll() is None
        assert history.get(engine, orphan_id)["status"] == "interrupted"
        assert "orphaned" in history.get(engine, orphan_id)["error"]
        assert history.get(engine, gone_id)["status"] == "interrupted"
        assert history.get(engine, owned_id)["status"] == "running"
    finally:
        for proc in (orphan, owned):
            proc.kill()
            proc.wait()
