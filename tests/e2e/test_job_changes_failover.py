"""Runtime job changes on MariaDB reach the standby on another "host" after ``kill -9`` of the
active daemon: the changes live in the database, not in the daemon that took them."""

from __future__ import annotations

import getpass
import json
import os
import signal

import pytest

from tests.e2e.test_failover import _daemons, _role
from tests.support.harness import wait_for

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
