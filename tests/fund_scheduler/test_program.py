"""Where the program lives (fund_scheduler.program): a checkout here."""

from __future__ import annotations

import sys
from pathlib import Path

from fund_scheduler import program
from tests.support.harness import PROJECT


def test_a_checkout_runs_its_own_entry_point_and_bundled_jobs() -> None:
    assert program.CHECKOUT == PROJECT
    assert program.bundled_jobs_package() == "jobs"
    assert program.python_command("exec", "x") == [
        sys.executable,
        str(PROJECT / "scheduler_daemon.py"),
        "exec",
        "x",
    ]
    assert program.default_home() == PROJECT
    assert program.default_jobs_config(Path("/elsewhere")) == PROJECT / "config" / "jobs.toml"
    assert program.default_workdir(Path("/elsewhere")) == PROJECT
    assert program.config_dir() == PROJECT / "config"
    assert program.dotenv_candidates(Path("/srv/h")) == [Path("/srv/h/.env"), PROJECT / ".env"]
    assert (program.config_dir() / "systemd" / "fund-scheduler.service").is_file()
