"""A real daemon (started by ./start_scheduler.sh) on SQLite and on MariaDB skips a closed day of
a job's calendar: no run, no ``missed`` row, no alert; the same cron on an open calendar runs.

The calendars come from an operator file (config/calendars.toml) that closes today and tomorrow
on one calendar and opens them on the other, so the test does not depend on the date it runs.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.harness import wait_for

pytestmark = pytest.mark.e2e

ZONE = ZoneInfo("Asia/Shanghai")  # the daemon's default timezone


def _calendars(days: list[str]) -> str:
    until = (datetime.now(ZONE).date() + timedelta(days=400)).isoformat()
    closed = "\n".join(f'"{d}" = "Test Holiday"' for d in days)
    opened = "\n".join(f'"{d}" = "Test session"' for d in days)
    return (
        f'[TESTCLOSED]\nknown_until = "{until}"\n[TESTCLOSED.closed]\n{closed}\n'
        f'[TESTOPEN]\nknown_until = "{until}"\n[TESTOPEN.open]\n{opened}\n'
    )


def test_a_daemon_skips_a_closed_day_without_a_row_or_an_alert(home) -> None:
    today = datetime.now(ZONE).date()
    days = [today.isoformat(), (today + timedelta(days=1)).isoformat()]
    calendars = home.root / "calendars.toml"
    calendars.write_text(_calendars(days))
    home.env["SCHEDULER_CALENDARS_FILE"] = str(calendars)
    home.write_jobs(
        """
        [jobs.closed_tick]
        second = "*/2"
        command = ["true"]
        calendar = "TESTCLOSED"

        [jobs.open_tick]
        second = "*/2"
        command = ["true"]
        calendar = "TESTOPEN"
        """
    )
    started = home.script("start_scheduler.sh", timeout=120)
    assert started.returncode == 0, started.stdout + started.stderr

    def open_runs() -> list[dict]:
        return [r for r in home.history("--job", "open_tick") if r["status"] == "success"]

    wait_for(lambda: len(open_runs()) >= 3, 60, "three runs of the job on the open calendar")
    assert home.history("--job", "closed_tick") == []  # no run, no missed row, nothing

    upcoming = home.cli("next", "closed_tick", "--count", "2", "--json")
    assert upcoming.returncode == 0, upcoming.stderr
    text = json.dumps(json.loads(upcoming.stdout))
    assert "TESTCLOSED closed: Test Holiday" in text

    status = home.cli("status")
    assert status.returncode == 0, status.stderr
    assert "is not loaded" not in status.stderr  # the CLI reads the calendars it shows
    assert "failures in the last 24 h: 0" in status.stdout
    stopped = home.script("stop_scheduler.sh", timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert home.history("--job", "closed_tick") == []  # nor a missed row at shutdown
    assert "job=closed_tick execution=" not in home.scheduler_log.read_text()
