"""End to end: a real daemon with ``SCHEDULER_LOG_FORMAT=json`` writes every line of
``scheduler.log`` as one JSON object, a run's lines carrying its job and execution, a secret in a
failing run's error masked."""

from __future__ import annotations

import json

import pytest

from tests.support.harness import PY

pytestmark = pytest.mark.e2e

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SECRET = "Pw-e2e-7f3k9"


@SQLITE_ONLY
def test_a_json_daemon_writes_one_object_a_line_from_ready_to_stopped(home):
    env = {"SCHEDULER_LOG_FORMAT": "json", "FEED_PASSWORD": SECRET}
    home.command_job("broken", [PY, "-c", f"import sys; sys.exit('login refused: {SECRET}')"])
    started = home.cli("start", env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    ran = home.cli("run-job", "broken", "--wait", env=env)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    [row] = home.history("--job", "broken")
    stopped = home.cli("stop", env=env)
    assert stopped.returncode == 0, stopped.stderr

    text = home.scheduler_log.read_text(encoding="utf-8")
    assert SECRET not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == text.count("\n") > 3
    for record in records:
        assert {"time", "level", "logger", "message", "process", "thread"} <= record.keys()
    messages = [r["message"] for r in records]
    assert any(m.startswith("scheduler ready: pid=") for m in messages)
    assert messages[-1] == "scheduler stopped"
    run = [r for r in records if r.get("execution_id") == row["id"]]
    assert run and all(r["job_id"] == "broken" for r in run)
    assert any("login refused: ***" in r["message"] for r in run), run
