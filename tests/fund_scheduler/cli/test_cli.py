"""The command line as a user meets it: help, version, validated options (one line, exit 2), a
closed pipe, shell completion, and read-only commands that never create a database."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.bundled import BUNDLED
from tests.support.harness import PROJECT, run_cli

COMMANDS = (
    "run",
    "start",
    "stop",
    "reload",
    "status",
    "jobs",
    "next",
    "run-job",
    "pause",
    "resume",
    "forget-job",
    "job",
    "backfill",
    "backfills",
    "cancel",
    "history",
    "dashboard",
    "audit",
    "logs",
    "check-config",
    "install-service",
    "db",
)
#: Internal commands the daemon runs; not in the help.
HIDDEN = ("exec", "fork-server")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_cli(home, *args, env=env)


def test_version_is_the_projects() -> None:
    with open(PROJECT / "pyproject.toml", "rb") as f:
        expected = tomllib.load(f)["project"]["version"]
    result = cli(Path("/nonexistent"), "--version")
    assert (result.returncode, result.stdout) == (0, f"fund-scheduler {expected}\n")


def test_help_lists_every_command_but_the_internal_ones(home: Path) -> None:
    result = cli(home, "--help")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert listed[: len(COMMANDS)] == list(COMMANDS)
    assert not set(HIDDEN) & set(listed)
    assert "Exit statuses" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_says_what_it_does_and_its_exit_statuses(home: Path, command: str) -> None:
    result = cli(home, command, "--help")
    assert result.returncode == 0, result.stderr
    usage, description = result.stdout.split("\n\n", 2)[:2]
    assert usage.startswith("Usage:") and len(description.strip()) > 20
    assert "Exit status" in result.stdout
    assert not home.exists()  # help needs no settings and touches nothing


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("history", "--status", "bogus"), "invalid value for '--status': 'bogus' is not one of"),
        (("history", "--job", "nosuch"), "unknown job 'nosuch' (known jobs: cleanup_old_job_executions"),
        (("history", "--limit", "-5"), "invalid value for '--limit': -5 is not in the range x>=1"),
        (("next", "--count", "0"), "invalid value for '--count': 0 is not in the range 1<=x<=1000"),
        (("next", "nosuch"), "unknown job 'nosuch'"),
        (("run-job", "nosuch"), "unknown job 'nosuch'"),
        (("run-job", "daily_collection", "--param", "nosuch=1"), "unknown param(s) nosuch (declared: none)"),
        (("run-job", "daily_collection", "--param", "novalue"), "--param 'novalue' must be NAME=VALUE"),
        (("run-job", "daily_collection", "--date", "2026-02-30"), "invalid value for '--date'"),
        (("run-job", "daily_collection", "--date", "2999-01-04"), "run date 2999-01-04 is in the future"),
        (("pause",), "missing argument 'JOB'"),
        (("stop", "--timeout", "-1"), "invalid value for '--timeout'"),
        (("frobnicate",), "no such command 'frobnicate'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(home: Path, args: tuple[str, ...], says: str) -> None:
    result = cli(home, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args", [("history",), ("run-job", "daily_collection"), ("db", "current"), ("jobs",), ("forget-job", "x")]
)
def test_a_database_that_cannot_be_reached_is_one_line_and_exit_1(home: Path, args: tuple[str, ...]) -> None:
    with socket.socket() as s:  # a port nobody listens on: the server is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"mysql+pymysql://fs:Kp9-secret@127.0.0.1:{port}/fund"
    result = cli(home, *args, env={"DATABASE_URL": url})
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: database mysql+pymysql://fs:***@127.0.0.1:{port}/fund unavailable: ")
    assert "Can't connect" in line
    assert "Kp9-secret" not in result.stdout + result.stderr


def test_every_problem_of_the_settings_is_reported_at_once(home: Path) -> None:
    result = cli(home, "status", env={"SCHEDULER_MAX_WORKERS": "many", "SCHEDULER_HTTP_PORT": "http"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: SCHEDULER_MAX_WORKERS='many' is not a whole number",
        "error: SCHEDULER_HTTP_PORT='http' is not a whole number",
    ]


def test_read_only_commands_never_create_the_database(home: Path) -> None:
    home.mkdir()
    for args, code in (
        (("status",), 3),
        (("status", "--json"), 3),
        (("jobs",), 0),
        (("jobs", "--json"), 0),
        (("next", "--count", "1"), 0),
        (("history",), 0),
        (("history", "--job", "daily_collection", "--json"), 0),
        (("dashboard",), 0),
        (("dashboard", "--json"), 0),
        (("check-config",), 0),
        (("db", "current"), 0),
    ):
        result = cli(home, *args)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        assert sorted(p.name for p in home.iterdir()) == [], args
    assert "none (no database yet)" in cli(home, "db", "current").stdout
    jobs = cli(home, "jobs").stdout
    assert all(job_id in jobs for job_id in BUNDLED)


def test_a_reader_that_goes_away_gets_no_traceback(home: Path) -> None:
    environ = {**os.environ, "SCHEDULER_HOME": str(home), "SCHEDULER_JOBS_CONFIG": str(home / "none.toml")}
    producer = subprocess.Popen(
        [sys.executable, str(PROJECT / "scheduler_daemon.py"), "next", "--count", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ,
    )
    assert producer.stdout is not None and producer.stderr is not None
    producer.stdout.readline()
    producer.stdout.close()  # as `| head -1` does
    stderr = producer.stderr.read().decode()
    assert producer.wait(30) != 0
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_shell_completion_offers_the_job_ids(home: Path) -> None:
    result = cli(
        home,
        env={
            "_FUND_SCHEDULER_COMPLETE": "bash_complete",
            "COMP_WORDS": "fund-scheduler run-job daily_c",
            "COMP_CWORD": "2",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["plain,daily_collection"]
    result = cli(home, env={"_FUND_SCHEDULER_COMPLETE": "bash_source"})
    assert "_FUND_SCHEDULER_COMPLETE=bash_complete" in result.stdout


@pytest.mark.parametrize(("umask", "file_mode", "dir_mode"), [(None, 0o600, 0o700), ("027", 0o640, 0o750)])
def test_files_the_scheduler_creates_are_private_by_default(
    home: Path, umask: str | None, file_mode: int, dir_mode: int
) -> None:
    home.mkdir()
    (home / "jobs.toml").write_text('[jobs.echo]\ncron = "0 3 1 1 *"\ncommand = ["echo", "hi"]\n')
    result = cli(home, "run-job", "echo", env={"SCHEDULER_UMASK": umask} if umask else None)
    assert result.returncode == 0, result.stderr
    created = [home / "data" / "scheduler.db", home / "logs" / "jobs" / "echo" / "1.log"]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in created} == {
        p.name: oct(file_mode) for p in created
    }
    assert oct((home / "logs").stat().st_mode & 0o777) == oct(dir_mode)


def test_a_bad_umask_is_named(home: Path) -> None:
    result = cli(home, "check-config", env={"SCHEDULER_UMASK": "999"})
    assert result.returncode == 2
    assert "SCHEDULER_UMASK='999' is not an octal umask such as 077 or 027" in result.stderr


def test_db_vacuum_gives_a_purged_historys_space_back(home: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from fund_scheduler.store import history
    from fund_scheduler.store.engine import make_engine
    from tests.support.schema import create_scheduler_tables

    (home / "data").mkdir(parents=True)
    path = home / "data" / "scheduler.db"
    engine = make_engine(f"sqlite:///{path}")
    create_scheduler_tables(engine)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with engine.begin() as conn:
        conn.execute(
            history.job_executions.insert(),
            [
                {
                    "job_id": "old",
                    "status": "success",
                    "trigger": "schedule",
                    "started_at": long_ago,
                    "output_tail": "x" * 2000,
                }
                for _ in range(3000)
            ],
        )
    assert history.purge_older_than(engine, 7) == 3000
    engine.dispose()
    before = path.stat().st_size
    result = cli(home, "db", "vacuum")
    assert result.returncode == 0, result.stderr
    assert path.stat().st_size < before / 10
    assert result.stdout.startswith("database sqlite:///") and " MiB -> " in result.stdout


def test_db_vacuum_without_a_database_creates_none(home: Path) -> None:
    result = cli(home, "db", "vacuum")
    assert result.returncode == 1 and result.stderr.startswith("error: no database at sqlite:///")
    assert not home.exists()


# -- next on an exchange calendar ---------------------------------------------------------------


def _stored_xshg(home: Path, operator_file: str = "") -> dict[str, str]:
    """XSHG 2026 stored in the home's database, ``operator_file`` as calendars.toml; the env."""
    import sqlalchemy as sa

    from fund_common.calendars.library import library_version
    from fund_common.calendars.store import save
    from tests.support.calendars import xshg_2026
    from tests.support.schema import create_scheduler_tables

    (home / "data").mkdir(parents=True)
    engine = sa.create_engine(f"sqlite:///{home / 'data' / 'scheduler.db'}")
    create_scheduler_tables(engine)
    save(engine, xshg_2026(), library_version() or "?")
    engine.dispose()
    (home / "calendars.toml").write_text(operator_file)
    return {"SCHEDULER_CALENDARS_FILE": str(home / "calendars.toml")}


def test_next_lists_the_closed_days_skipped_with_the_reason(home: Path) -> None:
    env = _stored_xshg(home)
    result = cli(home, "next", "daily_collection", "--from", "2026-09-30T12:00", "--count", "2", env=env)
    assert result.returncode == 0, result.stderr
    skipped = [
        f"  2026-10-{d:02d} 19:00:00 CST ({w})  skipped: XSHG closed: National Day"
        for d, w in ((1, "Thu"), (2, "Fri"), (5, "Mon"), (6, "Tue"), (7, "Wed"))
    ]
    assert result.stdout.splitlines() == [
        "daily_collection:",
        "  2026-09-30 19:00:00 CST (Wed)",
        *skipped,
        "  2026-10-08 19:00:00 CST (Thu)",
    ]
    listing = json.loads(
        cli(
            home, "next", "daily_collection", "--from", "2026-09-30T12:00", "--count", "2", "--json", env=env
        ).stdout
    )
    assert listing == [
        {
            "job": "daily_collection",
            "enabled": True,
            "calendar": "XSHG",
            "fire_times": ["2026-09-30T19:00:00+08:00", "2026-10-08T19:00:00+08:00"],
            "skipped": [
                {"time": f"2026-10-{d:02d}T19:00:00+08:00", "reason": "XSHG closed: National Day"}
                for d in (1, 2, 5, 6, 7)
            ],
        }
    ]


def test_next_takes_the_operator_files_closures_beyond_the_stored_range(home: Path) -> None:
    env = _stored_xshg(home, '[XSHG.closed]\n"2027-02-08..2027-02-12" = "Spring Festival"\n')
    result = cli(home, "next", "daily_metrics", "--from", "2027-02-05T21:00", "--count", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "daily_metrics:",
        *(
            f"  2027-02-{d:02d} 20:30:00 CST ({w})  skipped: XSHG closed: Spring Festival"
            for d, w in ((8, "Mon"), (9, "Tue"), (10, "Wed"), (11, "Thu"), (12, "Fri"))
        ),
        "  2027-02-15 20:30:00 CST (Mon)",
    ]
    jobs = cli(home, "jobs", env=env).stdout
    assert "weekdays at 20:30 (Asia/Shanghai), XSHG sessions" in jobs


def test_check_config_refuses_a_calendar_nobody_knows(home: Path) -> None:
    home.mkdir()
    (home / "jobs.toml").write_text(
        '[jobs.odd]\ncron = "0 19 * * 1-5"\ncommand = ["true"]\ncalendar = "NOPE"\n'
    )
    env = {"SCHEDULER_CALENDARS_FILE": str(home / "calendars.toml")}
    result = cli(home, "check-config", env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: job odd: calendar 'NOPE' is unknown to exchange_calendars {_library()} and not declared "
        f"in {home / 'calendars.toml'}"
    ]
    (home / "calendars.toml").write_text('[NOPE.closed]\n"2027-01-01" = "New Year\'s Day"\n')
    result = cli(home, "check-config", env=env)
    assert result.returncode == 0, result.stderr
    assert "  odd: cron 0 19 * * mon,tue,wed,thu,fri (Asia/Shanghai), NOPE sessions; enabled" in result.stdout


def test_check_config_names_an_alert_url_apprise_does_not_understand_keys_masked(home: Path) -> None:
    env = {"ALERT_URLS": "json://127.0.0.1:9/hook nosuchservice://TOPSECRETKEY123/x"}
    result = cli(home, "check-config", env=env)
    assert result.returncode == 2
    named = "error: ALERT_URLS entry 2 ('nosuchservice://***'): apprise does not understand it"
    assert named in result.stderr
    assert "TOPSECRETKEY123" not in result.stdout + result.stderr


def _library() -> str | None:
    from fund_common.calendars.library import library_version

    return library_version()


def test_the_lazy_command_map_names_every_command_of_every_module_once() -> None:
    from fund_scheduler.cli.app import COMMAND_MODULES

    declared = {}
    for module_name in set(COMMAND_MODULES.values()):
        module = importlib.import_module(f"fund_scheduler.cli.{module_name}")
        for command in module.COMMANDS:
            assert command.name not in declared, command.name
            declared[command.name] = module_name
    assert declared == COMMAND_MODULES
    assert [name for name in COMMAND_MODULES if name not in HIDDEN][: len(COMMANDS)] == list(COMMANDS)
