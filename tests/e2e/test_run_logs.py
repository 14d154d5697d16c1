"""End to end: each run's own log file, ``logs EXECUTION_ID [--follow]`` and
``GET /api/executions/<id>/log``, against a real daemon running real child processes."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from tests.support.harness import FAR_AWAY, PROJECT, PY, SchedulerHome

pytestmark = pytest.mark.e2e

LINES = 8
#: A command job printing LINES lines, 0.3 s apart (about 2.4 s): followed while it runs.
TALKER = (
    "import sys, time\n"
    f"for i in range({LINES}):\n"
    "    print(f'line {i} \\u00e9t\\u00e9', flush=True)\n"
    "    time.sleep(0.3)\n"
)
ECHO = "import os; print('output of run', os.environ['SCHEDULER_EXECUTION_ID'])"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def daemon():
    """A started daemon (SQLite, HTTP on a free port) with the jobs ``echo`` and ``talker``."""
    port = _free_port()
    with SchedulerHome.create(extra_env={"SCHEDULER_HTTP_PORT": str(port)}) as home:
        home.write_jobs(f"""
            [jobs.echo]
            cron = "{FAR_AWAY}"
            command = {json.dumps([PY, "-c", ECHO])}

            [jobs.talker]
            cron = "{FAR_AWAY}"
            command = {json.dumps([PY, "-c", TALKER])}
        """)
        started = home.cli("start")
        assert started.returncode == 0, started.stdout + started.stderr
        home.base = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        yield home
        home.cli("stop", "--timeout", "5")


def _api(home: SchedulerHome, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(home.base + path, timeout=10) as response:  # type: ignore[attr-defined]
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _run(home: SchedulerHome, job_id: str) -> int:
    ran = home.cli("run-job", job_id, "--wait")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return home.history("--job", job_id)[0]["id"]


def _start_talker(home: SchedulerHome) -> int:
    """Start ``talker`` through the daemon; its execution id, as `run-job` prints it (at once: a
    loaded machine's history polling could let the run end before a test reads it going)."""
    started = home.cli("run-job", "talker")
    assert started.returncode == 0, started.stdout + started.stderr
    found = re.search(r"execution (\d+)", started.stdout)
    assert found, started.stdout
    return int(found[1])


def test_each_run_has_its_own_log_with_only_its_output(daemon):
    first, second = _run(daemon, "echo"), _run(daemon, "echo")
    logs = {n: daemon.run_log("echo", n).read_text() for n in (first, second)}
    for n, text in logs.items():
        header, output = text.splitlines()
        assert header.startswith("=== ") and f"job=echo execution={n} trigger=manual ===" in header
        assert output == f"output of run {n}"
    assert daemon.job_log("echo").resolve() == daemon.run_log("echo", second)  # latest.log
    assert not (daemon.logs / "jobs" / "echo.log").exists()  # no per-job file any more


def test_logs_prints_a_run_its_tail_and_says_why_there_is_none(daemon):
    n = _run(daemon, "echo")
    whole = daemon.cli("logs", str(n))
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout == daemon.run_log("echo", n).read_text()
    assert daemon.cli("logs", str(n), "--tail", "1").stdout == f"output of run {n}\n"
    assert daemon.cli("logs", str(n), "--bytes", "3").stdout == f"run {n}\n"[-3:]

    unknown = daemon.cli("logs", "99999")
    assert (unknown.returncode, unknown.stderr) == (1, "error: no execution 99999\n")
    bad = daemon.cli("logs", str(n), "--tail", "0")
    assert bad.returncode == 2

    old = _run(daemon, "echo")  # a run that ended long ago: its log deleted by the cleanup job
    engine = make_engine(daemon.database_url)
    long_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)
    with engine.begin() as conn:
        t = history.job_executions
        conn.execute(update(t).where(t.c.id == old).values(started_at=long_ago, finished_at=long_ago))
    engine.dispose()
    daemon.run_log("echo", old).unlink()
    deleted = daemon.cli("logs", str(old))
    assert deleted.returncode == 1
    said = f"error: log of execution {old} was deleted by retention (HISTORY_RETENTION_DAYS=7)\n"
    assert deleted.stderr == said


def test_logs_follow_prints_a_running_run_until_it_ends(daemon):
    n = _start_talker(daemon)
    began = time.monotonic()
    followed = subprocess.run(
        [PY, str(PROJECT / "scheduler_daemon.py"), "logs", str(n), "--follow"],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(PROJECT),
    )
    assert followed.returncode == 0, followed.stderr
    lines = followed.stdout.splitlines()
    assert lines[1:] == [f"line {i} été" for i in range(LINES)]
    assert daemon.history("--job", "talker")[0]["status"] == "success"
    assert time.monotonic() - began > 1.0  # it waited for the run rather than printing a finished file
    assert followed.stdout == daemon.run_log("talker", n).read_text()


def test_the_api_answers_byte_ranges_a_tail_and_follows_by_next_offset(daemon):
    n = _run(daemon, "echo")
    text = daemon.run_log("echo", n).read_text()
    size = len(text.encode())
    code, body = _api(daemon, f"/api/executions/{n}/log")
    assert code == 200
    assert body == {
        "execution_id": n,
        "offset": 0,
        "next_offset": size,
        "size": size,
        "complete": True,
        "status": "success",
        "text": text,
    }
    code, part = _api(daemon, f"/api/executions/{n}/log?offset=4&limit=10")
    assert (part["offset"], part["next_offset"], part["text"], part["complete"]) == (4, 14, text[4:14], False)
    code, tail = _api(daemon, f"/api/executions/{n}/log?tail=6")
    assert (tail["offset"], tail["text"], tail["complete"]) == (size - 6, text[-6:], True)
    assert _api(daemon, "/api/executions/99999/log") == (404, {"error": "no execution 99999"})
    code, bad = _api(daemon, f"/api/executions/{n}/log?limit=0")
    assert code == 400 and "limit='0'" in bad["error"]
    code, bad = _api(daemon, f"/api/executions/{n}/log?tail=5&offset=1")
    assert code == 400

    followed = _start_talker(daemon)
    offset, pieces, answers = 0, [], []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code, answer = _api(daemon, f"/api/executions/{followed}/log?offset={offset}")
        assert code == 200
        pieces.append(answer["text"])
        answers.append(answer)
        offset = answer["next_offset"]
        if answer["complete"]:
            break
        time.sleep(0.2)
    assert answers[-1]["complete"] and answers[-1]["status"] == "success"
    assert any(a["status"] == "running" and a["text"] for a in answers)  # read while it ran
    assert "".join(pieces) == daemon.run_log("talker", followed).read_text()
