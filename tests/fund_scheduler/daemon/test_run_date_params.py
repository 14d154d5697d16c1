"""A run for a past business date with declared parameters: validated on the control socket (the
CLI's channel) and the HTTP API, recorded on the row with who asked, seen by the job; named API
tokens with roles, and the audit rows naming the socket's Unix user and the token's name."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from fund_scheduler.api.control import request
from fund_scheduler.errors import SchedulerError
from fund_scheduler.store import audit
from tests.support.harness import wait_for
from tests.support.inprocess import InProcessDaemon

PACKAGE = """
import json

from fund_scheduler.jobs.declare import scheduled
from fund_scheduler.jobs.params import Param


@scheduled(
    id="echo_params",
    name="Echo its date and parameters",
    cron="0 0 1 1 *",
    params=[
        Param("fund_codes", "str", help="comma-separated fund codes"),
        Param("limit", "int", default=5),
        Param("full", "bool", default=False),
    ],
)
def echo_params(ctx):
    print("seen " + json.dumps({"run_date": ctx.run_date.isoformat(), "params": dict(ctx.params)}))
"""
OPERATOR = "op-token-0123456789abcdef"
VIEWER = "view-token-0123456789abcdef"


@pytest.fixture(scope="module")
def daemon():
    root = Path(tempfile.mkdtemp(prefix="fsp-"))
    package = root / "param_jobs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "echo.py").write_text(PACKAGE)
    tokens = root / "tokens"
    tokens.write_text(f"# name role token\nalice operator {OPERATOR}\nbob viewer {VIEWER}\n")
    tokens.chmod(0o600)
    env = {"SCHEDULER_JOBS_PACKAGES": "jobs,param_jobs", "SCHEDULER_API_TOKENS_FILE": str(tokens)}
    try:
        with pytest.MonkeyPatch.context() as patch:  # the children read the environment too
            patch.syspath_prepend(str(root))
            patch.setenv(
                "PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
            )
            for key, value in env.items():
                patch.setenv(key, value)
            with InProcessDaemon(root, **env) as d:
                yield d
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _seen(daemon, execution_id: int) -> dict:
    row = wait_for(
        lambda: (r := daemon.ops.execution(execution_id)) and r["status"] != "running" and r,
        30,
        f"execution {execution_id} to finish",
    )
    assert row["status"] == "success", row
    line = next(line for line in row["output_tail"].splitlines() if line.startswith("seen "))
    return {"row": row, **json.loads(line.removeprefix("seen "))}


def test_a_past_date_and_parameters_through_the_control_socket(daemon) -> None:
    socket = daemon.settings.control_socket
    answer = request(
        socket,
        {
            "cmd": "run",
            "job": "echo_params",
            "wait": True,
            "run_date": "2026-11-26",
            "params": {"fund_codes": "000001,110022", "full": "yes"},
        },
        timeout=60,
    )
    seen = _seen(daemon, answer["execution_id"])
    assert seen["run_date"] == "2026-11-26"
    assert seen["params"] == {"fund_codes": "000001,110022", "limit": 5, "full": True}
    row = seen["row"]
    assert (row["run_date"], row["trigger"], row["attempt"]) == (date(2026, 11, 26), "manual", 1)
    assert row["params"] == seen["params"]
    assert row["requested_by"] == f"unix:{getpass.getuser()}"
    entry = audit.recent(daemon.daemon.engine, limit=5)[0]
    assert (entry["actor"], entry["via"], entry["action"], entry["target"]) == (
        f"unix:{getpass.getuser()}",
        "socket",
        "run",
        "echo_params",
    )
    assert entry["origin"] == f"pid {os.getpid()}"
    assert entry["after"]["execution_id"] == answer["execution_id"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"params": {"nosuch": "1"}}, "unknown param(s) nosuch (declared: fund_codes, limit, full)"),
        ({"params": {"limit": "many"}}, "param 'limit' must be a int, got 'many'"),
        ({"run_date": "2026-13-01"}, "run_date '2026-13-01' is not a date"),
        ({"run_date": (date.today() + timedelta(days=3)).isoformat()}, "is in the future"),
    ],
)
def test_a_bad_parameter_or_date_is_refused_naming_it(daemon, fields, message) -> None:
    before = len(daemon.ops.executions(job_id="echo_params", status=None, limit=500))
    with pytest.raises(SchedulerError) as caught:
        request(daemon.settings.control_socket, {"cmd": "run", "job": "echo_params", **fields})
    assert message in str(caught.value) and caught.value.exit_code == 2
    body = {key: value for key, value in fields.items()}
    response = requests.post(
        f"{daemon.base}/api/jobs/echo_params/run",
        json=body,
        headers={"Authorization": f"Bearer {OPERATOR}"},
        timeout=10,
    )
    assert response.status_code == 400 and message in response.json()["error"], response.text
    assert len(daemon.ops.executions(job_id="echo_params", status=None, limit=500)) == before  # nothing ran


def test_the_api_runs_a_past_date_for_a_named_token_and_refuses_a_viewer(daemon) -> None:
    url = f"{daemon.base}/api/jobs/echo_params/run"
    body = {"run_date": "2026-11-27", "params": {"limit": 7}}
    refused = requests.post(url, json=body, headers={"Authorization": f"Bearer {VIEWER}"}, timeout=10)
    assert refused.status_code == 403 and "'bob' has the role viewer" in refused.json()["error"]
    wrong = requests.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    response = requests.post(url, json=body, headers={"Authorization": f"Bearer {OPERATOR}"}, timeout=10)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert (answer["run_date"], answer["params"]) == ("2026-11-27", {"limit": 7, "full": False})
    seen = _seen(daemon, answer["execution_id"])
    assert seen["run_date"] == "2026-11-27" and seen["params"] == {"limit": 7, "full": False}
    assert seen["row"]["requested_by"] == "token:alice"
    shown = requests.get(f"{daemon.base}/api/executions/{answer['execution_id']}", timeout=10).json()
    assert (shown["run_date"], shown["params"], shown["requested_by"], shown["trigger"]) == (
        "2026-11-27",
        {"limit": 7, "full": False},
        "token:alice",
        "manual",
    )
    entry = next(e for e in audit.recent(daemon.daemon.engine, limit=20) if e["actor"] == "token:alice")
    assert (entry["via"], entry["action"], entry["origin"]) == ("http", "run", "127.0.0.1")
    assert not [e for e in audit.recent(daemon.daemon.engine, limit=50) if e["actor"] == "token:bob"]


def test_pause_and_resume_are_audited_with_before_and_after(daemon) -> None:
    headers = {"Authorization": f"Bearer {OPERATOR}"}
    assert requests.post(f"{daemon.base}/api/jobs/tick/pause", headers=headers, timeout=10).ok
    assert requests.post(f"{daemon.base}/api/jobs/tick/resume", headers=headers, timeout=10).ok
    entries = [e for e in audit.recent(daemon.daemon.engine, limit=10) if e["target"] == "tick"]
    assert [(e["action"], e["before"], e["after"]) for e in entries[:2]] == [
        ("resume", {"paused": True}, {"paused": False}),
        ("pause", {"paused": False}, {"paused": True}),
    ]
