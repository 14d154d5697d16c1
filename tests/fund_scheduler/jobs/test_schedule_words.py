"""Schedules in words (fund_scheduler.jobs.schedule_words), in English and 简体中文.

Each covered cron form is checked twice: its words, and its reading (the sets the words are made
of) against the trigger's own next fire times, so a sentence can only say what the trigger does.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.combining import OrTrigger

from fund_common import i18n
from fund_scheduler.jobs import JobSpec
from fund_scheduler.jobs.registry import Registry, load_registry
from fund_scheduler.jobs.rows import job_rows
from fund_scheduler.jobs.schedule_words import CronReading, in_words, reading
from fund_scheduler.jobs.triggers import (
    build_cron,
    build_date,
    build_interval,
    crontab_to_fields,
    describe,
    next_fire_times,
    trigger_from_dict,
    trigger_to_dict,
)
from tests.support.bundled import BUNDLED

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 3, 10, 17, 23, tzinfo=UTC)


def words(trigger, language: str) -> str:
    with i18n.use(language):
        return in_words(trigger)


def cron(expr: str, zone: ZoneInfo = SHANGHAI, calendar: str | None = None):
    return build_cron(crontab_to_fields(expr), zone, calendar)


# crontab -> (English, 简体中文), all in Asia/Shanghai
CRON_WORDS = {
    "0 19 * * mon-fri": ("weekdays at 19:00 (Asia/Shanghai)", "工作日 19:00（北京时间）"),
    "30 20 * * 1-5": ("weekdays at 20:30 (Asia/Shanghai)", "工作日 20:30（北京时间）"),
    "0 2 * * *": ("every day at 02:00 (Asia/Shanghai)", "每天 02:00（北京时间）"),
    "0 2 * * sun": ("Sundays at 02:00 (Asia/Shanghai)", "每周日 02:00（北京时间）"),
    "0 2 * * 0": ("Sundays at 02:00 (Asia/Shanghai)", "每周日 02:00（北京时间）"),
    "0 9 * * 6,7": ("weekends at 09:00 (Asia/Shanghai)", "周末 09:00（北京时间）"),
    "0 9 * * sat,sun": ("weekends at 09:00 (Asia/Shanghai)", "周末 09:00（北京时间）"),
    "0 9 * * mon,wed": ("Mon, Wed at 09:00 (Asia/Shanghai)", "周一、周三 09:00（北京时间）"),
    "0 9 * * mon-thu": ("Mon–Thu at 09:00 (Asia/Shanghai)", "周一至周四 09:00（北京时间）"),
    "0 9 * * 0-6": ("every day at 09:00 (Asia/Shanghai)", "每天 09:00（北京时间）"),
    "0 9 1 * *": ("on day 1 of each month at 09:00 (Asia/Shanghai)", "每月1日 09:00（北京时间）"),
    "0 9 1,15 * *": ("on days 1, 15 of each month at 09:00 (Asia/Shanghai)", "每月1、15日 09:00（北京时间）"),
    "0 9 1-5 * *": ("on days 1–5 of each month at 09:00 (Asia/Shanghai)", "每月1至5日 09:00（北京时间）"),
    "0 9 1 1,4,7,10 *": (
        "on day 1 of Jan, Apr, Jul, Oct at 09:00 (Asia/Shanghai)",
        "1月、4月、7月、10月的1日 09:00（北京时间）",
    ),
    "0 9 * 1-3 *": ("every day in Jan–Mar at 09:00 (Asia/Shanghai)", "1月至3月的每天 09:00（北京时间）"),
    "0 9 * 12 mon-fri": ("weekdays in Dec at 09:00 (Asia/Shanghai)", "12月的工作日 09:00（北京时间）"),
    "0 9,15 * * *": ("every day at 09:00, 15:00 (Asia/Shanghai)", "每天 09:00、15:00（北京时间）"),
    "*/30 9 * * *": ("every day at 09:00, 09:30 (Asia/Shanghai)", "每天 09:00、09:30（北京时间）"),
    "0 */4 * * *": (
        "every day at 00:00, 04:00, 08:00, 12:00, 16:00, 20:00 (Asia/Shanghai)",
        "每天 00:00、04:00、08:00、12:00、16:00、20:00（北京时间）",
    ),
    "* * * * *": ("every minute (Asia/Shanghai)", "每分钟（北京时间）"),
    "*/10 * * * *": ("every 10 minutes (Asia/Shanghai)", "每10分钟（北京时间）"),
    "*/10 9 * * *": ("every 10 minutes, 09:00–09:50 (Asia/Shanghai)", "09:00–09:50 每10分钟（北京时间）"),
    "*/5 9-15 * * mon-fri": (
        "weekdays every 5 minutes, 09:00–15:55 (Asia/Shanghai)",
        "工作日 09:00–15:55 每5分钟（北京时间）",
    ),
    "*/15 9-11,13-14 * * *": (
        "every 15 minutes, 09:00–11:45, 13:00–14:45 (Asia/Shanghai)",
        "09:00–11:45、13:00–14:45 每15分钟（北京时间）",
    ),
    "5-55/10 * * * *": ("every 10 minutes, 00:05–23:55 (Asia/Shanghai)", "00:05–23:55 每10分钟（北京时间）"),
    "0 * * * *": ("every hour (Asia/Shanghai)", "每小时（北京时间）"),
    "30 * * * *": ("every hour at minute 30 (Asia/Shanghai)", "每小时第30分（北京时间）"),
    "0 9-17 * * *": ("every hour, 09:00–17:00 (Asia/Shanghai)", "09:00–17:00 每小时（北京时间）"),
    "0 7-9,14-17 * * *": (
        "every hour, 07:00–09:00, 14:00–17:00 (Asia/Shanghai)",
        "07:00–09:00、14:00–17:00 每小时（北京时间）",
    ),
    "0 */2 * * *": ("every 2 hours, 00:00–22:00 (Asia/Shanghai)", "00:00–22:00 每2小时（北京时间）"),
    "15 1-23/3 * * mon": (
        "Mondays every 3 hours, 01:15–22:15 (Asia/Shanghai)",
        "每周一 01:15–22:15 每3小时（北京时间）",
    ),
}

# forms the words cannot say exactly: the cron fields stay (zone and calendar still in words)
FALLBACKS = {
    "*/7 * * * *": ("cron */7 * * * * (Asia/Shanghai)", "cron */7 * * * *（北京时间）"),
    "0 9 1 * mon": ("cron 0 9 1 * mon (Asia/Shanghai)", "cron 0 9 1 * mon（北京时间）"),
    "0-20/10 * * * *": ("cron 0-20/10 * * * * (Asia/Shanghai)", "cron 0-20/10 * * * *（北京时间）"),
}


@pytest.mark.parametrize("expr", sorted(CRON_WORDS))
def test_cron_forms_in_both_languages(expr: str) -> None:
    english, chinese = CRON_WORDS[expr]
    assert words(cron(expr), "en") == english
    assert words(cron(expr), "zh_CN") == chinese


@pytest.mark.parametrize("expr", sorted(FALLBACKS))
def test_what_the_words_cannot_say_keeps_the_cron_fields(expr: str) -> None:
    english, chinese = FALLBACKS[expr]
    assert words(cron(expr), "en") == english
    assert words(cron(expr), "zh_CN") == chinese


def test_other_fields_fall_back_to_the_cron_fields() -> None:
    last_day = build_cron({"day": "last", "hour": "9"}, SHANGHAI)
    assert reading(last_day) is None
    assert words(last_day, "en") == "cron 0 9 last * * (Asia/Shanghai)"
    second_week = build_cron({"week": "2", "hour": "9"}, SHANGHAI)
    assert words(second_week, "zh_CN") == "cron 0 9 * * * week=2（北京时间）"
    seconds_hourly = build_cron({"second": "30", "minute": "0"}, SHANGHAI)
    assert words(seconds_hourly, "en") == "cron 0 * * * * second=30 (Asia/Shanghai)"


def test_seconds_when_not_zero() -> None:
    at = build_cron({"second": "30", "minute": "0", "hour": "19"}, SHANGHAI)
    assert words(at, "en") == "every day at 19:00:30 (Asia/Shanghai)"
    assert words(at, "zh_CN") == "每天 19:00:30（北京时间）"
    every = build_cron({"second": "*/15", "minute": "*", "hour": "*"}, SHANGHAI)
    assert words(every, "en") == "every 15 seconds (Asia/Shanghai)"
    assert words(every, "zh_CN") == "每15秒（北京时间）"


def test_calendars_in_words() -> None:
    xshg, xshe = cron("0 19 * * mon-fri", calendar="XSHG"), cron("0 19 * * mon-fri", calendar="XSHE")
    assert words(xshg, "en") == "weekdays at 19:00 (Asia/Shanghai), XSHG sessions"
    assert words(xshg, "zh_CN") == "工作日 19:00（北京时间），上交所交易日"
    assert words(xshe, "en") == "weekdays at 19:00 (Asia/Shanghai), XSHE sessions"
    assert words(xshe, "zh_CN") == "工作日 19:00（北京时间），深交所交易日"
    xnys = cron("0 16 * * *", NEW_YORK, "XNYS")
    assert words(xnys, "en") == "every day at 16:00 (America/New_York), XNYS sessions"
    assert words(xnys, "zh_CN") == "每天 16:00（America/New_York），XNYS 交易日"
    fallback = build_cron({"day": "last", "hour": "9"}, SHANGHAI, "XSHG")
    assert words(fallback, "zh_CN") == "cron 0 9 last * *（北京时间），上交所交易日"


def test_a_calendar_trigger_restored_from_the_store_keeps_its_words() -> None:
    trigger = cron("30 19 * * mon-fri", calendar="XSHG")
    restored = trigger_from_dict(trigger_to_dict(trigger))
    assert words(restored, "zh_CN") == words(trigger, "zh_CN") == "工作日 19:30（北京时间），上交所交易日"


def test_other_zones_by_name() -> None:
    assert words(cron("0 2 * * sun", ZoneInfo("UTC")), "en") == "Sundays at 02:00 (UTC)"
    assert words(cron("0 2 * * sun", ZoneInfo("UTC")), "zh_CN") == "每周日 02:00（UTC）"
    assert words(cron("0 9 * * mon-fri", TOKYO), "en") == "weekdays at 09:00 (Asia/Tokyo)"
    assert words(cron("0 9 * * mon-fri", TOKYO), "zh_CN") == "工作日 09:00（Asia/Tokyo）"
    assert words(cron("*/10 * * * *", NEW_YORK), "zh_CN") == "每10分钟（America/New_York）"


@pytest.mark.parametrize(
    ("seconds", "english", "chinese"),
    [
        (600, "every 10 minutes", "每10分钟"),
        (60, "every minute", "每分钟"),
        (3600, "every hour", "每小时"),
        (7200, "every 2 hours", "每2小时"),
        (5400, "every 1 hour 30 minutes", "每1小时30分钟"),
        (86400, "every day", "每天"),
        (3 * 86400, "every 3 days", "每3天"),
        (45, "every 45 seconds", "每45秒"),
        (90.5, "every 1 minute 30.5 seconds", "每1分钟30.5秒"),
    ],
)
def test_intervals(seconds: float, english: str, chinese: str) -> None:
    trigger = build_interval(seconds, SHANGHAI)
    assert words(trigger, "en") == english
    assert words(trigger, "zh_CN") == chinese


def test_one_offs() -> None:
    once = build_date(datetime(2026, 12, 5, 19, 0), SHANGHAI)
    assert words(once, "en") == "once at 2026-12-05 19:00 (Asia/Shanghai)"
    assert words(once, "zh_CN") == "一次：2026-12-05 19:00（北京时间）"
    utc = build_date(datetime(2026, 12, 5, 11, 0, 30, tzinfo=UTC), SHANGHAI)
    assert words(utc, "en") == "once at 2026-12-05 11:00:30 (UTC)"
    restored = trigger_from_dict(trigger_to_dict(once))  # the store keeps the offset, not the zone
    assert words(restored, "zh_CN") == "一次：2026-12-05 19:00（UTC+08:00）"


def test_any_other_trigger_is_described() -> None:
    other = OrTrigger([cron("0 9 * * *"), cron("0 18 * * *")])
    assert words(other, "zh_CN") == describe(other)


def test_the_bundled_jobs_in_words(tmp_path: Path) -> None:
    registry = load_registry(["jobs"], tmp_path / "none.toml", SHANGHAI, environ={})
    assert set(registry.specs) == set(BUNDLED)
    english = {job_id: words(spec.trigger(SHANGHAI), "en") for job_id, spec in registry.specs.items()}
    chinese = {job_id: words(spec.trigger(SHANGHAI), "zh_CN") for job_id, spec in registry.specs.items()}
    assert english == {
        "daily_collection": "weekdays at 19:00 (Asia/Shanghai), XSHG sessions",
        "daily_validation": "weekdays at 19:30 (Asia/Shanghai), XSHG sessions",
        "daily_metrics": "weekdays at 20:30 (Asia/Shanghai), XSHG sessions",
        "weekly_full_calc": "Sundays at 02:00 (Asia/Shanghai)",
        "weekly_pipeline": "Sundays at 02:00 (UTC)",
        "cleanup_old_job_executions": "every day at 02:00 (Asia/Shanghai)",
        "refresh_calendars": "every day at 06:00 (Asia/Shanghai)",
        "fund_nav_freshness": "every 10 minutes (Asia/Shanghai)",
        "fund_metrics_freshness": "every 10 minutes (Asia/Shanghai)",
    }
    assert chinese == {
        "daily_collection": "工作日 19:00（北京时间），上交所交易日",
        "daily_validation": "工作日 19:30（北京时间），上交所交易日",
        "daily_metrics": "工作日 20:30（北京时间），上交所交易日",
        "weekly_full_calc": "每周日 02:00（北京时间）",
        "weekly_pipeline": "每周日 02:00（UTC）",
        "cleanup_old_job_executions": "每天 02:00（北京时间）",
        "refresh_calendars": "每天 06:00（北京时间）",
        "fund_nav_freshness": "每10分钟（北京时间）",
        "fund_metrics_freshness": "每10分钟（北京时间）",
    }


# -- the words say what the trigger does -----------------------------------------------------------


def fires_by_reading(read: CronReading, zone: ZoneInfo, now: datetime, count: int) -> list[datetime]:
    """The first ``count`` times after ``now`` the reading names, day by day (a DST-free zone)."""
    times = sorted(itertools.product(read.hours, read.minutes, read.seconds))
    found: list[datetime] = []
    day = now.astimezone(zone).date()
    for _ in range(366 * 16):
        if _matches(read, day):
            for hour, minute, second in times:
                moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
                if moment > now:
                    found.append(moment)
                    if len(found) == count:
                        return found
        day += timedelta(days=1)
    return found


def _matches(read: CronReading, day: date) -> bool:
    return (
        (read.months is None or day.month in read.months)
        and (read.days is None or day.day in read.days)
        and (read.weekdays is None or day.weekday() in read.weekdays)
    )


@pytest.mark.parametrize("zone", [SHANGHAI, TOKYO, ZoneInfo("UTC")], ids=str)
@pytest.mark.parametrize("expr", sorted(CRON_WORDS))
def test_each_covered_form_reads_as_the_trigger_fires(expr: str, zone: ZoneInfo) -> None:
    trigger = cron(expr, zone)
    read = reading(trigger)
    assert read is not None
    expected = next_fire_times(trigger, NOW, 60)
    assert len(expected) == 60
    assert fires_by_reading(read, zone, NOW, 60) == expected


def test_seconds_forms_read_as_the_trigger_fires() -> None:
    for fields in ({"second": "30", "minute": "0", "hour": "19"}, {"second": "*/15", "minute": "*"}):
        trigger = build_cron(fields, SHANGHAI)
        read = reading(trigger)
        assert read is not None
        assert fires_by_reading(read, SHANGHAI, NOW, 40) == next_fire_times(trigger, NOW, 40)


@pytest.mark.parametrize(
    ("expr", "step", "first", "last"),
    [
        ("*/10 * * * *", 600, "00:00", "23:50"),
        ("*/5 9-15 * * mon-fri", 300, "09:00", "15:55"),
        ("5-55/10 * * * *", 600, "00:05", "23:55"),
        ("0 */2 * * *", 7200, "00:00", "22:00"),
        ("0 9-17 * * *", 3600, "09:00", "17:00"),
    ],
)
def test_a_step_and_its_window_are_the_fire_times(expr: str, step: int, first: str, last: str) -> None:
    """Within a day the fire times are ``step`` apart, from ``first`` to ``last`` as the words say."""
    monday = datetime(2026, 12, 6, 15, 59, 59, tzinfo=UTC)  # a second before Mon 00:00 in Shanghai
    fires = next_fire_times(cron(expr), monday, 500)
    by_day: dict[date, list[datetime]] = {}
    for fire in fires:
        by_day.setdefault(fire.date(), []).append(fire)
    whole_days = list(by_day.values())[:-1]
    assert whole_days
    for day in whole_days:
        assert (day[0].strftime("%H:%M"), day[-1].strftime("%H:%M")) == (first, last)
        assert {(b - a).total_seconds() for a, b in itertools.pairwise(day)} == {step}


# -- the job rows ------------------------------------------------------------------------------------


def test_job_rows_carry_the_schedule_in_the_readers_language() -> None:
    spec = JobSpec(
        id="collect",
        name="Collect",
        schedule=crontab_to_fields("0 19 * * mon-fri"),
        calendar="XSHG",
        command=("true",),
    )
    registry = Registry({"collect": spec})
    stored = SimpleNamespace(
        id="ghost",
        name="Ghost",
        trigger=build_cron(crontab_to_fields("*/10 * * * *"), SHANGHAI),
        next_run_time=None,
        max_instances=1,
    )
    with i18n.use("zh_CN"):
        rows = {r["id"]: r for r in job_rows(registry, [stored], {}, SHANGHAI)}
    assert rows["collect"]["schedule"] == "工作日 19:00（北京时间），上交所交易日"
    assert rows["collect"]["trigger"] == "cron 0 19 * * mon-fri (Asia/Shanghai), XSHG sessions"
    assert rows["ghost"]["schedule"] == "每10分钟（北京时间）"
    with i18n.use("en"):
        rows = {r["id"]: r for r in job_rows(registry, [stored], {}, SHANGHAI)}
    assert rows["collect"]["schedule"] == "weekdays at 19:00 (Asia/Shanghai), XSHG sessions"
    assert rows["ghost"]["schedule"] == "every 10 minutes (Asia/Shanghai)"
