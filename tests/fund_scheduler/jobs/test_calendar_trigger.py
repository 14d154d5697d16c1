"""Cron triggers on an exchange calendar: closed days skipped (with the reason), the weekday
fallback beyond the known range or without a calendar, JSON round trips, descriptions."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from fund_common.calendars.model import SessionCalendar
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.jobs.triggers import (
    CalendarCronTrigger,
    WallClockCronTrigger,
    build_cron,
    crontab_to_fields,
    describe,
    next_fire_times,
    trigger_from_dict,
    trigger_to_dict,
)
from tests.support.calendars import in_book, xshg_2026

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 19, minute: int = 0) -> datetime:
    return datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=SHANGHAI)


def xshg(cron: str = "0 19 * * 1-5") -> CalendarCronTrigger:
    trigger = build_cron(crontab_to_fields(cron), SHANGHAI, "XSHG")
    assert isinstance(trigger, CalendarCronTrigger)
    return trigger


def test_national_day_is_skipped_and_the_reason_listed() -> None:
    trigger = xshg()
    with in_book(xshg_2026()):
        fires = next_fire_times(trigger, at("2026-09-29", 20), 3)
        skipped = trigger.skipped_between(at("2026-09-29", 20), fires[-1])
    assert fires == [at("2026-09-30"), at("2026-10-08"), at("2026-10-09")]
    assert [(fire.date().isoformat(), why) for fire, why in skipped] == [
        (day, "XSHG closed: National Day") for day in ("2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06")
    ] + [("2026-10-07", "XSHG closed: National Day")]


def test_the_local_date_decides_not_the_utc_one() -> None:
    # 07:00 in Shanghai on 1 October is 23:00 UTC on 30 September: a closed day all the same.
    trigger = xshg("0 7 * * *")
    with in_book(xshg_2026()):
        assert trigger.get_next_fire_time(None, at("2026-09-30", 8)) == at("2026-10-08", 7)


def test_a_frequent_cron_jumps_over_the_closed_days() -> None:
    trigger = xshg("*/5 * * * *")
    with in_book(xshg_2026()):
        assert trigger.get_next_fire_time(None, at("2026-09-30", 23, 57)) == at("2026-10-08", 0, 0)


def test_spring_festival_2027_from_the_operator_overlay() -> None:
    spring = {f"2027-02-{d:02d}": "Spring Festival" for d in range(8, 13)}
    calendar = xshg_2026(**spring)
    known = SessionCalendar("XSHG", calendar.first, dt.date(2027, 12, 31), calendar.closed, source="overlay")
    with in_book(known):
        fires = next_fire_times(xshg(), at("2027-02-05", 20), 2)
    assert fires == [at("2027-02-15"), at("2027-02-16")]


def test_beyond_the_known_range_weekdays_are_sessions_with_one_warning_a_day(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="scheduler.calendars")
    today = [datetime(2026, 12, 31, tzinfo=UTC)]
    with in_book(xshg_2026(), clock=lambda: today[0]):
        fires = next_fire_times(xshg(), at("2026-12-31", 20), 3)
        next_fire_times(xshg(), at("2026-12-31", 20), 3)
        today[0] += dt.timedelta(days=1)
        next_fire_times(xshg(), at("2026-12-31", 20), 1)
    assert fires == [at("2027-01-01"), at("2027-01-04"), at("2027-01-05")]
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        "calendar XSHG known until 2026-12-31: 2027-01-01 taken as a session (weekday fallback)",
        "calendar XSHG known until 2026-12-31: 2027-01-01 taken as a session (weekday fallback)",
    ]


def test_a_calendar_not_in_the_book_is_weekdays_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="scheduler.calendars")
    with in_book({}):
        fires = next_fire_times(xshg(), at("2026-09-30", 20), 2)
    assert fires == [at("2026-10-01"), at("2026-10-02")]
    assert [r.getMessage() for r in caplog.records] == [
        "calendar XSHG is not loaded: weekdays are taken for sessions"
    ]


def test_a_cron_that_meets_no_session_fires_no_more(caplog: pytest.LogCaptureFixture) -> None:
    saturdays = xshg("0 10 * * sat")  # XSHG has no weekend session in 2026, nor on weekdays beyond
    with in_book(xshg_2026()):
        assert saturdays.get_next_fire_time(None, at("2026-09-30")) is None
    assert "meets no session in 800 days" in caplog.text


def test_round_trip_keeps_the_calendar_and_old_rows_load_without_one() -> None:
    trigger = xshg()
    data = trigger_to_dict(trigger)
    assert data["calendar"] == "XSHG"
    restored = trigger_from_dict(json.loads(json.dumps(data)))
    assert isinstance(restored, CalendarCronTrigger)
    assert restored.calendar == "XSHG"
    assert trigger_to_dict(restored) == data
    plain = {key: value for key, value in data.items() if key != "calendar"}
    assert type(trigger_from_dict(plain)) is WallClockCronTrigger
    assert "calendar" not in trigger_to_dict(trigger_from_dict(plain))
    assert copy.copy(trigger).calendar == "XSHG"  # next_fire_times copies a jittered trigger


def test_a_bad_calendar_name_in_a_stored_row_is_refused() -> None:
    data = trigger_to_dict(xshg()) | {"calendar": "no such; calendar"}
    with pytest.raises(ValueError, match="calendar 'no such; calendar' is not an exchange name"):
        trigger_from_dict(data)


def test_describe_names_the_sessions_and_the_spec_passes_its_calendar() -> None:
    assert describe(xshg()) == "cron 0 19 * * mon,tue,wed,thu,fri (Asia/Shanghai), XSHG sessions"
    spec = JobSpec(
        id="daily", name="daily", schedule={"hour": "19", "minute": "0"}, func="m:f", calendar="XSHG"
    )
    trigger = spec.trigger(SHANGHAI)
    assert isinstance(trigger, CalendarCronTrigger)
    assert trigger.calendar == "XSHG"
    assert (
        type(JobSpec(id="d", name="d", schedule={"hour": "19"}, func="m:f").trigger(SHANGHAI))
        is WallClockCronTrigger
    )
