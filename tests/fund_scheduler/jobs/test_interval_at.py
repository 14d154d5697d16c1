"""Interval and one-off ("at") schedules: parsing, errors naming job/field/value, the triggers,
their description and their next fire times (pure, fixed datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from fund_scheduler.errors import ConfigError
from fund_scheduler.jobs import JobSpec, command_job, scheduled
from fund_scheduler.jobs.overrides import apply_override
from fund_scheduler.jobs.registry import Registry, load_registry
from fund_scheduler.jobs.rows import job_rows, state_word
from fund_scheduler.jobs.triggers import (
    describe,
    format_duration,
    next_fire_times,
    parse_at,
    parse_duration,
    same_schedule,
    trigger_from_dict,
    trigger_to_dict,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("90s", 90), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("1d2h3m4s", 93784),
     (900, 900), (2.5, 2.5), ("600", 600), (" 15M ", 900), ("0.5s", 0.5)],
)  # fmt: skip
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["15x", "m", "", "1m1h", "-5", "0", 0, -1, True, None, "15 m", "inf", "nan"])
def test_bad_durations_name_the_value(bad) -> None:
    with pytest.raises(ValueError, match=repr(bad).replace("(", r"\(").replace(")", r"\)")):
        parse_duration(bad)


def test_durations_in_words() -> None:
    assert [format_duration(s) for s in (900, 90, 7200, 86400, 5400, 0.5, 3601)] == [
        "15m", "1m30s", "2h", "1d", "1h30m", "0.5s", "1h1s",
    ]  # fmt: skip


def test_at_with_and_without_offset() -> None:
    assert parse_at("2026-12-24T18:00:00+08:00") == datetime(2026, 12, 24, 10, tzinfo=UTC)
    assert parse_at("2026-12-24T18:00").tzinfo is None  # the job's timezone, decided by the spec
    given = datetime(2026, 12, 24, 18, tzinfo=SHANGHAI)
    assert parse_at(given) is given
    with pytest.raises(ValueError, match="'Christmas' is not an ISO 8601 time"):
        parse_at("Christmas")


# -- declarations --------------------------------------------------------------------------------


def test_decorators_take_interval_and_at() -> None:
    @scheduled(id="poll", name="Poll", interval="15m")
    def poll(ctx): ...

    @scheduled(id="once", name="Once", at="2026-12-24T18:00:00+08:00")
    def once(ctx): ...

    assert (poll.__job_spec__.interval, poll.__job_spec__.schedule) == (900.0, {})
    assert once.__job_spec__.at == datetime(2026, 12, 24, 18, tzinfo=timezone(timedelta(hours=8)))
    spec = command_job(id="export", name="Export", at=datetime(2026, 12, 31, 18), command=["true"])
    assert describe(spec.trigger(SHANGHAI)) == "once at 2026-12-31 18:00 +08:00"  # naive: the job's zone
    utc_spec = command_job(id="e2", name="E2", at="2026-12-31T18:00", timezone="UTC", command=["true"])
    assert describe(utc_spec.trigger(SHANGHAI)) == "once at 2026-12-31 18:00 +00:00"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"cron": "0 3 * * *", "interval": "15m"},
         "exactly one of cron, cron fields, interval, at (got cron, interval)"),
        ({"interval": "15m", "at": "2026-12-24T18:00"}, "(got interval, at)"),
        ({}, "(got none)"),
        ({"interval": "15x"}, "job 'bad': interval '15x' is not a duration"),
        ({"at": "soon"}, "job 'bad': at 'soon' is not an ISO 8601 time"),
        ({"cron": "0 3 * *"}, "job 'bad': cron expression '0 3 * *' has 4 fields"),
    ],
)  # fmt: skip
def test_declaration_errors_name_job_fields_and_value(given, says) -> None:
    with pytest.raises(ConfigError) as raised:
        command_job(id="bad", name="Bad", command=["true"], **given)
    assert "job 'bad'" in str(raised.value)
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("options", "says"),
    [({"calendar": "XSHG"}, "calendar applies to cron schedules only, not to interval"),
     ({"after": ("other",)}, "after applies to cron schedules only, not to interval")],
)  # fmt: skip
def test_calendar_and_after_are_for_cron_only(options, says) -> None:
    spec = command_job(id="poll", name="Poll", interval="15m", command=["true"], **options)
    with pytest.raises(ConfigError, match=f"job 'poll': {says}"):
        spec.trigger(SHANGHAI)


def test_a_spec_with_two_schedules_is_refused_by_trigger() -> None:
    spec = JobSpec(id="two", name="Two", schedule={"hour": "3"}, interval=60.0, command=("true",))
    with pytest.raises(
        ConfigError, match=r"job 'two': give exactly one of cron, interval, at \(got cron, interval\)"
    ):
        spec.trigger(SHANGHAI)


# -- jobs.toml -----------------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobs.toml"
    path.write_text(text)
    return path


def test_jobs_toml_defines_interval_and_one_off_jobs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[jobs.poll]
interval = "1h30m"
command = ["true"]

[jobs.seconds]
interval = 45
command = ["true"]

[jobs.xmas]
at = "2026-12-24T18:00:00+08:00"
command = ["true"]

[jobs.local]
at = 2026-12-24T18:00:00
timezone = "UTC"
command = ["true"]
""",
    )
    registry = load_registry([], path, SHANGHAI, environ={})
    assert registry.problems == []
    words = {job_id: describe(spec.trigger(SHANGHAI)) for job_id, spec in registry.specs.items()}
    assert words == {
        "local": "once at 2026-12-24 18:00 +00:00",
        "poll": "every 1h30m",
        "seconds": "every 45s",
        "xmas": "once at 2026-12-24 18:00 +08:00",
    }


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ('interval = "15x"', "jobs.toml [jobs.poll]: interval '15x' is not a duration such as 90s, 15m"),
        ('interval = -3', "jobs.toml [jobs.poll]: interval -3 is not a positive duration"),
        ('at = "next week"', "jobs.toml [jobs.poll]: at 'next week' is not an ISO 8601 time"),
        ('cron = "0 3 * * *"\ninterval = "15m"',
         "[jobs.poll]: give exactly one of cron (or cron fields), interval, at (got cron, interval)"),
        ('hour = "3"\nat = "2026-12-24T18:00"', "(got cron fields, at)"),
        ('interval = "15m"\ncalendar = "XSHG"', "job 'poll': calendar applies to cron schedules only"),
        ('timeout = 5', "a new job needs command and cron, interval or at"),
    ],
)  # fmt: skip
def test_bad_jobs_toml_entries_name_job_field_and_value(tmp_path: Path, entry: str, says: str) -> None:
    path = write(tmp_path, f'[jobs.poll]\ncommand = ["true"]\n{entry}\n')
    registry = load_registry([], path, SHANGHAI, environ={})
    assert len(registry.problems) == 1, registry.problems
    assert says in registry.problems[0]


def test_an_override_replaces_a_cron_schedule_by_an_interval_and_back() -> None:
    cron_spec = command_job(id="job", name="Job", cron="0 3 * * *", command=["true"])
    every = apply_override(cron_spec, "job", {"interval": "2h"}, SHANGHAI)
    assert (every.schedule, every.interval, every.at) == ({}, 7200.0, None)
    once = apply_override(every, "job", {"at": "2026-12-24T18:00:00+08:00"}, SHANGHAI)
    assert (once.schedule, once.interval) == ({}, None)
    back = apply_override(once, "job", {"cron": "0 4 * * *"}, SHANGHAI)
    assert (back.schedule["hour"], back.interval, back.at) == ("4", None, None)


# -- triggers, their words and their next fire times ----------------------------------------------


def test_interval_trigger_fires_every_interval_from_now() -> None:
    spec = command_job(id="poll", name="Poll", interval="15m", command=["true"])
    trigger = spec.trigger(SHANGHAI, NOW)
    assert isinstance(trigger, IntervalTrigger)
    assert describe(trigger) == "every 15m"
    assert next_fire_times(trigger, NOW, 3) == [NOW + timedelta(minutes=m) for m in (15, 30, 45)]


def test_one_off_fires_once_then_never() -> None:
    spec = command_job(id="xmas", name="Xmas", at="2026-12-24T18:00:00+08:00", command=["true"])
    trigger = spec.trigger(SHANGHAI)
    assert isinstance(trigger, DateTrigger)
    assert describe(trigger) == "once at 2026-12-24 18:00 +08:00"
    assert next_fire_times(trigger, NOW, 5) == [datetime(2026, 12, 24, 18, tzinfo=SHANGHAI)]
    assert next_fire_times(trigger, datetime(2026, 12, 25, tzinfo=SHANGHAI), 5) == []  # passed: none


def test_both_round_trip_as_json_and_compare_by_schedule() -> None:
    every = command_job(id="a", name="A", interval="15m", command=["true"]).trigger(SHANGHAI, NOW)
    later = command_job(id="a", name="A", interval="15m", command=["true"]).trigger(
        SHANGHAI, NOW + timedelta(days=1)
    )
    once = command_job(id="b", name="B", at="2026-12-24T18:00", command=["true"]).trigger(SHANGHAI)
    for trigger in (every, once):
        assert trigger_to_dict(trigger_from_dict(trigger_to_dict(trigger))) == trigger_to_dict(trigger)
    assert same_schedule(every, later)  # the anchor is not the schedule
    assert not same_schedule(
        every, command_job(id="a", name="A", interval="16m", command=["true"]).trigger(SHANGHAI)
    )
    assert same_schedule(trigger_from_dict(trigger_to_dict(once)), once)
    assert not same_schedule(
        once, command_job(id="b", name="B", at="2026-12-24T19:00", command=["true"]).trigger(SHANGHAI)
    )


def test_a_done_one_off_row_says_done_with_its_time() -> None:
    at = datetime(2026, 12, 24, 18, tzinfo=SHANGHAI)
    spec = command_job(id="xmas", name="Xmas", at="2026-12-24T18:00", command=["true"])
    registry = Registry(specs={"xmas": spec})
    (row,) = job_rows(registry, [], {}, SHANGHAI, {"xmas": {"at": at, "since": NOW}})
    assert (row["done_at"], row["next_run_time"], state_word(row)) == (at, None, "done")
    (other,) = job_rows(registry, [], {}, SHANGHAI, {"xmas": {"at": at - timedelta(days=1), "since": NOW}})
    assert (other["done_at"], state_word(other)) == (None, "active")  # a new time: a new one-off
