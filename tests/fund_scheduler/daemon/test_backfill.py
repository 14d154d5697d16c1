"""Backfills through the in-process daemon: three sessions run three chains in date order (queued
behind a run already going, never skipped), a failure stops the rest (or not, when told), a
restart resumes it, it is cancelled as a whole, a dry run lists the exchange's sessions, the
control socket and the HTTP API validate what they are asked."""

from __future__ import annotations

import getpass
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests as http

from fund_scheduler.api.control import request
from fund_scheduler.errors import SchedulerError
from fund_scheduler.store import audit
from tests.support.harness import wait_for
from tests.support.inprocess import InProcessDaemon
from tests.support.packages import job_package

PACKAGE = """
import os
import time
from pathlib import Path

from fund_scheduler.jobs.declare import scheduled
from fund_scheduler.jobs.params import Param


@scheduled(
    id="collect",
    name="Collect for a date",
    cron="0 19 * * mon-fri",
    params=[Param("sleep", "float", default=0.0)],
)
def collect(ctx):
    time.sleep(ctx.params["sleep"])
    if (Path(os.environ["BACKFILL_FAIL"]) / ctx.run_date.isoformat()).exists():
        raise RuntimeError(f"no data for {ctx.run_date}")
    print(f"collected {ctx.run_date}")


@scheduled(id="validate", name="Validate a date", cron="30 19 * * mon-fri", after=["collect"])
def validate(ctx):
    print(f"validated {ctx.run_date}")


@scheduled(id="session_job", name="On XSHG sessions", cron="0 19 * * *", calendar="XSHG")
def session_job(ctx):
    print(ctx.run_date)
"""
TOKEN = "backfill-operator-token-0123456789"
FRI, MON, TUE = date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24)


@pytest.fixture(scope="module")
def package() -> Iterator[Path]:
    with job_package("backfill_jobs", PACKAGE) as where:
        yield where


@pytest.fixture
def home(package: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    root = Path(tempfile.mkdtemp(prefix="fsb-"))
    (root / "fail").mkdir()
    env = {
        "SCHEDULER_JOBS_PACKAGES": "backfill_jobs",
        "BACKFILL_FAIL": str(root / "fail"),
        "SCHEDULER_API_TOKEN": TOKEN,
    }
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("BACKFILL_FAIL", env["BACKFILL_FAIL"])
            yield root, env
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _ended(d: InProcessDaemon, backfill_id: str, timeout: float = 60) -> dict:
    return wait_for(
        lambda: (p := d.ops.backfill_progress(backfill_id)) and p["state"] != "running" and p,
        timeout,
        f"backfill {backfill_id} to end",
    )


def _rows(d: InProcessDaemon) -> list[dict]:
    rows = d.ops.executions(job_id=None, status=None, limit=200)
    return sorted((r for r in rows if r["job_id"] in ("collect", "validate")), key=lambda r: r["id"])


def test_three_sessions_run_three_chains_in_date_order_queued_behind_a_running_one(home) -> None:
    root, env = home
    with InProcessDaemon(root, **env) as d:
        busy = d.ops.run("collect", params={"sleep": "1.5"})  # a run going: the backfill waits for it
        socket = d.settings.control_socket
        answer = request(
            socket,
            {
                "cmd": "backfill",
                "job": "collect",
                "from": "2026-11-20",
                "to": "2026-11-24",
                "with_dependents": True,
            },
        )
        assert answer["run_dates"] == ["2026-11-20", "2026-11-23", "2026-11-24"]  # no weekend
        progress = _ended(d, answer["backfill_id"])
        assert progress["state"] == "done", progress
        assert [(r["run_date"], r["state"]) for r in progress["runs"]] == [
            (FRI, "done"),
            (MON, "done"),
            (TUE, "done"),
        ]
        rows = [r for r in _rows(d) if r["id"] != busy["execution_id"]]
        assert [(r["job_id"], r["trigger"], r["run_date"], r["status"]) for r in rows] == [
            ("collect", "backfill", FRI, "success"),
            ("validate", "dependency", FRI, "success"),
            ("collect", "backfill", MON, "success"),
            ("validate", "dependency", MON, "success"),
            ("collect", "backfill", TUE, "success"),
            ("validate", "dependency", TUE, "success"),
        ]
        assert {r["backfill_id"] for r in rows} == {answer["backfill_id"]}
        assert {r["requested_by"] for r in rows} == {f"unix:{getpass.getuser()}"}
        first = d.ops.execution(busy["execution_id"])
        assert first["status"] == "success" and first["finished_at"] <= rows[0]["started_at"]
        assert not [r for r in d.ops.executions(job_id=None, status="skipped", limit=50)]
        entry = audit.recent(d.daemon.engine, limit=1)[0]
        assert (entry["action"], entry["target"], entry["after"]["runs"]) == ("backfill", "collect", 3)


def test_a_failure_stops_the_backfill_unless_told_to_go_on(home) -> None:
    root, env = home
    (root / "fail" / MON.isoformat()).touch()
    with InProcessDaemon(root, **env) as d:
        stopped = d.ops.backfill("collect", FRI, TUE, with_dependents=True)
        progress = _ended(d, stopped["backfill_id"])
        assert progress["state"] == "failed"
        assert "stopped at the failure of 2026-11-23" in progress["error"]
        assert [(r["run_date"], r["state"]) for r in progress["runs"]] == [
            (FRI, "done"),
            (MON, "failed"),
            (TUE, "cancelled"),
        ]
        assert [(r["job_id"], r["run_date"]) for r in _rows(d)] == [
            ("collect", FRI),
            ("validate", FRI),
            ("collect", MON),
        ]
        going_on = d.ops.backfill("collect", FRI, TUE, continue_on_failure=True)
        progress = _ended(d, going_on["backfill_id"])
        assert progress["state"] == "failed" and progress["error"] == "1 date(s) failed: 2026-11-23"
        assert [r["state"] for r in progress["runs"]] == ["done", "failed", "done"]


def test_a_restart_resumes_the_backfill(home) -> None:
    root, env = home
    with InProcessDaemon(root, **env) as d:
        answer = d.ops.backfill("collect", FRI, TUE, params={"sleep": "1"})
        backfill_id = answer["backfill_id"]
        wait_for(
            lambda: d.ops.backfill_progress(backfill_id)["counts"]["done"] >= 1,
            30,
            "the first date to be done",
        )
    with InProcessDaemon(root, **env) as d:
        progress = _ended(d, backfill_id)
        assert progress["state"] == "done", progress
        rows = [r for r in _rows(d) if r["status"] == "success"]
        assert sorted(r["run_date"] for r in rows) == [FRI, MON, TUE]
        assert {r["params"]["sleep"] for r in rows} == {1.0}


def test_a_dry_run_lists_the_exchange_sessions_and_stores_nothing(home) -> None:
    root, env = home
    with InProcessDaemon(root, **env) as d:
        answer = d.ops.backfill("session_job", date(2026, 9, 28), date(2026, 10, 12), dry_run=True)
        dates = answer["run_dates"]
        assert answer["backfill_id"] is None and d.ops.backfills() == []
        assert dates[:3] == [date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30)]
        assert not [day for day in dates if date(2026, 10, 1) <= day <= date(2026, 10, 7)]  # National Day
        assert date(2026, 10, 12) in dates


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"from": "2026-11-24", "to": "2026-11-20"}, "--from 2026-11-24 is after --to 2026-11-20"),
        ({"from": "2026-11-20", "to": "2999-01-01"}, "is in the future"),
        ({"from": "2026-11-20", "to": "2026-11-24", "params": {"nosuch": 1}}, "unknown param(s) nosuch"),
        ({"from": "2026-11-20"}, "to"),
    ],
)
def test_a_bad_backfill_is_refused_naming_what_is_wrong(home, fields, message) -> None:
    root, env = home
    with InProcessDaemon(root, **env) as d:
        with pytest.raises(SchedulerError) as caught:
            request(d.settings.control_socket, {"cmd": "backfill", "job": "collect", **fields})
        assert message in str(caught.value) and caught.value.exit_code == 2
        response = http.post(
            f"{d.base}/api/jobs/collect/backfill",
            json=fields,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 400 and message in response.json()["error"], response.text
        assert d.ops.backfills() == []


def test_the_api_starts_lists_and_cancels_a_backfill_as_a_whole(home) -> None:
    root, env = home
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with InProcessDaemon(root, **env) as d:
        response = http.post(
            f"{d.base}/api/jobs/collect/backfill",
            json={"from": "2026-11-20", "to": "2026-11-24", "params": {"sleep": 60}},
            headers=auth,
            timeout=10,
        )
        assert response.status_code == 202, response.text
        backfill_id = response.json()["backfill_id"]
        assert response.headers["Location"] == f"/api/backfills/{backfill_id}"
        running = wait_for(
            lambda: [r for r in _rows(d) if r["status"] == "running"],
            30,
            "the first date's run to start",
        )
        listed = http.get(f"{d.base}/api/backfills", timeout=10).json()["backfills"]
        assert [b["id"] for b in listed] == [backfill_id]
        started = time.monotonic()
        cancelled = http.post(f"{d.base}/api/backfills/{backfill_id}/cancel", headers=auth, timeout=30)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["cancelled_dates"] == 2
        assert cancelled.json()["cancelled_executions"] == [running[0]["id"]]
        row = wait_for(
            lambda: (r := d.ops.execution(running[0]["id"])) and r["status"] != "running" and r,
            30,
            "the run to end",
        )
        assert time.monotonic() - started < 20
        assert (row["status"], row["cancelled_by"]) == ("cancelled", "token:default")
        progress = _ended(d, backfill_id)
        assert (progress["state"], progress["cancelled_by"]) == ("cancelled", "token:default")
        assert [r["state"] for r in progress["runs"]] == ["cancelled", "cancelled", "cancelled"]
        again = http.post(f"{d.base}/api/backfills/{backfill_id}/cancel", headers=auth, timeout=10)
        assert again.status_code == 409 and "already cancelled" in again.json()["error"]
