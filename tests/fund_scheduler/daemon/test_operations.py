"""The operations facade and the control socket on it, against a composed daemon running in this
process (a command job that never fires on its own, SQLite)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from fund_scheduler.api.control import ControlHandler, request
from fund_scheduler.errors import DaemonNotRunning, SchedulerError, UnknownJobError
from tests.support.inprocess import InProcessDaemon


@pytest.fixture(scope="module")
def daemon():
    root = Path(tempfile.mkdtemp(prefix="fsh-"))
    try:
        with InProcessDaemon(root, SCHEDULER_HTTP_PORT="0") as d:
            yield d
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_status_and_the_job_rows(daemon) -> None:
    ops = daemon.ops
    status = ops.status()
    assert status["pid"] == os.getpid() and status["role"] == "active"
    assert status["scheduler_running"] is True and status["database_error"] is None
    assert status["jobs"] == len([r for r in ops.jobs() if r["enabled"]])
    tick = ops.job("tick")
    assert tick["enabled"] and tick["next_run_time"] is not None and tick["target"] == "true"
    assert ops.job("nosuch") is None
    assert "tick" in ops.job_ids() and "daily_collection" in ops.job_ids()


def test_run_pause_resume_and_the_stop_timeout(daemon) -> None:
    ops = daemon.ops
    finished = []
    ops.subscribe(finished.append)
    answer = ops.run("tick", wait=True)
    assert (answer["status"], answer["error"]) == ("success", None)
    assert ops.execution(answer["execution_id"])["trigger"] == "manual"
    assert [r["id"] for r in finished if r.get("job_id") == "tick"] == [answer["execution_id"]]
    assert ops.executions(job_id="tick", status="success", limit=5)[0]["id"] == answer["execution_id"]
    assert ops.run_stats(7)["tick"]["success"] >= 1
    assert ops.pause("tick") == {"job": "tick", "paused": True, "next_run_time": None}
    resumed = ops.resume("tick")
    assert resumed["paused"] is False and resumed["next_run_time"] is not None
    assert ops.set_stop_timeout(-5) == 0.0
    assert ops.set_stop_timeout(30) == 30.0
    with pytest.raises(UnknownJobError):
        ops.run("nosuch")
    with pytest.raises(SchedulerError, match="is disabled"):
        ops.run("weekly_pipeline")  # no command configured


def test_the_control_socket_serves_the_same_operations(daemon) -> None:
    socket = daemon.settings.control_socket
    assert request(socket, {"cmd": "ping"})["pid"] == os.getpid()
    status = request(socket, {"cmd": "status"})
    assert {row["id"] for row in status["jobs"]} >= {"tick", "daily_collection"}
    assert request(socket, {"cmd": "pause", "job": "tick"})["paused"] is True
    assert request(socket, {"cmd": "resume", "job": "tick"})["paused"] is False
    ran = request(socket, {"cmd": "run", "job": "tick", "wait": True}, timeout=30)
    assert ran["status"] == "success"
    with pytest.raises(SchedulerError, match="unknown job 'nosuch'") as caught:
        request(socket, {"cmd": "pause", "job": "nosuch"})
    assert caught.value.exit_code == 2
    with pytest.raises(SchedulerError, match="unknown command 'frobnicate'"):
        request(socket, {"cmd": "frobnicate"})
    with pytest.raises(SchedulerError, match="needs a number of seconds"):
        ControlHandler(daemon.ops)({"cmd": "set-stop-timeout"})


def test_no_socket_means_no_daemon(tmp_path) -> None:
    with pytest.raises(DaemonNotRunning):
        request(tmp_path / "none.sock", {"cmd": "ping"})
