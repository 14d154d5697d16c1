"""Cancel: a run going has its whole process group ended (SIGTERM, then SIGKILL for what ignores
it), its row ``cancelled`` naming who asked (the socket's Unix user, the token's name); a
viewer's token is refused; a finished run's pending retry is cancelled; each is an audit row."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests as http

from fund_scheduler.api.control import request
from fund_scheduler.errors import SchedulerError
from fund_scheduler.store import audit
from fund_scheduler.store import requests as run_requests
from tests.support.harness import FAR_AWAY, PROJECT, PY, wait_for
from tests.support.inprocess import InProcessDaemon

OPERATOR = "cancel-operator-token-0123456789"
VIEWER = "cancel-viewer-token-0123456789"
#: A background sleep, then a shell that ignores SIGTERM (so does its foreground sleep): the
#: group's end needs the SIGKILL after the grace.
STUBBORN = ["sh", "-c", "sleep 300 & trap '' TERM; echo started; sleep 300"]


@pytest.fixture
def daemon() -> Iterator[InProcessDaemon]:
    root = Path(tempfile.mkdtemp(prefix="fsc-"))
    (root / "cancel-jobs.toml").write_text(
        f'[jobs.stubborn]\ncron = "{FAR_AWAY}"\ncommand = {json.dumps(STUBBORN)}\n\n'
        f'[jobs.flaky]\ncron = "{FAR_AWAY}"\ncommand = ["false"]\nretries = 1\nretry_backoff = "1h"\n'
    )
    tokens = root / "tokens"
    tokens.write_text(f"alice operator {OPERATOR}\nbob viewer {VIEWER}\n")
    tokens.chmod(0o600)
    env = {
        "SCHEDULER_JOBS_CONFIG": str(root / "cancel-jobs.toml"),
        "SCHEDULER_JOBS_PACKAGES": "",
        "SCHEDULER_API_TOKENS_FILE": str(tokens),
    }
    try:
        with InProcessDaemon(root, **env) as d:
            yield d
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _running(d: InProcessDaemon, execution_id: int) -> dict:
    def started() -> dict | None:
        row = d.ops.execution(execution_id)
        log = Path(d.settings.job_log_dir) / "stubborn" / f"{execution_id}.log"
        return row if row and row["pid"] and log.exists() and "started" in log.read_text() else None

    return wait_for(started, 30, f"execution {execution_id} to start")


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _final(d: InProcessDaemon, execution_id: int) -> dict:
    return wait_for(
        lambda: (r := d.ops.execution(execution_id)) and r["status"] != "running" and r,
        30,
        f"execution {execution_id} to end",
    )


def test_cancel_through_the_socket_ends_the_whole_group_and_names_the_unix_user(daemon) -> None:
    execution_id = daemon.ops.run("stubborn")["execution_id"]
    pgid = _running(daemon, execution_id)["pid"]
    answer = request(daemon.settings.control_socket, {"cmd": "cancel", "execution_id": execution_id})
    assert (answer["cancelled"], answer["job"]) == ("run", "stubborn")
    row = _final(daemon, execution_id)
    user = f"unix:{getpass.getuser()}"
    assert (row["status"], row["cancelled_by"]) == ("cancelled", user)
    assert row["error"] == f"cancelled by {user}; process group ended"
    wait_for(lambda: _group_gone(pgid), 10, "every process of the group to end")
    entry = audit.recent(daemon.daemon.engine, limit=1)[0]
    assert (entry["actor"], entry["action"], entry["target"]) == (user, "cancel", "stubborn")
    assert entry["after"] == {"execution_id": execution_id, "status": "running", "cancelled": "run"}
    with pytest.raises(SchedulerError, match=f"execution {execution_id} already finished \\(cancelled\\)"):
        request(daemon.settings.control_socket, {"cmd": "cancel", "execution_id": execution_id})
    with pytest.raises(SchedulerError, match="no execution 999999"):
        request(daemon.settings.control_socket, {"cmd": "cancel", "execution_id": 999999})


def test_cancel_over_http_names_the_token_and_refuses_a_viewer(daemon) -> None:
    execution_id = daemon.ops.run("stubborn")["execution_id"]
    pgid = _running(daemon, execution_id)["pid"]
    url = f"{daemon.base}/api/executions/{execution_id}/cancel"
    refused = http.post(url, headers={"Authorization": f"Bearer {VIEWER}"}, timeout=10)
    assert refused.status_code == 403, refused.text
    assert daemon.ops.execution(execution_id)["status"] == "running"
    done = http.post(url, headers={"Authorization": f"Bearer {OPERATOR}"}, timeout=10)
    assert done.status_code == 200 and done.json()["cancelled"] == "run", done.text
    row = _final(daemon, execution_id)
    assert (row["status"], row["cancelled_by"]) == ("cancelled", "token:alice")
    wait_for(lambda: _group_gone(pgid), 10, "every process of the group to end")
    missing = http.post(
        f"{daemon.base}/api/executions/999999/cancel",
        headers={"Authorization": f"Bearer {OPERATOR}"},
        timeout=10,
    )
    assert missing.status_code == 404


def test_cancel_of_a_failed_run_cancels_its_pending_retry(daemon) -> None:
    failed = daemon.ops.run("flaky", wait=True)
    assert failed["status"] == "failed"
    engine = daemon.daemon.engine
    assert len(run_requests.pending_retries(engine, first_execution_id=failed["execution_id"])) == 1
    answer = request(
        daemon.settings.control_socket, {"cmd": "cancel", "execution_id": failed["execution_id"]}
    )
    assert answer["cancelled"] == "retry"
    assert run_requests.pending_retries(engine) == []


def test_the_audit_trail_on_the_api_and_the_command_line(daemon) -> None:
    engine = daemon.daemon.engine
    execution_id = daemon.ops.run("stubborn")["execution_id"]
    _running(daemon, execution_id)
    auth = {"Authorization": f"Bearer {OPERATOR}"}
    assert http.post(f"{daemon.base}/api/jobs/stubborn/pause", headers=auth, timeout=10).status_code == 200
    http.post(f"{daemon.base}/api/executions/{execution_id}/cancel", headers=auth, timeout=10)
    _final(daemon, execution_id)
    assert len(audit.recent(engine, limit=10)) == 2

    rows = http.get(f"{daemon.base}/api/audit?action=cancel", timeout=10).json()["audit"]
    assert [(r["actor"], r["via"], r["action"], r["target"]) for r in rows] == [
        ("token:alice", "http", "cancel", "stubborn")
    ]
    assert http.get(f"{daemon.base}/api/audit?action=explode", timeout=10).status_code == 400
    everything = http.get(f"{daemon.base}/api/audit?by=token:alice", timeout=10).json()["audit"]
    assert [r["action"] for r in everything] == ["cancel", "pause"]
    assert everything[1]["after"] == {"paused": True}

    env = {**os.environ, **daemon.environ}
    shown = subprocess.run(
        [PY, str(PROJECT / "scheduler_daemon.py"), "audit", "--job", "stubborn"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split()[:4] == ["AT", "(UTC)", "WHO", "VIA"]
    assert "token:alice" in lines[2] and "cancel" in lines[2] and "paused: False → True" in lines[3]
    as_json = subprocess.run(
        [PY, str(PROJECT / "scheduler_daemon.py"), "audit", "--action", "pause", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [r["action"] for r in json.loads(as_json.stdout)] == ["pause"]
