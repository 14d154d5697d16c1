"""End to end: a real daemon whose logs cannot be written (``scheduler.log`` is /dev/full: every
write fails with ENOSPC; the job's log folder is a file: no run log can be created). The run is
refused and recorded ``failed`` with the reason, ``status`` says what cannot be written, and once
both can be written again both logs resume, saying what was lost."""

from __future__ import annotations

import pytest

from tests.support.harness import PY

pytestmark = pytest.mark.e2e

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_a_job_log_that_cannot_be_written_fails_the_run_and_status_says_why(home):
    home.command_job("echo", [PY, "-c", "print('echoed')"])
    home.logs.mkdir()
    home.scheduler_log.symlink_to("/dev/full")
    folder = home.logs / "jobs" / "echo"
    folder.parent.mkdir()
    folder.write_text("")
    started = home.cli("start")
    assert started.returncode == 0, started.stdout + started.stderr

    ran = home.cli("run-job", "echo", "--wait")
    [row] = home.history("--job", "echo")
    job_log = home.run_log("echo", row["id"])
    reason = f"cannot write {job_log}: Not a directory"
    assert ran.returncode == 1
    assert f"error: {reason}; run not started" in ran.stdout
    assert (row["status"], row["error"]) == ("failed", f"{reason}; run not started")
    status = home.cli("status")
    assert status.returncode == 0, status.stderr
    assert f"warning: job echo: {reason} (since " in status.stdout
    assert f"warning: cannot write {home.scheduler_log}: No space left on device (since " in status.stdout
    assert "log lines lost: " in status.stdout

    home.scheduler_log.unlink()  # room again
    folder.unlink()
    status = home.cli("status")
    assert "warning: job echo" not in status.stdout and "warning: cannot write" not in status.stdout
    assert "written again; it could not be from " in home.scheduler_log.read_text()
    assert job_log.read_text().endswith("; runs not started: 1 ===\n")
    again = home.cli("run-job", "echo", "--wait")
    assert again.returncode == 0, again.stdout
    assert home.history("--job", "echo")[0]["output_tail"] == "echoed\n"
    stopped = home.cli("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "job=echo execution=" in home.scheduler_log.read_text()  # logging resumed for good
    said = f"logging: cannot write {home.scheduler_log}: No space left on device; lines are lost until it can"
    assert said in (home.logs / "daemon.out").read_text()  # the daemon's stderr, told once
