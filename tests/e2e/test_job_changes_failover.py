"""Runtime job changes and pending retries on MariaDB reach the standby on another "host" after
``kill -9`` of the active daemon: they live in the database, not in the daemon that took them."""

from __future__ import annotations

import getpass
import json
import os
import signal

import pytest

from tests.e2e.test_failover import ECHO_JOB, _daemons, _role
from tests.support.harness import FAR_AWAY, wait_for

pytestmark = pytest.mark.serial  # see run_tests.sh


def _jobs(home) -> dict[str, dict]:
    result = home.cli("jobs", "--json", timeout=30)
    assert result.returncode == 0, result.stderr
    return {row["id"]: row for row in json.loads(result.stdout)}


@pytest.mark.e2e
@pytest.mark.mariadb
def test_a_change_made_on_the_active_daemon_reaches_the_standby_after_kill_9(mariadb_db_url):
    with _daemons(2, mariadb_db_url) as homes:
        roles = [_role(h) for h in homes]
        assert sorted(roles) == ["active", "standby"], roles
        active, standby = homes if roles[0] == "active" else homes[::-1]

        changed = active.cli("job", "set", "echo", "cron=15 4 * * *", "retries=2")
        assert changed.returncode == 0, changed.stdout + changed.stderr
        added = active.cli("job", "add", "backup", "interval=15m", 'command=["true"]')
        assert added.returncode == 0, added.stdout + added.stderr
        refused = active.cli("job", "set", "echo", "timezone=Mars/Olympus")
        assert refused.returncode == 2 and "timezone" in refused.stderr
        on_active = _jobs(active)
        by = f"database (by unix:{getpass.getuser()})"
        assert on_active["echo"]["sources"] == {"command": "jobs.toml", "cron": by, "retries": by}

        os.killpg(active.daemon_pid(), signal.SIGKILL)
        wait_for(lambda: _role(standby) == "active", 15, "the standby becomes active", interval=0.5)
        on_standby = _jobs(standby)
        assert on_standby["echo"]["trigger"] == on_active["echo"]["trigger"]
        assert on_standby["echo"]["retries"] == 2
        assert "backup" in on_standby and on_standby["backup"]["trigger"] == on_active["backup"]["trigger"]
        config = standby.cli("check-config")
        assert "runtime change by unix:" in config.stdout


FLAKY_JOB = f"""
    [jobs.flaky]
    cron = "{FAR_AWAY}"
    command = ["false"]
    retries = 1
    retry_backoff = "8s"
"""


def _runs(home, job_id: str) -> list[dict]:
    result = home.cli("history", "--job", job_id, "--json", timeout=30)
    assert result.returncode == 0, result.stderr
    return sorted(json.loads(result.stdout), key=lambda row: row["id"])


@pytest.mark.e2e
@pytest.mark.mariadb
def test_a_pending_retry_runs_once_on_the_standby_after_kill_9_of_the_active(mariadb_db_url):
    with _daemons(2, mariadb_db_url, jobs=ECHO_JOB + FLAKY_JOB) as homes:
        roles = [_role(h) for h in homes]
        active, standby = homes if roles[0] == "active" else homes[::-1]
        failed = active.cli("run-job", "flaky", "--wait")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "retry at" in active.scheduler_log.read_text()  # stored, due in 6-10 s
        os.killpg(active.daemon_pid(), signal.SIGKILL)
        wait_for(lambda: _role(standby) == "active", 15, "the standby becomes active", interval=0.5)
        wait_for(lambda: len(_runs(standby, "flaky")) == 2, 30, "the retry on the standby", interval=0.5)
        first, retry = _runs(standby, "flaky")
        assert (first["trigger"], first["status"]) == ("manual", "failed")
        assert (retry["trigger"], retry["attempt"], retry["first_execution_id"]) == ("retry", 2, first["id"])
        wait_for(lambda: _runs(standby, "flaky")[-1]["status"] == "failed", 15, "the retry's end")
        assert "attempt 2 started" in standby.scheduler_log.read_text()
        assert len(_runs(standby, "flaky")) == 2  # the last attempt: no third
