"""The check-job contract (fund_scheduler.jobs.checks, .results) and the ``@check`` declaration."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fund_scheduler.jobs import check, scheduled
from fund_scheduler.jobs.checks import RESULT_CHARS, CheckResultError, parse_check_result
from fund_scheduler.jobs.results import ResultMissing, result_in, result_line


def test_a_result_reads_back_from_the_last_result_line_of_an_output() -> None:
    value = {"ok": False, "summary": "late", "details": {"expected": date(2026, 12, 3)}}
    line = result_line(value)
    assert line == 'result: {"ok": false, "summary": "late", "details": {"expected": "2026-12-03"}}'
    output = f'loading\nresult: {{"ok": true}}\n{line}\n'
    assert result_in(output) == {"ok": False, "summary": "late", "details": {"expected": "2026-12-03"}}
    with pytest.raises(ResultMissing, match="has no 'result:' line"):
        result_in("Traceback ...\n")
    with pytest.raises(ResultMissing, match="the result line is not JSON"):
        result_in('result: {"ok": tru')  # cut off: longer than the output tail


def test_a_valid_result_is_normalised() -> None:
    result = parse_check_result(
        {"ok": False, "summary": "  late  ", "details": {"at": datetime(2026, 12, 3, tzinfo=UTC), "n": 3}}
    )
    assert (result.ok, result.state, result.summary) == (False, "breach", "late")
    assert result.details == {"at": "2026-12-03T00:00:00+00:00", "n": 3}
    assert parse_check_result({"ok": True, "summary": "fine"}).state == "ok"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([], "a check returns a dict with ok and summary, not list"),
        ({"summary": "s"}, "ok must be true or false, not None"),
        ({"ok": 1, "summary": "s"}, "ok must be true or false, not 1"),
        ({"ok": True}, "summary must be a non-empty string, not None"),
        ({"ok": True, "summary": "a\nb"}, "summary must be one line of at most 300 characters"),
        ({"ok": True, "summary": "s" * 301}, "summary must be one line of at most 300 characters"),
        ({"ok": True, "summary": "s", "details": "x"}, "details must be an object, not str"),
        ({"ok": True, "summary": "s", "extra": 1, "more": 2}, "unknown key(s) 'extra', 'more'"),
        (
            {"ok": True, "summary": "s", "details": {"x": "y" * RESULT_CHARS}},
            "characters as JSON; at most 3000",
        ),
    ],
)
def test_a_malformed_result_names_what_is_wrong(value, reason) -> None:
    with pytest.raises(CheckResultError) as caught:
        parse_check_result(value)
    assert reason in str(caught.value)


def test_check_declares_a_check_kind_job() -> None:
    @check(id="nav_fresh", name="NAVs fresh", cron="*/10 * * * *", executor="thread")
    def nav_fresh(ctx):
        """NAVs loaded by the deadline."""

    @scheduled(id="plain", name="plain", cron="0 3 * * *")
    def plain(ctx): ...

    spec = nav_fresh.__job_spec__
    assert (spec.kind, spec.executor, spec.schedule["minute"]) == ("check", "thread", "*/10")
    assert spec.description == "NAVs loaded by the deadline." and spec.option_problems() == []
    assert plain.__job_spec__.kind == "run"
    with pytest.raises(ValueError, match="job x: @check declares kind='check' itself"):
        check(id="x", name="x", cron="* * * * *", kind="run")
