"""The daemon's HTTP API against a real daemon (``start``) on a free port in a temp SCHEDULER_HOME."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.bundled import BUNDLED
from tests.support.harness import FAR_AWAY, PROJECT, PY, SchedulerHome, wait_for

pytestmark = pytest.mark.e2e

TOKEN = "s3cret-token-for-tests"
# Holds its run until the test creates the gate file (never waits on the clock).
GATE_JOB = """import os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print("released")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, home: SchedulerHome, port: int):
        self.home = home
        self.base = f"http://127.0.0.1:{port}"
        self.gate = home.root / "gate"

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.base + path, timeout=10, **kw)

    def post(self, path: str, token: str | None = TOKEN, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return requests.post(self.base + path, headers=headers, timeout=70, **kw)

    def wait_status(self, execution_id: int, status: str, timeout: float = 20) -> dict:
        def done():
            row = self.get(f"/api/executions/{execution_id}").json()
            return row if row["status"] == status else None

        return wait_for(done, timeout, f"execution {execution_id} {status}")


@pytest.fixture(scope="module")
def api(module_database_url):
    port = free_port()
    env = {"SCHEDULER_HTTP_PORT": str(port), "SCHEDULER_API_TOKEN": TOKEN}
    with SchedulerHome.create(extra_env=env, database_url=module_database_url) as home:
        gate_script = home.root / "gate.py"
        gate_script.write_text(GATE_JOB)
        home.write_jobs(f"""
            [jobs.quick]
            cron = "{FAR_AWAY}"
            command = ["{PY}", "-c", "print('hello from quick')"]

            [jobs.gated]
            cron = "{FAR_AWAY}"
            command = ["{PY}", "{gate_script}", "{home.root / "gate"}"]

            [jobs.daily_metrics]
            enabled = false
        """)
        started = home.cli("start")
        assert started.returncode == 0, started.stdout + started.stderr
        yield Api(home, port)
        (home.root / "gate").touch()
        home.cli("stop", "--timeout", "5")


def test_start_logs_the_listening_address(api):
    assert f"http listening on {api.base}" in api.home.scheduler_log.read_text()


def test_health_is_healthy_with_scheduler_database_jobs_and_freshness(api):
    started = time.perf_counter()
    response = api.get("/health")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy" and body["problems"] == []
    assert body["scheduler_running"] is True
    assert 0 <= body["heartbeat_age_seconds"] < 61
    assert body["database"]["ok"] is True
    assert body["jobs"] == 9  # scheduled: the bundled nine + quick, gated - daily_metrics, weekly_pipeline
    assert set(body["last_success"]) >= BUNDLED | {"quick", "gated"}
    panel = next(p for p in body["panels"] if p["title"] == "fund data")
    assert panel["ok"] and panel["data"]["freshness"]["fund_nav"]["status"] == "never"
    assert elapsed < 2, f"/health took {elapsed:.3f}s"


def test_jobs_list_and_one_job(api):
    jobs = {j["id"]: j for j in api.get("/api/jobs").json()["jobs"]}
    assert set(jobs) == BUNDLED | {"quick", "gated"}
    collection = jobs["daily_collection"]
    assert collection["name"] and collection["timezone"] == "Asia/Shanghai"
    assert "19:00" in collection["trigger"] or "19" in collection["trigger"]
    assert collection["next_run_time"].endswith("+08:00") and collection["paused"] is False
    assert jobs["daily_metrics"]["enabled"] is False and jobs["daily_metrics"]["next_run_time"] is None
    assert jobs["weekly_pipeline"]["disabled_reason"]

    one = api.get("/api/jobs/quick")
    assert one.status_code == 200 and one.json()["id"] == "quick"
    missing = api.get("/api/jobs/no_such_job")
    assert missing.status_code == 404 and "no_such_job" in missing.json()["error"]


def test_writes_refuse_a_missing_or_wrong_token(api):
    for token in (None, "", "wrong", TOKEN + "x", TOKEN[:-1]):
        response = api.post("/api/jobs/quick/run", token=token)
        assert response.status_code == 401, (token, response.text)
        assert "token" in response.json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    basic = requests.post(
        api.base + "/api/jobs/quick/pause", headers={"Authorization": f"Basic {TOKEN}"}, timeout=5
    )
    assert basic.status_code == 401
    # authentication comes first: an unknown job is not revealed without the token
    assert api.post("/api/jobs/no_such_job/run", token="wrong").status_code == 401


def test_run_now_answers_202_and_the_execution_turns_success(api):
    response = api.post("/api/jobs/quick/run")
    assert response.status_code == 202, response.text
    execution_id = response.json()["execution_id"]
    assert response.headers["Location"] == f"/api/executions/{execution_id}"
    row = api.wait_status(execution_id, "success")
    assert row["trigger"] == "manual" and row["job_id"] == "quick"
    assert "hello from quick" in row["output_tail"]
    last = api.get("/api/jobs/quick").json()["last_execution"]
    assert last["id"] == execution_id and "output_tail" not in last


def test_unknown_job_is_404_for_every_write(api):
    for action in ("run", "pause", "resume"):
        response = api.post(f"/api/jobs/no_such_job/{action}")
        assert response.status_code == 404, response.text
        assert "unknown job 'no_such_job'" in response.json()["error"]


def test_a_second_run_while_one_runs_is_409_and_a_disabled_job_is_409(api):
    first = api.post("/api/jobs/gated/run")
    assert first.status_code == 202, first.text
    execution_id = first.json()["execution_id"]
    second = api.post("/api/jobs/gated/run")
    assert second.status_code == 409, second.text
    assert "already running" in second.json()["error"]
    skipped = api.get("/api/executions?job=gated&status=skipped").json()["executions"]
    assert skipped and skipped[0]["trigger"] == "manual"
    running = api.get("/api/executions?job=gated&status=running").json()["executions"]
    assert [r["id"] for r in running] == [execution_id]
    api.gate.touch()
    api.wait_status(execution_id, "success")

    disabled = api.post("/api/jobs/daily_metrics/run")
    assert disabled.status_code == 409 and "disabled" in disabled.json()["error"]
    assert api.post("/api/jobs/daily_metrics/pause").status_code == 409


def test_pause_and_resume(api):
    paused = api.post("/api/jobs/daily_collection/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json() == {"job": "daily_collection", "paused": True, "next_run_time": None}
    assert api.get("/api/jobs/daily_collection").json()["paused"] is True
    resumed = api.post("/api/jobs/daily_collection/resume")
    assert resumed.status_code == 200
    assert resumed.json()["paused"] is False and resumed.json()["next_run_time"]
    assert api.get("/api/jobs/daily_collection").json()["paused"] is False
    assert "job=daily_collection paused by the operator" in api.home.scheduler_log.read_text()


def test_executions_list_filters_and_refuses_bad_parameters(api):
    api.wait_status(api.post("/api/jobs/quick/run").json()["execution_id"], "success")
    rows = api.get("/api/executions").json()["executions"]
    assert 1 <= len(rows) <= 20 and all("output_tail" not in r for r in rows)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    one = api.get("/api/executions?job=quick&status=success&limit=1").json()["executions"]
    assert len(one) == 1 and one[0]["job_id"] == "quick"
    assert api.get("/api/executions?job=no_such_job").json()["executions"] == []
    for query in ("limit=0", "limit=501", "limit=abc", "limit=-1", "limit=2.5"):
        response = api.get(f"/api/executions?{query}")
        assert response.status_code == 400, query
        assert "limit=" in response.json()["error"]
    assert len(api.get("/api/executions?limit=500").json()["executions"]) >= 1
    bad_status = api.get("/api/executions?status=exploded")
    assert bad_status.status_code == 400 and "status=" in bad_status.json()["error"]
    assert api.get("/api/executions/99999999").status_code == 404
    assert api.get("/api/executions/abc").status_code == 404


def test_status_answers_pid_uptime_version_and_success_rates(api):
    api.wait_status(api.post("/api/jobs/quick/run").json()["execution_id"], "success")
    body = api.get("/api/status").json()
    assert body["pid"] == api.home.daemon_pid()
    assert body["version"] and body["uptime"] > 0 and body["started_at"]
    assert body["scheduler_running"] is True and body["running_executions"] >= 0
    assert body["success_7d"]["quick"]["success"] >= 1 and body["success_7d"]["quick"]["rate"] == 1.0
    assert body["writes_enabled"] is True


def test_metrics_parse_with_prometheus_client(api):
    api.wait_status(api.post("/api/jobs/quick/run").json()["execution_id"], "success")
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}

    def samples(name, suffix=""):
        return [s for s in families[name].samples if s.name == name + suffix]

    assert samples("fund_scheduler_up")[0].value == 1
    assert samples("fund_scheduler_scheduler_running")[0].value == 1
    assert families["fund_scheduler_runs"].type == "counter"
    runs = {(s.labels["job"], s.labels["status"]): s.value for s in samples("fund_scheduler_runs", "_total")}
    assert runs[("quick", "success")] >= 1
    assert runs[("daily_collection", "failed")] == 0  # primed: the series exists before any run
    assert families["fund_scheduler_run_duration_seconds"].type == "histogram"
    counts = {s.labels["job"]: s.value for s in samples("fund_scheduler_run_duration_seconds", "_count")}
    assert counts["quick"] >= 1
    next_runs = {s.labels["job"]: s.value for s in samples("fund_scheduler_next_run_timestamp_seconds")}
    assert "daily_collection" in next_runs and next_runs["daily_collection"] > time.time()
    last = {s.labels["job"]: s.value for s in samples("fund_scheduler_last_success_timestamp_seconds")}
    assert time.time() - 120 < last["quick"] <= time.time() + 1
    assert samples("fund_quarantined_rows_7d")[0].value == 0
    assert "fund_data_freshness_days" in families  # no sample until fund_nav has a row
    assert TOKEN not in response.text


def test_dashboard_page_and_static_files(api):
    index = api.get("/")
    if index.status_code == 404:  # the dashboard files are built separately
        assert "index.html" in index.json()["error"]
    else:
        assert index.status_code == 200 and "text/html" in index.headers["Content-Type"]
    assert api.get("/static/no-such-file.js").status_code == 404
    assert api.get("/static/../http.py").status_code == 404
    assert api.get("/static/%2e%2e/http.py").status_code == 404


def test_no_answer_carries_the_token(api):
    for path in ("/health", "/api/status", "/api/jobs", "/api/executions?limit=500", "/metrics"):
        assert TOKEN not in api.get(path).text, path


def test_unknown_path_and_method_answer_json(api):
    missing = api.get("/api/nothing")
    assert missing.status_code == 404 and missing.json()["error"]
    wrong = requests.get(api.base + "/api/jobs/quick/run", timeout=5)
    assert wrong.status_code == 405 and wrong.json()["error"]


def test_status_command_is_fast_and_never_imports_pandas(api):
    started = time.perf_counter()
    result = subprocess.run(
        [PY, "-X", "importtime", str(PROJECT / "scheduler_daemon.py"), "status"],
        env=api.home.env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=str(PROJECT),
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "running" in result.stdout and "daily_collection" in result.stdout
    lines = result.stderr.splitlines()
    imported = {line.split("|")[-1].strip() for line in lines if line.startswith("import time")}
    heavy = {m for m in imported if m.split(".")[0] in ("pandas", "numpy", "matplotlib", "flask")}
    assert not heavy, heavy
    assert elapsed < 3, f"status took {elapsed:.2f}s"
    as_json = api.home.cli("status", "--json")
    assert json.loads(as_json.stdout)["state"] == "running"
