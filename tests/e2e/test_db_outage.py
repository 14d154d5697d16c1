"""The daemon survives its MariaDB: idle disconnects and a 60 s outage, on a private server.

Both tests use their own :class:`MariaDBServer` (not the session's shared one) so they can
change ``wait_timeout`` and stop the server without disturbing other tests.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import requests

from tests.support.harness import FAR_AWAY, PY, SchedulerHome, pid_alive, wait_for
from tests.support.mariadb import MariaDBServer, ServerBinaryNotFound, free_port, skip_or_fail

pytestmark = [pytest.mark.e2e, pytest.mark.mariadb]

OUTAGE_SECONDS = 60  # as in the issue; the test still stays well under 90 s


@pytest.fixture(scope="module")
def own_server():
    try:
        server = MariaDBServer()
    except ServerBinaryNotFound as exc:
        skip_or_fail(exc)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def db_home(own_server):
    """A home on a fresh database of the module's own server (restarted if a test stopped it)."""
    if not own_server.running:
        own_server.start()
    name = f"outage_{int(time.time() * 1000)}"
    url = own_server.create_database(name)
    with SchedulerHome.create(database_url=url, extra_env={"SCHEDULER_MISFIRE_GRACE_TIME": "600"}) as home:
        yield home
    if not own_server.running:
        own_server.start()
    own_server.reset_globals()
    own_server.drop_database(name)


def test_a_server_that_closed_idle_connections_does_not_fail_the_next_run(db_home, own_server):
    own_server.set_global("wait_timeout", 5)  # before the daemon connects: its sessions inherit it
    db_home.write_jobs(f"""
        [jobs.echo]
        cron = "{FAR_AWAY}"
        command = ["{PY}", "-c", "print('ok')"]
    """)
    assert db_home.cli("start").returncode == 0
    first = db_home.cli("run-job", "echo", "--wait")
    assert first.returncode == 0, first.stdout + first.stderr
    time.sleep(10)  # the point of the test: the server drops the pooled connections meanwhile
    again = db_home.cli("run-job", "echo", "--wait")
    assert again.returncode == 0, again.stdout + again.stderr
    assert [r["status"] for r in db_home.history("--job", "echo")] == ["success", "success"]
    assert db_home.cli("stop").returncode == 0


def test_the_daemon_survives_a_database_outage_and_loses_no_history(db_home, own_server, hook):
    password = own_server.password
    port = free_port()
    db_home.env["SCHEDULER_HTTP_PORT"] = str(port)
    db_home.env["ALERT_WEBHOOK_URL"] = hook.url
    db_home.env["ALERT_WEBHOOK_FORMAT"] = "json"
    health_url = f"http://127.0.0.1:{port}/health"
    db_home.write_jobs(f"""
        [jobs.tick]
        cron = "* * * * *"
        command = ["{PY}", "-c", "print('tick')"]

        [jobs.echo]
        cron = "{FAR_AWAY}"
        command = ["{PY}", "-c", "print('echo')"]

        [jobs.slow]
        cron = "{FAR_AWAY}"
        command = ["{PY}", "-c", "import time; time.sleep(6); print('slow done')"]
    """)
    started = db_home.cli("start")
    assert started.returncode == 0, started.stderr
    pid = db_home.daemon_pid()
    assert requests.get(health_url, timeout=10).status_code == 200
    assert db_home.cli("run-job", "echo", "--wait").returncode == 0
    slow = db_home.cli("run-job", "slow")  # its row is written now; it finishes during the outage
    assert slow.returncode == 0, slow.stderr

    outputs: list[str] = [started.stdout + started.stderr]
    own_server.stop()
    down_at = datetime.now(UTC)
    try:
        failed = db_home.cli("run-job", "echo", "--wait")
        outputs.append(failed.stdout + failed.stderr)
        assert failed.returncode != 0
        assert "database unavailable, run not started" in failed.stdout + failed.stderr
        [alert] = [p["json"] for p in hook.wait(1) if p["json"]["job"] == "echo"]
        assert (alert["kind"], alert["status"]) == ("failed", "failed")  # alerting works meanwhile
        assert "database unavailable" in alert["error"]
        health = requests.get(health_url, timeout=15)
        outputs.append(health.text)
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert health.json()["database"]["ok"] is False and health.json()["scheduler_running"] is True
        assert "the database is unreachable" in health.json()["problems"]
        status = db_home.cli("status", "--json")
        outputs.append(status.stdout + status.stderr)
        assert "control_error" not in json.loads(status.stdout)  # the daemon still answers
        # Long enough for the tick job's minute to pass and the loop's store calls to fail.
        while (datetime.now(UTC) - down_at).total_seconds() < OUTAGE_SECONDS:
            assert pid_alive(pid)
            time.sleep(2)
        assert pid_alive(pid) and db_home.daemon_pid() == pid
    finally:
        own_server.start()
    up_at = datetime.now(UTC)

    wait_for(lambda: requests.get(health_url, timeout=10).status_code == 200, 30, "healthy again")
    spool = db_home.root / "data" / "spool" / "history.jsonl"
    wait_for(lambda: not spool.exists(), 30, "spool flushed")
    again = db_home.cli("run-job", "echo", "--wait")
    assert again.returncode == 0, again.stdout + again.stderr
    assert db_home.daemon_pid() == pid  # never restarted
    wait_for(
        lambda: (
            [p["json"]["kind"] for p in hook.posts if p["json"]["job"] == "echo"] == ["failed", "recovered"]
        ),
        10,
        "echo's recovered alert",
    )

    rows = db_home.history()
    by_job = {job: [r for r in rows if r["job_id"] == job] for job in ("tick", "echo", "slow")}
    assert [r["status"] for r in by_job["slow"]] == ["success"]  # finish spooled, then written
    assert "slow done" in by_job["slow"][0]["output_tail"]
    assert [r["status"] for r in by_job["echo"]] == ["success", "failed", "success"]
    assert "database unavailable" in by_job["echo"][1]["error"]
    # The tick due during the outage waited and ran after it (coalesced with a later fire time
    # when another minute passed before the loop's next pass), and no run time ran twice.
    try:
        wait_for(
            lambda: any(
                r["status"] == "success"
                and datetime.fromisoformat(r["scheduled_run_time"]) >= down_at
                and datetime.fromisoformat(r["started_at"]) >= up_at
                for r in db_home.history("--job", "tick")
            ),
            75,  # a fire time at the outage's first instant fails (not started); the next one runs
            "the tick due during the outage",
        )
    except AssertionError as exc:  # the evidence: the tick's rows and the log since the outage
        ticks = [
            (r["status"], r["scheduled_run_time"], r["started_at"]) for r in db_home.history("--job", "tick")
        ]
        log = db_home.scheduler_log.read_text().splitlines()[-40:]
        evidence = f"down {down_at}, up {up_at}; ticks {ticks}; log:\n" + "\n".join(log)
        raise AssertionError(f"{exc}; {evidence}") from None
    ticks = [r["scheduled_run_time"] for r in db_home.history("--job", "tick")]
    assert len(ticks) == len(set(ticks))

    status = db_home.cli("status", "--json")
    outputs.append(status.stdout + status.stderr)
    report = json.loads(status.stdout)
    assert report["state"] == "running" and "control_error" not in report and "database_error" not in report
    assert db_home.cli("stop").returncode == 0
    logs = db_home.scheduler_log.read_text() + (db_home.logs / "daemon.out").read_text()
    # The loop met the outage, or (MySQL leader lock, checked every 3 s) the daemon paused first.
    assert any(
        line in logs
        for line in (
            "job store unavailable",
            "Error getting due jobs",
            "lost the leader lock: stopped submitting",
        )
    )
    assert password not in logs + "".join(outputs)
