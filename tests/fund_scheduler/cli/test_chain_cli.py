"""The chain on the command line (real CLI processes, SQLite): ``run-job --with-dependents`` without
a daemon runs the chain in order, a plain ``run-job`` runs the job alone, ``jobs`` and ``status``
show the chain, ``check-config`` refuses a circle of ``after`` (exit 2, naming it)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.harness import SchedulerHome

CHAIN = """
[jobs.collect]
cron = "0 19 * * *"
command = ["sh", "-c", "echo collect for $SCHEDULER_RUN_DATE"]

[jobs.validate]
cron = "30 19 * * *"
command = ["true"]
after = ["collect"]

[jobs.metrics]
cron = "30 20 * * *"
command = ["sh", "-c", "echo metrics for $SCHEDULER_RUN_DATE"]
after = ["validate"]
"""


@pytest.fixture
def home() -> Iterator[SchedulerHome]:
    with SchedulerHome.create() as home:
        home.write_jobs(CHAIN)
        yield home


def test_run_job_alone_then_with_its_dependents_in_this_process(home: SchedulerHome) -> None:
    alone = home.cli("run-job", "collect")
    assert alone.returncode == 0, alone.stderr
    assert [r["job_id"] for r in home.history()] == ["collect"]
    chained = home.cli("run-job", "collect", "--with-dependents")
    assert chained.returncode == 0, chained.stderr
    rows = home.history()[::-1]  # oldest first
    assert [(r["job_id"], r["trigger"], r["status"]) for r in rows] == [
        ("collect", "manual", "success"),
        ("collect", "manual", "success"),
        ("validate", "dependency", "success"),
        ("metrics", "dependency", "success"),
    ]
    assert len({r["run_date"] for r in rows}) == 1
    assert f"metrics for {rows[0]['run_date']}" in chained.stdout
    # Today's steps have run: a second chain starts no dependent again.
    again = home.cli("run-job", "collect", "--with-dependents")
    assert again.returncode == 0, again.stderr
    assert [r["job_id"] for r in home.history()].count("metrics") == 1

    jobs = home.cli("jobs")
    assert "after: validate runs after collect succeeded for the date" in jobs.stdout
    listed = {j["id"]: j for j in json.loads(home.cli("jobs", "--json").stdout)}
    assert listed["collect"]["dependents"] == ["validate"]
    assert (listed["metrics"]["after"], listed["metrics"]["after_mode"]) == (["validate"], "all")
    status = home.cli("status", "--json")
    steps = [(s["job"], s["state"]) for s in json.loads(status.stdout)["chain"]]
    assert steps[:3] == [("collect", "succeeded"), ("validate", "succeeded"), ("metrics", "succeeded")]
    assert [job for job, _ in steps[3:]] == ["daily_collection", "daily_validation", "daily_metrics"]
    assert "STEP" in home.cli("status").stdout


def test_a_failed_step_stops_the_chain_run_here(home: SchedulerHome) -> None:
    home.write_jobs(CHAIN.replace('command = ["true"]', 'command = ["false"]'))
    result = home.cli("run-job", "collect", "--with-dependents")
    assert result.returncode == 1
    assert [(r["job_id"], r["status"]) for r in home.history()[::-1]] == [
        ("collect", "success"),
        ("validate", "failed"),
    ]


def test_check_config_names_a_circle_of_after(home: SchedulerHome) -> None:
    home.write_jobs(
        CHAIN.replace('command = ["true"]', 'command = ["true"]\n').replace(
            '[jobs.collect]\ncron = "0 19 * * *"', '[jobs.collect]\ncron = "0 19 * * *"\nafter = ["metrics"]'
        )
    )
    result = home.cli("check-config")
    assert result.returncode == 2, (result.stdout, result.stderr)
    output = result.stdout + result.stderr
    assert "collect" in output and "metrics" in output and "validate" in output
    assert "cycle" in output or "circle" in output, output


def test_run_job_for_a_past_date_runs_its_chain_for_that_date(home: SchedulerHome) -> None:
    ran = home.cli("run-job", "collect", "--date", "2026-11-26", "--with-dependents")
    assert ran.returncode == 0, ran.stderr
    assert "collect for 2026-11-26" in ran.stdout and "metrics for 2026-11-26" in ran.stdout
    rows = {row["job_id"]: row for row in json.loads(home.cli("history", "--json").stdout)}
    assert {job: rows[job]["run_date"] for job in rows} == dict.fromkeys(rows, "2026-11-26")
    assert rows["collect"]["trigger"] == "manual" and rows["validate"]["trigger"] == "dependency"
    assert rows["collect"]["requested_by"] == rows["metrics"]["requested_by"]
    assert rows["collect"]["requested_by"].startswith("cli:") and rows["collect"]["params"] == {}
    table = home.cli("history").stdout
    assert "FOR" in table.splitlines()[0] and "2026-11-26" in table
