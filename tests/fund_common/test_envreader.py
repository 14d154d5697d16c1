"""Typed environment reading with every problem reported at once (fund_common.envreader)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fund_common.envreader import EnvReader


class Problems(Exception):
    pass


def test_unset_and_blank_take_the_default() -> None:
    env = EnvReader({"B": "  "})
    assert env.integer("A", 7) == 7
    assert env.number("B", 0.5) == 0.5
    assert env.boolean("C", True) is True
    assert env.text("B", "x") == "x"
    assert env.words("D", ("jobs",)) == ("jobs",)
    assert env.problems == []


def test_every_bad_value_is_reported_with_its_name_and_value() -> None:
    env = EnvReader(
        {
            "PORT": "http",
            "GRACE": "-1",
            "RATE": "2%",
            "FLAG": "maybe",
            "ZONE": "Mars/Base",
            "FMT": "xml",
            "BIG": "70000",
            "TIMEOUT": "0",
            "INF": "inf",
        }
    )
    assert env.integer("PORT", 5000) == 5000
    assert env.integer("GRACE", 3600, minimum=1) == 3600
    assert env.number("RATE", 0.0) == 0.0
    assert env.boolean("FLAG", True) is True
    assert str(env.timezone("ZONE", "Asia/Shanghai")) == "UTC"
    assert env.choice("FMT", "json", ("json", "wecom")) == "json"
    assert env.integer("BIG", 1, minimum=0, maximum=65535) == 1
    assert env.number("TIMEOUT", 10.0, above=0) == 10.0
    assert env.number("INF", 1.0) == 1.0
    assert env.problems == [
        "PORT='http' is not a whole number",
        "GRACE='-1' must be at least 1",
        "RATE='2%' is not a number",
        "FLAG='maybe' is not a boolean (use true or false)",
        "ZONE='Mars/Base' is not a known IANA timezone",
        "FMT='xml' is not one of json, wecom",
        "BIG='70000' must be from 0 to 65535",
        "TIMEOUT='0' must be above 0",
        "INF='inf' is not a finite number",
    ]
    with pytest.raises(Problems) as caught:
        env.raise_problems(Problems)
    assert str(caught.value).splitlines() == env.problems


def test_good_values_convert() -> None:
    env = EnvReader(
        {"N": " 42 ", "F": "0.25", "B": "off", "C": "WeCom", "W": "a, b,,c", "P": "logs", "Z": "UTC"}
    )
    assert env.integer("N", 0) == 42
    assert env.number("F", 1.0, minimum=0, maximum=1) == 0.25
    assert env.boolean("B", True) is False
    assert env.choice("C", "json", ("json", "wecom")) == "wecom"
    assert env.words("W") == ("a", "b", "c")
    assert env.path("P", Path("x"), base=Path("/srv")) == Path("/srv/logs")
    assert env.path("Q", Path("/abs"), base=Path("/srv")) == Path("/abs")
    assert str(env.timezone("Z", "Asia/Shanghai")) == "UTC"
    env.raise_problems(Problems)  # nothing to raise
