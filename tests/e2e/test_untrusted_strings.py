"""Untrusted strings through the real commands: database passwords in every URL form never
show, and nothing from outside forges a log line or carries a terminal escape to the history."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from tests.support.harness import PY, SchedulerHome

pytestmark = pytest.mark.e2e

# An address where no MySQL listens: every command that connects fails at once.
NOWHERE = "127.0.0.1:1"


def outputs(home: SchedulerHome, *commands: tuple[str, ...]) -> dict[str, str]:
    """Each command's stdout and stderr, then scheduler.log and daemon.out as they are left."""
    shown = {}
    for args in commands:
        result = home.cli(*args)
        shown[" ".join(args)] = f"exit {result.returncode}\n{result.stdout}{result.stderr}"
    for name in ("scheduler.log", "daemon.out"):
        path = home.logs / name
        shown[name] = path.read_text() if path.exists() else ""
    return shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"mysql+pymysql://fs:Kp9-AT@tail@{NOWHERE}/funds", f"mysql+pymysql://fs:***@{NOWHERE}/funds"),
        (
            f"mysql+pymysql://fs@{NOWHERE}/funds?passwd=Kp9-AT@tail",
            f"mysql+pymysql://fs@{NOWHERE}/funds?passwd=***",
        ),
    ],
)
def test_an_unencoded_at_in_the_password_is_refused_saying_how_to_encode_it(url, shown):
    with SchedulerHome.create(extra_env={"DATABASE_URL": url}) as home:
        outcome = outputs(home, ("check-config",), ("status",), ("start",))
        for command in ("check-config", "status", "start"):
            text = outcome[command]
            assert text.startswith("exit 2\n"), (command, text)
            assert f"DATABASE_URL={shown!r}: the password holds an unencoded '@'" in text
            assert "percent-encode the password ('@' as %40" in text
        for name, text in outcome.items():
            assert "Kp9" not in text and "tail" not in text, (name, text)


@pytest.mark.parametrize(
    "query",
    [
        "passwd=Kp9-AT%40tail",
        "charset=utf8mb4&password=Kp9-AT%23tail",
        "passwd=Kp9#tail",
        "password=2024-06-03",
    ],
)
def test_a_password_in_the_query_is_masked_in_every_output(query):
    url = f"mysql+pymysql://fs@{NOWHERE}/funds?{query}"
    secret = query.rpartition("=")[2]
    with SchedulerHome.create(extra_env={"DATABASE_URL": url, "SCHEDULER_STOP_TIMEOUT": "1"}) as home:
        shown = outputs(home, ("check-config",), ("status",), ("start",))
        assert "start-up failed: database" in shown["daemon.out"]
        assert "start-up failed: database" in shown["scheduler.log"]
        assert "start-up failed: database" in shown["start"]
        assert "=***" in shown["check-config"] and "=***" in shown["status"]
        for name, text in shown.items():
            for part in (secret, "Kp9", "tail", "2024-06-03"):
                assert part not in text, (name, part, text)


FORGED = "2026-01-01 00:00:00,000 INFO fake.csv"
RED = "\x1b[31mRED\x1b[0m"


def last_weekday() -> str:
    day = dt.date.today() - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day.isoformat()


def test_nothing_from_outside_forges_a_line_or_reaches_a_terminal():
    with SchedulerHome.create(extra_env={"FUND_SOURCE": "csv"}) as home:
        inbox = home.root / "data" / "inbox"
        inbox.mkdir(parents=True)
        (inbox / f"bad\n{FORGED}").with_suffix(".csv").write_bytes(b"")  # unreadable: rejected, named
        day = last_weekday()
        (inbox / "nav.csv").write_text(
            "fund_code,nav_date,unit_nav\n"
            f"000001,{day},1.1\n"
            f'"000007{RED}",{day},1.2\n'
            f'"0000\r\n08",{day},1.3\n'
        )
        assert home.cli("run-job", "daily_collection", timeout=180).returncode == 0
        assert home.cli("run-job", "daily_validation", timeout=180).returncode in (0, 1)
        home.command_job("noisy", [PY, "-c", f"import sys; print({RED!r}); sys.exit(3)"])
        assert home.cli("run-job", "noisy", timeout=60).returncode == 1

        job_log = home.job_log("daily_collection").read_text()
        assert "bad\\n" + FORGED in job_log  # the name, escaped, on the warning's line
        for name, text in (
            ("daily_collection.log", job_log),
            ("scheduler.log", home.scheduler_log.read_text()),
            ("history", json.dumps(home.history())),
            ("history output", home.cli("history", "--limit", "20").stdout),
        ):
            assert not any(line.startswith(FORGED) for line in text.splitlines()), name
            assert "\x1b" not in text, name
        noisy = next(r for r in home.history() if r["job_id"] == "noisy")
        assert noisy["error"] == "\\x1b[31mRED\\x1b[0m"
        assert noisy["output_tail"].endswith("\\x1b[31mRED\\x1b[0m\n")

        engine = sa.create_engine(home.database_url)
        with engine.connect() as conn:
            loaded = conn.execute(sa.text("SELECT fund_code FROM fund_nav")).scalars().all()
            query = "SELECT fund_code, reason FROM fund_nav_quarantine WHERE rule = 'fund_code_printable'"
            quarantined = dict(conn.execute(sa.text(query)).all())
            messages = conn.execute(sa.text("SELECT message FROM data_update_log")).scalars().all()
        engine.dispose()
        assert loaded in ([], ["000001"])  # a holiday quarantines it by its date, never by its code
        assert quarantined == {
            f"000007{RED}": "fund_code '000007\\x1b[31mRED\\x1b[0m' holds control characters (\\x1b)",
            "0000\r\n08": "fund_code '0000\\r\\n08' holds control characters (\\r \\n)",
        }
        assert all("\n" not in m and "\x1b" not in m for m in messages if m)
        assert any("bad\\n" + FORGED in m for m in messages if m)
