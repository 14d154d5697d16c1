"""The operator's calendars.toml: read (ranges, every problem named), and laid over a calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fund_common.calendars import SessionCalendar
from fund_common.calendars.operator_file import Overlay, apply, read_operator_file
from tests.support.harness import PROJECT

D = dt.date
#: The library's XSHG as it ends in 4.13: Golden Week 2026 known, 2027 not.
BASE = SessionCalendar(
    "XSHG",
    D(2026, 1, 1),
    D(2026, 12, 31),
    closed={D(2026, 10, 1): "National Day", D(2026, 10, 2): "National Day"},
    source="exchange_calendars 4.13.2",
)


def _read(tmp_path: Path, text: str) -> tuple[dict[str, Overlay], list[str]]:
    path = tmp_path / "calendars.toml"
    path.write_text(text)
    return read_operator_file(path)


def test_the_example_file_adds_2027s_spring_festival() -> None:
    overlays, problems = read_operator_file(PROJECT / "config" / "calendars.toml.example")
    assert problems == []
    xshg = apply(BASE, "XSHG", overlays["XSHG"])
    assert xshg.source == "exchange_calendars 4.13.2 + calendars.toml.example"
    assert [xshg.closure(D(2027, 2, 8 + i)) for i in range(5)] == ["XSHG closed: Spring Festival"] * 5
    assert xshg.closure(D(2027, 1, 1)) == "XSHG closed: New Year's Day"
    assert xshg.is_session(D(2027, 2, 15)) and xshg.knows(D(2027, 2, 12)) and not xshg.knows(D(2027, 2, 13))
    assert xshg.closed[D(2026, 10, 1)] == "National Day"  # the library's closures stay


def test_a_range_closes_its_weekdays_and_known_until_extends_the_range(tmp_path: Path) -> None:
    overlays, problems = _read(
        tmp_path,
        """
        [XSHG]
        known_until = "2027-12-31"
        [XSHG.closed]
        "2027-02-05..2027-02-15" = "Spring Festival"   # Friday to Monday
        [XSHG.open]
        "2027-02-20" = "extra session"
        "2026-10-02" = "reopened"
        """,
    )
    assert problems == []
    overlay = overlays["XSHG"]
    assert sorted(overlay.closed) == [D(2027, 2, 5), *(D(2027, 2, d) for d in range(8, 13)), D(2027, 2, 15)]
    xshg = apply(BASE, "XSHG", overlay)
    assert (xshg.first, xshg.last) == (D(2026, 1, 1), D(2027, 12, 31))
    assert xshg.extra == {D(2027, 2, 20): "extra session"} and xshg.is_session(D(2027, 2, 20))
    assert xshg.is_session(D(2026, 10, 2)) and not xshg.is_session(D(2026, 10, 1))
    assert xshg.days_left(D(2027, 11, 1)) == 60


def test_known_until_may_be_a_toml_date_and_alone_extends_the_range(tmp_path: Path) -> None:
    overlays, problems = _read(tmp_path, "[XSHG]\nknown_until = 2027-06-30\n")
    assert problems == [] and overlays["XSHG"].known_until == D(2027, 6, 30)
    assert apply(BASE, "XSHG", overlays["XSHG"]).last == D(2027, 6, 30)


def test_closing_a_weekend_removes_an_extra_session(tmp_path: Path) -> None:
    base = SessionCalendar("X", D(2027, 1, 1), D(2027, 12, 31), extra={D(2027, 2, 20): ""})
    overlays, _ = _read(tmp_path, '[X.closed]\n"2027-02-20" = "no makeup day after all"\n')
    assert apply(base, "X", overlays["X"]).extra == {}


def test_a_calendar_the_library_lacks_is_weekdays_over_the_overlays_span(tmp_path: Path) -> None:
    overlays, _ = _read(
        tmp_path, '[MINE]\nknown_until = "2027-12-31"\n[MINE.closed]\n"2027-01-01" = "New Year"\n'
    )
    mine = apply(None, "MINE", overlays["MINE"])
    assert (mine.name, mine.first, mine.last, mine.source) == (
        "MINE",
        D(2027, 1, 1),
        D(2027, 12, 31),
        "weekdays + calendars.toml",
    )
    assert not mine.is_session(D(2027, 1, 1)) and mine.is_session(D(2027, 1, 4))


def test_without_an_overlay_the_base_is_kept() -> None:
    assert apply(BASE, "XSHG", None) is BASE
    nothing = apply(None, "XSHG", None)
    assert nothing.first > nothing.last and nothing.is_session(D(2026, 10, 1))


def test_a_missing_file_is_no_overlay_and_no_problem(tmp_path: Path) -> None:
    assert read_operator_file(tmp_path / "absent.toml") == ({}, [])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[XSHG.closed]\n"2027-02-30" = "x"\n', "[XSHG.closed] '2027-02-30' is not a date"),
        (
            '[XSHG.closed]\n"2027-02-12..2027-02-08" = "x"\n',
            "[XSHG.closed] '2027-02-12..2027-02-08': the range ends",
        ),
        (
            '[XSHG.closed]\n"2027-02-08..2027-02-12" = "x"\n[XSHG.open]\n"2027-02-10" = "y"\n',
            "[XSHG] 2027-02-10 is both closed and open",
        ),
        (
            '[XSHG]\nknown_untill = "2027-12-31"\n',
            "[XSHG] unknown key 'known_untill' (known: known_until, closed, open)",
        ),
        ('[XSHG]\nknown_until = "end of 2027"\n', "[XSHG] known_until = 'end of 2027' is not a date"),
        ('[XSHG.open]\n"2027-02-20" = 1\n', "[XSHG.open] '2027-02-20' = 1: the value must be a string"),
        ('[XSHG]\nclosed = ["2027-01-01"]\n', "[XSHG.closed] must be a table"),
        ('XSHG = "closed on holidays"\n', "XSHG must be a table [XSHG]"),
        ("[XSHG\n", "cannot be read"),
    ],
)
def test_every_problem_names_the_file_the_calendar_and_the_key(
    tmp_path: Path, text: str, problem: str
) -> None:
    overlays, problems = _read(tmp_path, text)
    assert len(problems) == 1 and problems[0].startswith(f"{tmp_path / 'calendars.toml'}: ")
    assert problem in problems[0]


def test_a_bad_entry_is_left_out_the_good_ones_kept(tmp_path: Path) -> None:
    overlays, problems = _read(
        tmp_path,
        '[XSHG.closed]\n"2027-01-01" = "New Year\'s Day"\n"2027-02-10" = "x"\n"2027-02-08..x" = "y"\n'
        '[XSHG.open]\n"2027-02-10" = "z"\n',
    )
    assert len(problems) == 2
    assert overlays["XSHG"].closed == {D(2027, 1, 1): "New Year's Day"} and overlays["XSHG"].open == {}
