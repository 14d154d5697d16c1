"""Triggers: crontab day-of-week, JSON round trips, next fire times (DST included), descriptions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from fund_scheduler.jobs.triggers import (
    after,
    build_cron,
    crontab_to_fields,
    describe,
    next_fire_times,
    trigger_from_dict,
    trigger_to_dict,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("dow", "expected"),
    [
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("5-7", "fri,sat,sun"),
        ("0-7", "sun,mon,tue,wed,thu,fri,sat"),
        ("1,3", "mon,wed"),
        ("0,7", "sun"),
        ("*/2", "sun,tue,thu,sat"),
        ("1-5/2", "mon,wed,fri"),
        ("*", "*"),
        ("mon-fri", "mon-fri"),
        ("sun", "sun"),
        ("SAT", "SAT"),
    ],
)
def test_crontab_day_of_week(dow: str, expected: str) -> None:
    fields = crontab_to_fields(f"0 19 * * {dow}")
    assert fields == {"minute": "0", "hour": "19", "day": "*", "month": "*", "day_of_week": expected}


def test_crontab_sunday_really_is_sunday() -> None:
    # APScheduler's own from_crontab reads 0 as Monday; ours follows crontab(5).
    friday = datetime(2026, 5, 1, 12, tzinfo=SHANGHAI)
    for dow in ("0", "7"):
        trigger = build_cron(crontab_to_fields(f"0 2 * * {dow}"), SHANGHAI)
        fire = trigger.get_next_fire_time(None, friday)
        assert fire == datetime(2026, 5, 3, 2, tzinfo=SHANGHAI)
        assert fire.strftime("%A") == "Sunday"


@pytest.mark.parametrize("expr", ["0 19 * *", "0 19 * * * *", ""])
def test_crontab_needs_five_fields(expr: str) -> None:
    with pytest.raises(ValueError, match="expected 5"):
        crontab_to_fields(expr)


def test_crontab_backwards_day_of_week_range_is_refused() -> None:
    with pytest.raises(ValueError, match="'6-0'"):
        crontab_to_fields("0 19 * * 6-0")


def test_crontab_out_of_range_day_is_left_to_apscheduler() -> None:
    fields = crontab_to_fields("0 19 * * 8")
    assert fields["day_of_week"] == "8"
    with pytest.raises(ValueError):
        build_cron(fields, SHANGHAI)


def test_build_cron_refuses_unknown_field() -> None:
    with pytest.raises(ValueError, match="unknown cron field"):
        build_cron({"hour": "1", "hours": "2"}, SHANGHAI)


NOW = datetime(2026, 5, 6, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "trigger",
    [
        build_cron(crontab_to_fields("0 19 * * 1-5"), SHANGHAI),
        CronTrigger(
            hour="*/6",
            minute="5",
            second="30",
            timezone=NEW_YORK,
            start_date=datetime(2026, 1, 1, tzinfo=NEW_YORK),
            end_date=datetime(2027, 1, 1, tzinfo=NEW_YORK),
            jitter=10,
        ),
        IntervalTrigger(minutes=90, timezone=SHANGHAI, start_date=datetime(2026, 5, 1, 8, tzinfo=SHANGHAI)),
        DateTrigger(run_date=datetime(2026, 6, 1, 9, 30, tzinfo=SHANGHAI)),
    ],
    ids=["cron", "cron-full", "interval", "date"],
)
def test_round_trip_keeps_dict_and_fire_times(trigger) -> None:
    data = trigger_to_dict(trigger)
    text = json.dumps(data)  # plain JSON, nothing pickled
    restored = trigger_from_dict(json.loads(text))
    assert isinstance(restored, type(trigger))  # a plain CronTrigger comes back with the DST rule
    assert trigger_to_dict(restored) == data
    original = [t.astimezone(UTC) for t in next_fire_times(trigger, NOW, 5)]
    assert original
    assert [t.astimezone(UTC) for t in next_fire_times(restored, NOW, 5)] == original


def test_extra_trigger_keys_are_ignored() -> None:
    data = {"type": "cron", "fields": {"hour": "1"}, "timezone": "UTC", "__class__": "os:system"}
    assert trigger_to_dict(trigger_from_dict(data))["fields"]["hour"] == "1"


def test_next_fire_times_leave_out_jitter() -> None:
    trigger = CronTrigger(hour="3", minute="0", timezone=UTC, jitter=600)
    assert next_fire_times(trigger, NOW, 2) == [
        datetime(2026, 5, 7, 3, tzinfo=UTC),
        datetime(2026, 5, 8, 3, tzinfo=UTC),
    ]
    assert trigger.jitter == 600  # the caller's trigger is untouched


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"type": "calendarinterval", "days": 1}, "not allowed"),
        ({"type": "apscheduler.triggers.cron:CronTrigger"}, "not allowed"),
        ({"type": None}, "not allowed"),
        ({}, "not allowed"),
        (["cron"], "not an object"),
        ({"type": "cron", "fields": {"hour": "1", "evil": "x"}, "timezone": "UTC"}, "unknown"),
        ({"type": "cron", "fields": "0 1 * * *", "timezone": "UTC"}, "unknown or missing"),
        ({"type": "interval", "seconds": 0, "timezone": "UTC"}, "positive"),
        ({"type": "interval", "seconds": 60, "timezone": "UTC", "jitter": "1"}, "jitter"),
        ({"type": "date", "run_date": "2026-06-01T09:30:00"}, "no timezone"),
    ],
)
def test_disallowed_or_malformed_trigger_is_refused(data, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        trigger_from_dict(data)


def test_unknown_trigger_class_cannot_be_serialised() -> None:
    from apscheduler.triggers.combining import OrTrigger

    with pytest.raises(TypeError, match="OrTrigger"):
        trigger_to_dict(OrTrigger([IntervalTrigger(seconds=5)]))


def test_next_fire_times_are_strictly_after_now() -> None:
    trigger = build_cron(crontab_to_fields("0 19 * * mon-fri"), SHANGHAI)
    now = datetime(2026, 5, 8, 19, 0, tzinfo=SHANGHAI)  # a Friday, exactly at a fire time
    assert next_fire_times(trigger, now, 3) == [
        datetime(2026, 5, 11, 19, tzinfo=SHANGHAI),
        datetime(2026, 5, 12, 19, tzinfo=SHANGHAI),
        datetime(2026, 5, 13, 19, tzinfo=SHANGHAI),
    ]


def test_next_fire_times_stop_when_the_trigger_ends() -> None:
    once = DateTrigger(run_date=datetime(2026, 6, 1, 9, tzinfo=SHANGHAI))
    assert next_fire_times(once, NOW, 3) == [datetime(2026, 6, 1, 9, tzinfo=SHANGHAI)]
    assert next_fire_times(once, datetime(2026, 7, 1, tzinfo=UTC), 3) == []  # already past
    ending = CronTrigger(hour="3", timezone=UTC, end_date=datetime(2026, 5, 8, 12, tzinfo=UTC))
    assert next_fire_times(ending, NOW, 5) == [
        datetime(2026, 5, 7, 3, tzinfo=UTC),
        datetime(2026, 5, 8, 3, tzinfo=UTC),
    ]


def utc(times: list[datetime]) -> list[datetime]:
    return [t.astimezone(UTC) for t in times]


def test_dst_spring_forward_nonexistent_time_runs_once() -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT in New York: 02:30 does not exist that day.
    trigger = build_cron(crontab_to_fields("30 2 * * *"), NEW_YORK)
    times = next_fire_times(trigger, datetime(2026, 3, 6, 12, tzinfo=NEW_YORK), 4)
    assert utc(times) == [
        datetime(2026, 3, 7, 7, 30, tzinfo=UTC),  # 02:30 EST
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # "02:30 EST" = 03:30 EDT: once, not skipped
        datetime(2026, 3, 9, 6, 30, tzinfo=UTC),  # 02:30 EDT
        datetime(2026, 3, 10, 6, 30, tzinfo=UTC),
    ]
    assert [t.astimezone(UTC).astimezone(NEW_YORK).strftime("%d %H:%M") for t in times] == [
        "07 02:30",
        "08 03:30",
        "09 02:30",
        "10 02:30",
    ]


def test_dst_fall_back_0230_runs_once() -> None:
    # 2026-11-01 02:00 EDT -> 01:00 EST: 02:30 happens once (only 01:00-02:00 repeats).
    trigger = build_cron(crontab_to_fields("30 2 * * *"), NEW_YORK)
    times = next_fire_times(trigger, datetime(2026, 10, 30, 12, tzinfo=NEW_YORK), 4)
    assert utc(times) == [
        datetime(2026, 10, 31, 6, 30, tzinfo=UTC),  # 02:30 EDT
        datetime(2026, 11, 1, 7, 30, tzinfo=UTC),  # 02:30 EST, once
        datetime(2026, 11, 2, 7, 30, tzinfo=UTC),
        datetime(2026, 11, 3, 7, 30, tzinfo=UTC),
    ]


def test_dst_fall_back_repeated_wall_time_runs_once() -> None:
    # 01:30 occurs twice on 2026-11-01 in New York: it fires once, at 01:30 EDT, as cron does.
    trigger = build_cron(crontab_to_fields("30 1 * * *"), NEW_YORK)
    times = next_fire_times(trigger, datetime(2026, 10, 31, 12, tzinfo=NEW_YORK), 3)
    assert utc(times) == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),  # not 01:30 EST on the 1st
        datetime(2026, 11, 3, 6, 30, tzinfo=UTC),
    ]
    # Asked from inside the repeated hour (01:10 EST), the repeated 01:30 does not come back.
    inside = datetime(2026, 11, 1, 1, 10, fold=1, tzinfo=NEW_YORK)
    assert utc(next_fire_times(trigger, inside, 1)) == [datetime(2026, 11, 2, 6, 30, tzinfo=UTC)]
    assert trigger.get_next_fire_time(times[0], after(times[0])) == times[1]


def test_dst_fall_back_minutes_of_a_fixed_hour_fire_once_each() -> None:
    trigger = build_cron(crontab_to_fields("*/15 1 * * *"), NEW_YORK)
    times = next_fire_times(trigger, datetime(2026, 11, 1, tzinfo=NEW_YORK), 5)
    assert [t.astimezone(NEW_YORK).strftime("%d %H:%M %Z") for t in times] == [
        "01 01:00 EDT",
        "01 01:15 EDT",
        "01 01:30 EDT",
        "01 01:45 EDT",
        "02 01:00 EST",  # the repeated 01:00-01:45 EST are skipped
    ]


def test_dst_fall_back_every_hour_job_fires_in_every_real_hour() -> None:
    trigger = build_cron(crontab_to_fields("0 * * * *"), NEW_YORK)
    times = next_fire_times(trigger, datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK), 3)
    assert utc(times) == [
        datetime(2026, 11, 1, 5, tzinfo=UTC),  # 01:00 EDT
        datetime(2026, 11, 1, 6, tzinfo=UTC),  # 01:00 EST: an hour later, fires again
        datetime(2026, 11, 1, 7, tzinfo=UTC),  # 02:00 EST
    ]


def test_a_cron_trigger_stored_in_the_old_form_loads_with_the_dst_rule() -> None:
    stored = {
        "type": "cron",
        "fields": {"minute": "30", "hour": "1", "day": "*", "month": "*", "day_of_week": "*"},
        "timezone": "America/New_York",
        "start_date": None,
        "end_date": None,
        "jitter": None,
    }
    trigger = trigger_from_dict(json.loads(json.dumps(stored)))
    times = next_fire_times(trigger, datetime(2026, 10, 31, 12, tzinfo=NEW_YORK), 2)
    assert utc(times) == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 2, 6, 30, tzinfo=UTC)]
    assert trigger_to_dict(trigger_from_dict(trigger_to_dict(trigger))) == trigger_to_dict(trigger)


def test_next_fire_times_same_from_any_now_zone() -> None:
    trigger = build_cron(crontab_to_fields("30 1 * * *"), NEW_YORK)
    local = datetime(2026, 10, 31, 12, tzinfo=NEW_YORK)
    assert utc(next_fire_times(trigger, local, 4)) == utc(next_fire_times(trigger, local.astimezone(UTC), 4))


def test_interval_next_fire_times() -> None:
    start = datetime(2026, 5, 6, 10, tzinfo=UTC)
    trigger = IntervalTrigger(minutes=30, start_date=start, timezone=UTC)
    assert next_fire_times(trigger, start, 3) == [start + timedelta(minutes=30 * i) for i in (1, 2, 3)]


def test_describe() -> None:
    assert describe(build_cron(crontab_to_fields("0 19 * * mon-fri"), SHANGHAI)) == (
        "cron 0 19 * * mon-fri (Asia/Shanghai)"
    )
    assert describe(build_cron(crontab_to_fields("0 2 * * 0"), ZoneInfo("UTC"))) == "cron 0 2 * * sun (UTC)"
    assert describe(CronTrigger(hour="1", minute="0", second="15", timezone=UTC)) == (
        "cron 0 1 * * * second=15 (UTC)"
    )
    assert describe(CronTrigger(year="2027", hour="1", timezone=UTC)) == "cron 0 1 * * * year=2027 (UTC)"
    assert describe(IntervalTrigger(minutes=90, timezone=SHANGHAI)) == "every 1h30m"
    run = datetime(2026, 6, 1, 9, 30, tzinfo=SHANGHAI)
    assert describe(DateTrigger(run_date=run)) == "once at 2026-06-01 09:30 +08:00"


def test_equal_cron_definitions_share_one_compiled_trigger_built_or_restored() -> None:
    shanghai, utc = ZoneInfo("Asia/Shanghai"), ZoneInfo("UTC")
    fields = crontab_to_fields("0 19 * * mon-fri")
    one = build_cron(fields, shanghai)
    assert build_cron(dict(fields), shanghai) is one  # compiled once
    stored = trigger_to_dict(one)
    restored = trigger_from_dict(stored)  # every field spelt out: its own instance, once
    assert trigger_from_dict(json.loads(json.dumps(stored))) is restored  # the next job's restore
    assert trigger_to_dict(restored) == stored
    assert build_cron(fields, utc) is not one and build_cron(fields, shanghai, "XSHG") is not one
    assert build_cron(crontab_to_fields("0 20 * * mon-fri"), shanghai) is not one
