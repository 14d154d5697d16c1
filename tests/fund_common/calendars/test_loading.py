"""load_calendars (stored, computed, or weekdays with a problem; the operator file over each),
refresh (all or nothing), and the warning before a calendar's known range ends."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from fund_common.calendars import ENDING_SOON_DAYS, SessionCalendar, ending_soon, load_calendars, refresh
from fund_common.calendars.store import read_all, save
from fund_common.calendars.table import metadata

D = dt.date
STORED = SessionCalendar(
    "XSHG",
    D(2026, 1, 1),
    D(2026, 12, 31),
    closed={D(2026, 10, 1): "National Day"},
    source="stored for the test",
)
NOW = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(tmp_path: Path):
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'calendars.db'}")
    metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def operator_file(tmp_path: Path) -> Path:
    path = tmp_path / "calendars.toml"
    path.write_text(
        '[XSHG.closed]\n"2027-02-08..2027-02-12" = "Spring Festival"\n'
        '[XNYS]\nknown_until = "2030-01-01"\n'  # not asked for below: ignored
        '[MINE.closed]\n"2027-01-01" = "New Year"\n'
    )
    return path


@pytest.mark.parametrize("compute_missing", [False, True])
def test_the_stored_calendar_is_used_with_the_operator_file_over_it(
    engine: sa.Engine, operator_file: Path, compute_missing: bool
) -> None:
    save(engine, STORED, "4.13.2", now=NOW)
    loaded = load_calendars(engine, ["XSHG"], operator_file, compute_missing=compute_missing)
    assert loaded.problems == [] and list(loaded.by_name) == ["XSHG"]
    xshg = loaded.by_name["XSHG"]
    assert xshg.source == "stored for the test + calendars.toml"
    assert xshg.closure(D(2026, 10, 1)) == "XSHG closed: National Day"
    assert xshg.closure(D(2027, 2, 8)) == "XSHG closed: Spring Festival" and xshg.last == D(2027, 2, 12)


def test_a_calendar_not_stored_is_computed_when_asked(engine: sa.Engine) -> None:
    loaded = load_calendars(engine, ["XSHG"], None, compute_missing=True)
    assert loaded.problems == []
    assert loaded.by_name["XSHG"].source.startswith("exchange_calendars ")
    assert loaded.by_name["XSHG"].closed[D(2026, 10, 7)] == "National Day"
    assert read_all(engine) == {}  # computing stores nothing


def test_a_calendar_with_no_sessions_is_weekdays_and_a_problem(engine: sa.Engine, tmp_path: Path) -> None:
    loaded = load_calendars(engine, ["XSHG"], tmp_path / "absent.toml")
    assert loaded.problems == [
        "calendar XSHG has no sessions yet (run `calendars refresh`): weekdays are used"
    ]
    xshg = loaded.by_name["XSHG"]
    assert xshg.is_session(D(2026, 10, 1)) and not xshg.knows(D(2026, 10, 1))


def test_an_unknown_calendar_is_weekdays_and_names_itself(engine: sa.Engine) -> None:
    loaded = load_calendars(engine, ["XXXX"], None, compute_missing=True)
    assert len(loaded.problems) == 1
    assert loaded.problems[0].startswith("unknown exchange calendar 'XXXX' (exchange_calendars")
    assert loaded.problems[0].endswith("): weekdays are used")


def test_without_a_database_the_operator_file_alone_makes_a_calendar(operator_file: Path) -> None:
    loaded = load_calendars(None, ["MINE", "MINE"], operator_file)
    assert loaded.problems == [] and list(loaded.by_name) == ["MINE"]
    assert loaded.by_name["MINE"].closure(D(2027, 1, 1)) == "MINE closed: New Year"


def test_the_operator_files_problems_come_with_the_calendars(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "calendars.toml"
    path.write_text('[XSHG]\nknown_until = "soon"\n')
    save(engine, STORED, "4.13.2", now=NOW)
    loaded = load_calendars(engine, ["XSHG"], path)
    assert loaded.problems == [f"{path}: [XSHG] known_until = 'soon' is not a date (YYYY-MM-DD)"]
    assert loaded.by_name["XSHG"].last == STORED.last


def test_refresh_stores_each_calendar_and_says_what_it_holds(engine: sa.Engine) -> None:
    lines = refresh(engine, ["XSHG", "24/7"], now=NOW)
    assert re.fullmatch(
        r"XSHG: \d{4}-\d\d-\d\d\.\.2026-12-31, \d+ closed weekdays, exchange_calendars [\d.]+", lines[0]
    )
    assert re.fullmatch(r"24/7: .*, 0 closed weekdays, \d+ weekend sessions, exchange_calendars .*", lines[1])
    stored = read_all(engine)
    assert sorted(stored) == ["24/7", "XSHG"] and stored["XSHG"].computed_at == NOW
    assert stored["XSHG"].calendar.closed[D(2026, 10, 1)] == "National Day"


def test_refresh_stores_nothing_when_a_name_is_unknown(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="unknown exchange calendar 'XXXX'"):
        refresh(engine, ["XSHG", "XXXX"], now=NOW)
    assert read_all(engine) == {}


@pytest.mark.parametrize(("days_left", "warned"), [(ENDING_SOON_DAYS - 1, True), (60, True), (61, False)])
def test_a_calendar_ending_within_60_days_is_reported(days_left: int, warned: bool) -> None:
    line = ending_soon(STORED, STORED.last - dt.timedelta(days=days_left))
    assert (line is not None) == warned


def test_the_warning_says_what_to_do() -> None:
    assert ending_soon(STORED, D(2026, 12, 3)) == (
        "calendar XSHG is known until 2026-12-31 (28 days left): add next year's closures to "
        "config/calendars.toml (known_until) or upgrade exchange_calendars; after that date its jobs run on "
        "weekdays"
    )
    assert ending_soon(STORED, D(2027, 1, 3), operator_file="/etc/fund/calendars.toml") == (
        "calendar XSHG was known until 2026-12-31 (3 days ago): add next year's closures to "
        "/etc/fund/calendars.toml (known_until) or upgrade exchange_calendars; meanwhile its jobs run on "
        "weekdays"
    )
    assert ending_soon(STORED, D(2026, 12, 3), within_days=10) is None


def test_a_calendar_that_knows_nothing_gives_no_ending_warning() -> None:
    from fund_common.calendars import weekdays_only

    assert ending_soon(weekdays_only("XSHG"), D(2026, 12, 3)) is None
