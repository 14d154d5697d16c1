"""``/health`` when things break, the port-in-use start-up error, and the HTTP settings.

The failure tests run the daemon in this process (``Daemon.run`` in a thread on a temp home) so
the test can break its scheduler thread or its database directly; no hook exists for them in the
production code.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from fund_scheduler.api.health import assess
from fund_scheduler.cli.serve import serve
from fund_scheduler.errors import ConfigError
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.settings import Settings
from tests.support.harness import ISOLATED_PREFIXES, PROJECT, PY, SchedulerHome
from tests.support.inprocess import InProcessDaemon
from tests.support.mariadb import MariaDBServer, ServerBinaryNotFound, skip_or_fail


@pytest.fixture
def tmp_home():
    root = Path(tempfile.mkdtemp(prefix="fsh-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_health_is_503_when_the_scheduler_thread_died_while_the_process_lives(tmp_home):
    with InProcessDaemon(tmp_home) as d:
        assert d.health().status_code == 200
        scheduler = d.daemon.scheduler

        def crash():
            raise RuntimeError("scheduler loop crashed")

        scheduler._process_jobs = crash  # the next pass raises: APScheduler's loop thread dies
        scheduler.wakeup()
        scheduler._thread.join(10)
        assert not scheduler._thread.is_alive() and scheduler.running  # state still says running
        response = d.health()
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unhealthy" and body["scheduler_running"] is False
        assert "the scheduler loop is not running" in body["problems"]
        status = requests.get(d.base + "/api/status", timeout=5).json()
        assert status["scheduler_running"] is False


def test_health_is_503_after_the_scheduler_was_shut_down(tmp_home):
    with InProcessDaemon(tmp_home) as d:
        d.daemon.scheduler.shutdown(wait=False)
        body = d.health().json()
        assert body["status"] == "unhealthy" and body["scheduler_running"] is False
        d.daemon.scheduler.start(paused=True)  # so the daemon's own shutdown finds it running


def test_health_is_503_when_the_database_is_unreachable(tmp_home):
    try:
        server = MariaDBServer()
    except ServerBinaryNotFound as exc:
        skip_or_fail(exc)
    with server:
        server.start()
        with InProcessDaemon(tmp_home, DATABASE_URL=server.url) as d:
            healthy = d.health()
            assert healthy.status_code == 200, healthy.text
            assert server.password not in healthy.text
            server.stop()
            response = d.health()
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "degraded" and body["database"]["ok"] is False
            assert "the database is unreachable" in body["problems"]
            assert body["scheduler_running"] is True
            assert server.password not in response.text
            metrics = requests.get(d.base + "/metrics", timeout=10).text
            assert "fund_scheduler_database_up 0.0" in metrics and "fund_scheduler_up 1.0" in metrics
            for path in ("/api/status", "/api/jobs", "/api/executions"):
                answer = requests.get(d.base + path, timeout=10)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.json()["error"].startswith("database unavailable: OperationalError")
                assert server.password not in answer.text
            server.start()
            assert d.health().status_code == 200  # pool_pre_ping reconnects


def test_a_failing_dashboard_panel_only_degrades(tmp_home):
    with InProcessDaemon(tmp_home) as d:

        def broken_panel(engine, environ):
            raise RuntimeError("panel query failed")

        d.daemon.registry.panels.append(broken_panel)
        response = d.health()
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "degraded"
        failed = [p for p in body["panels"] if not p["ok"]]
        assert failed[0]["error"] == "RuntimeError: panel query failed"
        assert any(p["ok"] and p["data"] for p in body["panels"])  # the fund panel still answers


def test_a_job_log_that_cannot_be_written_degrades_until_it_can_be(tmp_home):
    with InProcessDaemon(tmp_home) as d:
        folder = d.settings.job_log_dir / "tick"
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.write_text("")  # the job's log folder is a file: no run log can be created
        ran = d.ops.run("tick", wait=True)
        log = d.settings.job_log_dir / "tick" / f"{ran['execution_id']}.log"
        reason = f"cannot write {log}: Not a directory"
        assert (ran["status"], ran["error"]) == ("failed", f"{reason}; run not started")
        response = d.health()
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "degraded"
        [problem] = [p for p in body["problems"] if reason in p]
        assert problem.startswith(f"job tick: {reason} (since ")
        assert problem.endswith("; runs not started: 1)")
        assert any(p.startswith(f"job tick: {reason}") for p in d.ops.status()["log_problems"])
        folder.unlink()  # writable again: the next check's retry writes the refused run's log
        assert d.health().status_code == 200
        assert log.read_text().endswith("; runs not started: 1 ===\n")


def test_writes_are_refused_while_no_token_is_configured(tmp_home):
    with InProcessDaemon(tmp_home) as d:
        for token in ("", "anything"):
            response = requests.post(
                d.base + "/api/jobs/tick/run", headers={"Authorization": f"Bearer {token}"}, timeout=5
            )
            assert response.status_code == 401
            assert "SCHEDULER_API_TOKEN" in response.json()["error"]
        assert requests.get(d.base + "/api/status", timeout=5).json()["writes_enabled"] is False


def test_a_port_in_use_is_one_line_and_exit_2_from_check_config_start_and_run():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with SchedulerHome.create(extra_env={"SCHEDULER_HTTP_PORT": str(port)}) as home:
            message = f"error: SCHEDULER_HTTP_PORT={port}: 127.0.0.1:{port} is already in use"
            for command in ("check-config", "start", "run"):
                result = home.cli(command)
                assert result.returncode == 2, (command, result.stderr)
                assert result.stderr.strip().splitlines() == [message], command
            assert "configuration OK" not in home.cli("check-config").stdout
            assert home.daemon_pid() is None
            assert not home.scheduler_log.exists()  # nothing started, nothing migrated or logged


def test_the_daemon_itself_refuses_a_port_taken_after_the_check(tmp_home):
    """The CLI's check and the daemon's bind race; the bind before anything starts still holds."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings.from_env({"SCHEDULER_HOME": str(tmp_home), "SCHEDULER_HTTP_PORT": str(port)})
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port} is already in use"):
            serve(settings, Registry({}))
        assert not settings.pid_file.exists()


def test_check_config_leaves_the_running_daemons_port_alone(tmp_home):
    with InProcessDaemon(tmp_home) as d:
        env = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
        env.update(
            SCHEDULER_HOME=str(tmp_home),
            SCHEDULER_JOBS_CONFIG=str(tmp_home / "jobs.toml"),
            SCHEDULER_HTTP_PORT=str(d.port),
        )
        result = subprocess.run(
            [PY, str(PROJECT / "scheduler_daemon.py"), "check-config"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert f"held by the running scheduler (PID {os.getpid()})" in result.stdout


def test_http_port_zero_disables_the_server(tmp_home):
    with InProcessDaemon(tmp_home, SCHEDULER_HTTP_PORT="0") as d:
        assert d.daemon.scheduler.running
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{d.port}/health", timeout=5)


@pytest.mark.parametrize(
    ("alive", "age", "db", "panels", "expected"),
    [
        (True, 1.0, True, [], "healthy"),
        (True, None, True, [], "healthy"),
        (True, 119.0, True, [], "healthy"),
        (True, 121.0, True, [], "unhealthy"),
        (False, 1.0, True, [], "unhealthy"),
        (True, 1.0, False, [], "degraded"),
        (True, 1.0, True, ["p"], "degraded"),
        (False, 1.0, True, ["p"], "unhealthy"),
    ],
)
def test_assess(alive, age, db, panels, expected):
    status, problems = assess(scheduler_alive=alive, heartbeat_age=age, database_ok=db, failed_panels=panels)
    assert status == expected
    assert bool(problems) == (expected != "healthy")


def test_a_stale_heartbeat_names_its_age():
    status, problems = assess(scheduler_alive=True, heartbeat_age=300.0, database_ok=True)
    assert status == "unhealthy" and problems == ["the scheduler loop has not passed for 300s (limit 120s)"]


def test_http_settings_defaults_validation_and_description(tmp_home):
    base = {"SCHEDULER_HOME": str(tmp_home)}
    settings = Settings.from_env(base)
    assert (settings.http_host, settings.http_port, settings.api_token) == ("127.0.0.1", 5000, None)
    assert settings.http_url == "http://127.0.0.1:5000"
    described = settings.describe()
    assert described["SCHEDULER_API_TOKEN"].startswith("(unset")
    with_token = Settings.from_env({**base, "SCHEDULER_API_TOKEN": "tok-123", "SCHEDULER_HTTP_PORT": "0"})
    assert with_token.describe()["SCHEDULER_API_TOKEN"] == "***"
    assert "tok-123" not in repr(with_token) and with_token.http_url is None
    assert Settings.from_env({**base, "SCHEDULER_HTTP_HOST": "::1"}).http_url == "http://[::1]:5000"
    for bad in ("65536", "-1", "http", "50.5"):
        with pytest.raises(ConfigError, match="SCHEDULER_HTTP_PORT"):
            Settings.from_env({**base, "SCHEDULER_HTTP_PORT": bad})
