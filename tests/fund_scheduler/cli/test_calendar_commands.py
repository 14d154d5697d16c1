"""`calendars refresh` and `calendars show` as an operator runs them: the real CLI in a child
process over a scratch SQLite database and a scratch calendars.toml (SCHEDULER_CALENDARS_FILE)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from fund_common.calendars import SessionCalendar
from fund_common.calendars.store import read_all, save
from tests.support.harness import run_cli
from tests.support.schema import create_scheduler_tables

D = dt.date
SPRING_FESTIVAL_2027 = '[XSHG.closed]\n"2027-02-08..2027-02-12" = "Spring Festival"\n'


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def database(home: Path) -> sa.Engine:
    """The home's SQLite database with the scheduler's tables (as `db upgrade` leaves it)."""
    (home / "data").mkdir(exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{home / 'data' / 'scheduler.db'}")
    create_scheduler_tables(engine)
    return engine


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(home, "calendars", *args, env={"SCHEDULER_CALENDARS_FILE": str(home / "calendars.toml")})


def test_refresh_stores_xshg_and_the_calendars_already_stored(home: Path) -> None:
    engine = database(home)
    save(engine, SessionCalendar("XHKG", D(2026, 1, 1), D(2026, 1, 31), source="old"), "4.0")
    result = cli(home, "refresh")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["XSHG", "XHKG"]
    assert lines[0].endswith(" closed weekdays, exchange_calendars 4.13.2") and "..2026-12-31, " in lines[0]
    stored = read_all(engine)
    assert stored["XHKG"].calendar.source == "exchange_calendars 4.13.2"
    assert stored["XSHG"].calendar.closed[D(2026, 10, 1)] == "National Day"
    engine.dispose()


def test_refresh_of_an_unknown_calendar_is_exit_2_and_stores_nothing(home: Path) -> None:
    engine = database(home)
    result = cli(home, "refresh", "XSHG", "XXXX")
    assert result.returncode == 2
    assert result.stderr.startswith(
        "error: unknown exchange calendar 'XXXX' (exchange_calendars 4.13.2 knows "
    )
    assert read_all(engine) == {}
    engine.dispose()


def test_refresh_without_a_database_creates_none(home: Path) -> None:
    result = cli(home, "refresh")
    assert result.returncode == 1
    assert (
        result.stderr.startswith("error: no database at sqlite:///") and "run `db upgrade`" in result.stderr
    )
    assert not (home / "data").exists()


def test_show_lays_the_operator_file_over_the_stored_calendar(home: Path) -> None:
    engine = database(home)
    base = SessionCalendar(
        "XSHG", D(2026, 1, 1), D(2026, 12, 31), closed={D(2026, 10, 1): "National Day"}, source="test"
    )
    save(engine, base, "4.13.2", now=dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC))
    engine.dispose()
    (home / "calendars.toml").write_text(SPRING_FESTIVAL_2027)
    result = cli(home, "show", "XSHG", "--from", "2026-09-01", "--to", "2027-02-28")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("XSHG: known 2026-01-01..2027-02-12 (")
    assert "\nsource: test + calendars.toml\n" in out
    assert "stored: 2026-12-01 02:00:00 UTC by exchange_calendars 4.13.2" in out
    assert f"operator file: {home / 'calendars.toml'}\n" in out
    assert "closed weekdays 2026-09-01..2027-02-28: 6" in out
    assert "2026-10-01  Thu  National Day" in out and "2027-02-12  Fri  Spring Festival" in out
    assert "after 2027-02-12 nothing is known: every weekday is taken for a session" in out


def test_show_computes_a_calendar_not_stored_and_prints_json(home: Path) -> None:
    result = cli(home, "show", "XSHG", "--from", "2026-10-01", "--to", "2026-10-31", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["name"], shown["last"], shown["stored"]) == ("XSHG", "2026-12-31", None)
    assert shown["source"] == "exchange_calendars 4.13.2"
    assert shown["closed"] == [
        {"date": f"2026-10-0{day}", "weekday": weekday, "name": "National Day"}
        for day, weekday in ((1, "Thu"), (2, "Fri"), (5, "Mon"), (6, "Tue"), (7, "Wed"))
    ]
    assert shown["problems"] == [] and not (home / "data").exists()  # read-only: no database created


def test_show_a_calendar_only_the_operator_file_declares(home: Path) -> None:
    (home / "calendars.toml").write_text(
        '[MINE]\nknown_until = "2027-12-31"\n[MINE.closed]\n"2027-01-01" = "x"\n'
    )
    result = cli(home, "show", "MINE", "--from", "2027-01-01", "--to", "2027-01-31", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["source"], shown["first"], shown["last"]) == (
        "weekdays + calendars.toml",
        "2027-01-01",
        "2027-12-31",
    )
    assert [day["date"] for day in shown["closed"]] == ["2027-01-01"]


def test_show_an_unknown_calendar_is_exit_2(home: Path) -> None:
    result = cli(home, "show", "XXXX")
    assert result.returncode == 2
    assert "unknown exchange calendar 'XXXX'" in result.stderr and "nor does " in result.stderr


def test_show_prints_the_calendar_then_the_operator_files_problems(home: Path) -> None:
    (home / "calendars.toml").write_text(SPRING_FESTIVAL_2027 + '"2027-13-01" = "x"\n')
    result = cli(home, "show", "XSHG", "--from", "2027-02-01", "--to", "2027-02-28")
    assert result.returncode == 2
    assert "2027-02-08  Mon  Spring Festival" in result.stdout
    assert result.stderr == (
        f"error: {home / 'calendars.toml'}: [XSHG.closed] '2027-13-01' is not a date "
        "(YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)\n"
    )


def test_show_refuses_a_window_ending_before_it_starts(home: Path) -> None:
    result = cli(home, "show", "XSHG", "--from", "2027-01-31", "--to", "2027-01-01")
    assert result.returncode == 2
    assert result.stderr == "error: calendars show: --to 2027-01-01 is before --from 2027-01-31\n"


@pytest.mark.parametrize("command", ["refresh", "show"])
def test_each_command_says_what_it_does_and_its_exit_statuses(home: Path, command: str) -> None:
    result = cli(home, command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Exit status: 0" in result.stdout and "exchange_calendars" in result.stdout
