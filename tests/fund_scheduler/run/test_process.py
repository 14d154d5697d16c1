"""Process groups of runs (fund_scheduler.run.process): settling what a dead daemon left running."""

from __future__ import annotations

import os
import subprocess
import sys

from fund_scheduler.run.process import process_alive, reap_orphans
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from tests.support.schema import create_scheduler_tables


def test_reap_orphans_terminates_a_dead_owners_child_and_spares_a_live_owners(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/s.db")
    create_scheduler_tables(engine)
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
