"""Untrusted text made harmless (fund_common.escaping)."""

from __future__ import annotations

import doctest

import fund_common.escaping
from fund_common.escaping import control_characters, one_line, printable

FORGED = "bad\n2026-01-01 00:00:00,000 INFO fake.csv"


def test_one_line_shows_every_control_character_by_its_escape() -> None:
    assert one_line(FORGED) == "bad\\n2026-01-01 00:00:00,000 INFO fake.csv"
    assert one_line("000007\x1b[31mRED\r\t\x00\x7f\x85\u2028") == (
        "000007\\x1b[31mRED\\r\\t\\x00\\x7f\\x85\\u2028"
    )
    assert one_line("基金 C:\\path ok") == "基金 C:\\path ok"  # printable text untouched


def test_printable_keeps_lines_and_tabs_and_escapes_the_rest() -> None:
    assert printable("a\r\nb\tc\n\x1b[2J\rd\x07") == "a\nb\tc\n\\x1b[2J\\rd\\x07"


def test_control_characters_names_them() -> None:
    assert control_characters("A\x1bB\nC") == ["\\x1b", "\\n"]
    assert control_characters("000001") == []


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(fund_common.escaping).failed == 0
