"""The daemon on a real MariaDB server: job store, history and CLI, password never shown."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy.engine import make_url

from tests.support.harness import FAR_AWAY, PY

pytestmark = [pytest.mark.e2e, pytest.mark.mariadb]


@pytest.mark.parametrize("database_url", ["mariadb"], indirect=True)
def test_daemon_on_mariadb_runs_jobs_and_never_shows_the_password(home):
    password = make_url(home.database_url).password
    home.write_jobs(f"""
        [jobs.echo]
        cron = "{FAR_AWAY}"
        command = ["{PY}", "-c", "import os; print('华夏成长混合 ok', open(f'/proc/{{os.getppid()}}/cmdline').read())"]
    """)  # noqa: E501
    started = home.cli("start")
    assert started.returncode == 0, started.stderr
    status = home.cli("status", "--json")
    assert status.returncode == 0
    report = json.loads(status.stdout)
    assert report["database"].startswith("mysql+pymysql://fundsched:***@127.0.0.1")
    assert {j["id"] for j in report["jobs"]} >= {"daily_collection", "echo"}

    run = home.cli("run-job", "echo", "--wait")
    assert run.returncode == 0, run.stdout + run.stderr
    row = home.history("--job", "echo")[0]
    assert row["status"] == "success" and "华夏成长混合 ok" in row["output_tail"]
    assert "scheduler_daemon.py" in row["output_tail"]  # the daemon's command line, as in ps
    assert password not in row["output_tail"] and quote(password, safe="") not in row["output_tail"]
    for cmdline in _command_lines():  # ps -ef: nothing on this machine shows it
        assert password not in cmdline and quote(password, safe="") not in cmdline

    assert home.cli("pause", "echo").returncode == 0
    assert home.cli("stop").returncode == 0
    assert home.cli("start").returncode == 0
    jobs = json.loads(home.cli("jobs", "--json").stdout)
    assert next(j for j in jobs if j["id"] == "echo")["paused"] is True
    assert home.cli("stop").returncode == 0

    everything = home.scheduler_log.read_text() + (home.logs / "daemon.out").read_text()
    everything += status.stdout + started.stdout + started.stderr
    assert password not in everything


def _command_lines() -> list[str]:
    lines = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                lines.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue  # gone meanwhile
    return lines


@pytest.mark.parametrize("database_url", ["mariadb"], indirect=True)
def test_mysql_variables_from_the_home_env_file_reach_the_real_server(home):
    """The seeds' way: MYSQL_* in a 0600 .env file, a password with URL-breaking characters."""
    url = make_url(home.database_url)
    del home.env["DATABASE_URL"]
    env_file = home.root / ".env"
    env_file.write_text(
        f"MYSQL_HOST={url.host}\nMYSQL_PORT={url.port}\nMYSQL_USER={url.username}\n"
        f"MYSQL_PASSWORD='{url.password}'\nMYSQL_DB={url.database}\n"
    )
    env_file.chmod(0o600)
    home.command_job("echo", [PY, "-c", "print('via MYSQL_*')"])

    config = home.cli("check-config")
    assert config.returncode == 0, config.stdout + config.stderr
    shown = f"mysql+pymysql://{url.username}:***@{url.host}:{url.port}/{url.database}?charset=utf8mb4"
    assert shown in config.stdout
    upgraded = home.cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    run = home.cli("run-job", "echo")
    assert run.returncode == 0 and "via MYSQL_*" in run.stdout, run.stdout + run.stderr
    for output in (config, upgraded, run):
        assert url.password not in output.stdout + output.stderr
