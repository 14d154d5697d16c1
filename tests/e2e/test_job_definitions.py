"""End to end: stored jobs whose definition goes away, breaks and comes back.

A real daemon on a home with an extra job package beside the bundled one: a job module that
fails to import stops nothing else, its stored job is set aside (kept, paused state included)
and reported by ``status``, ``/health`` and ``check-config``; the definition's return restores
it; only ``forget-job`` deletes what was kept.
"""

from __future__ import annotations

import json
import os

import pytest
import requests

from tests.support.harness import FAR_AWAY
from tests.support.inprocess import free_port

pytestmark = pytest.mark.e2e

NAV = f"""
from fund_scheduler.jobs import command_job

NAV_EXTRA = command_job(id="nav_extra", name="extra NAVs", cron="{FAR_AWAY}", command=["true"])
"""
OK = f"""
from fund_scheduler.jobs import command_job

OK_EXTRA = command_job(id="ok_extra", name="still fine", cron="{FAR_AWAY}", command=["true"])
"""


@pytest.fixture
def extra(home):
    package = home.root / "extra_jobs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nav.py").write_text(NAV)
    (package / "ok.py").write_text(OK)
    home.env.update(
        SCHEDULER_JOBS_PACKAGES="jobs,extra_jobs",
        PYTHONPATH=os.pathsep.join(filter(None, [str(home.root), os.environ.get("PYTHONPATH")])),
        SCHEDULER_HTTP_PORT=str(free_port()),
    )
    return package


def _status(home) -> dict:
    result = home.cli("status", "--json")
    assert result.returncode in (0, 3), result.stderr
    return json.loads(result.stdout)


def _health(home) -> dict:
    return requests.get(f"http://127.0.0.1:{home.env['SCHEDULER_HTTP_PORT']}/health", timeout=10).json()


def test_a_broken_job_module_sets_its_job_aside_and_the_rest_run(home, extra):
    assert home.cli("start").returncode == 0
    assert home.cli("pause", "nav_extra").returncode == 0
    assert home.cli("stop").returncode == 0

    (extra / "nav.py").write_text(NAV + "\ndef (:\n")
    check = home.cli("check-config")
    assert check.returncode == 2
    assert "job module 'extra_jobs.nav' cannot be imported: SyntaxError" in check.stderr

    started = home.cli("start")
    assert started.returncode == 0, started.stderr  # under systemd: no restart loop
    status = _status(home)
    jobs = {row["id"]: row for row in status["jobs"]}
    assert "nav_extra" not in jobs and not jobs["ok_extra"]["paused"]
    problems = status["job_store_problems"]
    assert problems[0].startswith("job module 'extra_jobs.nav' cannot be imported: SyntaxError")
    assert problems[1].startswith(
        "job nav_extra set aside (paused): not defined: job module(s) extra_jobs.nav"
    )
    text = home.cli("status").stdout
    assert "warning: job nav_extra set aside (paused)" in text
    health = _health(home)
    assert health["status"] == "degraded" and health["problems"] == problems
    assert home.cli("run-job", "ok_extra", "--wait").returncode == 0  # the rest runs
    assert "extra_jobs.nav' cannot be imported" in home.scheduler_log.read_text()

    # Fixed and reloaded: restored, still paused, nothing to report.
    (extra / "nav.py").write_text(NAV)
    assert home.cli("stop").returncode == 0
    assert home.cli("start").returncode == 0
    status = _status(home)
    assert {row["id"]: row for row in status["jobs"]}["nav_extra"]["paused"] is True
    assert status["job_store_problems"] == []
    assert _health(home)["status"] == "healthy"


def test_a_removed_job_is_kept_until_forget_job(home, extra):
    assert home.cli("start").returncode == 0
    assert home.cli("stop").returncode == 0
    (extra / "nav.py").unlink()
    assert home.cli("start").returncode == 0
    assert home.cli("stop").returncode == 0

    # With the daemon down, status reads the same without changing anything.
    (problem,) = _status(home)["job_store_problems"]
    assert problem.startswith("job nav_extra set aside: no longer defined by any job module")

    assert home.cli("forget-job", "nav_extra").stdout.strip() == (
        "job nav_extra: deleted 1 set-aside and 0 rejected row(s)"
    )
    again = home.cli("forget-job", "nav_extra")
    assert again.returncode == 1
    assert again.stderr.strip() == "error: nothing is set aside or rejected for job 'nav_extra'"
    assert _status(home)["job_store_problems"] == []
