"""End to end: ``backfill`` and ``backfills`` on the command line against a real daemon."""

from __future__ import annotations

import json

import pytest

from tests.support.harness import SchedulerHome

pytestmark = pytest.mark.e2e

JOBS = """
[jobs.collect]
cron = "0 19 * * mon-fri"
command = ["python3", "-c", "import os; print('collected', os.environ['SCHEDULER_RUN_DATE'])"]
"""


def test_backfill_runs_follows_lists_and_refuses_on_the_command_line() -> None:
    with SchedulerHome.create() as home:
        home.write_jobs(JOBS)
        refused = home.cli("backfill", "collect", "--from", "2026-11-20", "--to", "2026-11-24")
        assert refused.returncode == 3 and "not running" in refused.stderr
        started = home.cli("start")
        assert started.returncode == 0, started.stderr
        try:
            dry = home.cli("backfill", "collect", "--from", "2026-11-20", "--to", "2026-11-24", "--dry-run")
            assert dry.returncode == 0, dry.stderr
            assert dry.stdout.split("\n")[1:4] == ["  2026-11-20", "  2026-11-23", "  2026-11-24"]

            done = home.cli("backfill", "collect", "--from", "2026-11-20", "--to", "2026-11-24")
            assert done.returncode == 0, done.stderr
            lines = done.stdout.splitlines()
            assert lines[0].startswith("backfill bf-") and "3 run(s) of collect" in lines[0]
            assert [line.split()[:2] for line in lines[1:4]] == [
                ["2026-11-20", "done"],
                ["2026-11-23", "done"],
                ["2026-11-24", "done"],
            ]
            assert "done (3 done, 0 failed, 0 cancelled of 3)" in lines[-1]
            rows = [r for r in home.history("--job", "collect")[::-1]]
            assert [(r["trigger"], r["run_date"]) for r in rows] == [
                ("backfill", "2026-11-20"),
                ("backfill", "2026-11-23"),
                ("backfill", "2026-11-24"),
            ]
            listed = json.loads(home.cli("backfills", "--json").stdout)
            assert [(b["job_id"], b["state"], b["settled"]) for b in listed] == [("collect", "done", 3)]
            assert "collected 2026-11-23" in home.cli("logs", str(rows[1]["id"])).stdout

            bad = home.cli("backfill", "collect", "--from", "2026-11-24", "--to", "2026-11-20")
            assert bad.returncode == 2 and "--from 2026-11-24 is after --to 2026-11-20" in bad.stderr
            finished = home.cli("backfills", listed[0]["id"], "--cancel")
            assert finished.returncode == 1 and "already done" in finished.stderr
        finally:
            home.cli("stop", "--timeout", "5")
