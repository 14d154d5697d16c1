"""The guarded scheduler loop (fund_scheduler.daemon.loop), without a daemon process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fund_scheduler.daemon.loop import GuardedBackgroundScheduler
from fund_scheduler.jobs.triggers import build_cron
from fund_scheduler.store.jobstore import JOB_FUNC, JsonJobStore
from tests.support.harness import wait_for
from tests.support.schema import scheduler_db


def test_guarded_scheduler_does_not_process_jobs_after_shutdown(tmp_path):
    engine = scheduler_db(f"sqlite:///{tmp_path}/s.db")
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
    engine = scheduler_db(f"sqlite:///{tmp_path}/s.db")
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
