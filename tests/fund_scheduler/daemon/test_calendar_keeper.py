"""The daemon's calendar keeper: the `calendars refresh` child at start (an unknown name is a
warning, the others are stored), the book loaded from the table and the operator file, reloaded
when the table changes, and a known range ending soon reported and alerted once a day. Real
SQLite, real child processes, an injected clock."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fund_common.calendars import SessionCalendar
from fund_common.calendars.cache import keep
from fund_common.calendars.library import library_version
from fund_common.calendars.store import read_all, save
from fund_scheduler.alerts import Notifier, WebhookChannel
from fund_scheduler.daemon.calendar_keeper import CalendarKeeper
from fund_scheduler.jobs.calendars import BOOK
from fund_scheduler.jobs.registry import load_registry
from fund_scheduler.settings import Settings
from tests.support.calendars import in_book, xshg_2026
from tests.support.harness import ISOLATED_PREFIXES
from tests.support.inprocess import InProcessDaemon
from tests.support.schema import scheduler_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime(2026, 12, 3, 9, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.wall = TODAY
        self.mono = 0.0

    def next_day(self) -> None:
        self.wall += timedelta(days=1)
        self.mono += 86400


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Settings, object]]:
    url = f"sqlite:///{tmp_path}/s.db"
    engine = scheduler_db(url)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
    environ.pop("DATABASE_URL", None)
    environ.update(
        SCHEDULER_HOME=str(tmp_path),
        DATABASE_URL=url,
        SCHEDULER_JOBS_CONFIG=str(tmp_path / "jobs.toml"),
        SCHEDULER_CALENDARS_FILE=str(tmp_path / "calendars.toml"),
        SCHEDULER_CALENDAR_CACHE=str(tmp_path / "cache"),  # empty: the refresh runs as a child
    )
    with in_book({}):
        yield Settings.from_env(environ), engine
    engine.dispose()


def registry_of(settings: Settings, *calendars: str):
    """Jobs named after their calendars (``on_xshg``), each a command on weekdays at 19:00."""
    settings.jobs_config.write_text(
        "".join(
            f'[jobs.on_{c.lower()}]\ncron = "0 19 * * 1-5"\ncommand = ["true"]\ncalendar = "{c}"\n'
            for c in calendars
        )
    )
    registry = load_registry([], settings.jobs_config, settings.timezone, settings.environ)
    assert not registry.problems, registry.problems
    return registry


def ending_in(days: int, name: str = "XSHG") -> SessionCalendar:
    last = TODAY.astimezone(SHANGHAI).date() + timedelta(days=days)
    return SessionCalendar(name, dt.date(2026, 1, 1), last, {dt.date(2026, 10, 1): "National Day"})


def test_start_refreshes_by_a_child_and_an_unknown_name_is_only_a_warning(
    home, caplog: pytest.LogCaptureFixture
) -> None:
    settings, engine = home
    caplog.set_level(logging.INFO, logger="scheduler.calendars")
    keeper = CalendarKeeper(engine, settings, scheduler=None, clock=lambda: TODAY)
    keeper.prepare(registry_of(settings, "NOPE", "XSHG"))  # never raises

    stored = read_all(engine)
    assert list(stored) == ["XSHG"] and stored["XSHG"].library_version == library_version()
    assert BOOK.get("XSHG").closure(dt.date(2026, 10, 1)) == "XSHG closed: National Day"
    assert BOOK.get("NOPE").first > BOOK.get("NOPE").last  # weekdays
    messages = [r.getMessage() for r in caplog.records]
    assert (
        "calendar NOPE not stored: refreshing it with exchange_calendars " + str(library_version())
        in messages
    )
    assert any(m.startswith("calendars refresh NOPE failed (exit status 2)") for m in messages)
    assert any(m.startswith("calendars refresh: XSHG: 2006-12-04..") for m in messages)  # its output, logged
    assert (
        keeper.problems()[0]
        == "calendar NOPE has no sessions yet (run `calendars refresh`): weekdays are used"
    )

    children: list[list[str]] = []
    keeper.run = lambda argv, **kw: children.append(argv) or subprocess.CompletedProcess(argv, 0, "", "")
    assert keeper.refresh_needed() == []  # XSHG stored by this version; NOPE unknown: not asked again
    save(engine, stored["XSHG"].calendar, "4.0.0")  # stored by an older library
    assert keeper.refresh_needed() == []  # the child kept what it computed: stored from the cache
    assert read_all(engine)["XSHG"].library_version == library_version() and children == []
    for kept in Path(settings.environ["SCHEDULER_CALENDAR_CACHE"]).iterdir():
        kept.unlink()
    save(engine, stored["XSHG"].calendar, "4.0.0")
    assert keeper.refresh_needed() == ["XSHG"]
    assert [argv[-3:] for argv in children] == [["calendars", "refresh", "XSHG"]]


def test_a_calendar_this_host_computed_before_is_stored_without_a_child(
    home, caplog: pytest.LogCaptureFixture
) -> None:
    settings, engine = home
    caplog.set_level(logging.INFO, logger="scheduler.calendars")
    keep(xshg_2026(), library_version(), settings.environ)
    children: list[list[str]] = []
    run = lambda argv, **kw: children.append(argv) or subprocess.CompletedProcess(argv, 0, "", "")  # noqa: E731
    keeper = CalendarKeeper(engine, settings, scheduler=None, clock=lambda: TODAY, run=run)
    keeper.prepare(registry_of(settings, "XSHG"))
    assert children == []
    assert read_all(engine)["XSHG"].library_version == library_version()
    assert BOOK.get("XSHG").closure(dt.date(2026, 10, 1)) == "XSHG closed: National Day"
    assert "stored from this host's cache" in caplog.text


def test_a_child_that_cannot_start_is_a_warning_and_weekdays(home, caplog: pytest.LogCaptureFixture) -> None:
    settings, engine = home

    def cannot(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", args[0][0])

    keeper = CalendarKeeper(engine, settings, scheduler=None, clock=lambda: TODAY, run=cannot)
    keeper.prepare(registry_of(settings, "XSHG"))
    assert BOOK.get("XSHG").first > BOOK.get("XSHG").last
    assert "calendars refresh XSHG could not start" in caplog.text


def test_the_operator_file_is_laid_over_the_stored_calendar(home) -> None:
    settings, engine = home
    save(engine, xshg_2026(), library_version() or "?")
    settings.calendars_file.write_text(
        '[XSHG]\nknown_until = "2027-12-31"\n[XSHG.closed]\n"2027-02-08..2027-02-12" = "Spring Festival"\n'
    )
    keeper = CalendarKeeper(engine, settings, scheduler=None, clock=lambda: TODAY)
    keeper.prepare(registry_of(settings, "XSHG"))
    calendar = BOOK.get("XSHG")
    assert calendar.closure(dt.date(2027, 2, 10)) == "XSHG closed: Spring Festival"
    assert calendar.closure(dt.date(2026, 10, 1)) == "XSHG closed: National Day"
    assert calendar.last == dt.date(2027, 12, 31) and keeper.problems() == []


def test_a_range_ending_soon_is_a_problem_and_alerted_once_a_day(home, hook) -> None:
    settings, engine = home
    save(engine, ending_in(28), library_version() or "?")
    clock = Clock()
    notifier = Notifier([WebhookChannel(hook.url, "json")], min_interval=60, clock=lambda: clock.mono)
    keeper = CalendarKeeper(
        engine, settings, None, notifier.notify, clock=lambda: clock.wall, monotonic=lambda: clock.mono
    )
    try:
        keeper.prepare(registry_of(settings, "XSHG"))
        line = (
            f"calendar XSHG is known until 2026-12-31 (28 days left): add next year's closures to "
            f"{settings.calendars_file} (known_until) or upgrade exchange_calendars; after that date its "
            "jobs run on weekdays"
        )
        assert keeper.problems() == [line]
        [post] = hook.wait(1)
        assert post["json"]["kind"] == "calendar_ending" and post["json"]["about"] == "calendar"
        assert post["json"]["text"].splitlines()[:2] == [
            "fund-scheduler: calendar XSHG ending soon",
            "Calendar: XSHG",
        ]
        assert post["json"]["summary"] == line
        clock.mono += 61
        keeper.watch()  # the same day: no second alert
        clock.next_day()
        keeper.watch()
        assert len(hook.wait(2)) == 2
        assert notifier.flush(5) and len(hook.posts) == 2
    finally:
        notifier.close()


def test_a_changed_table_is_loaded_again_within_a_minute(home) -> None:
    settings, engine = home
    save(engine, ending_in(400), library_version() or "?", now=TODAY)
    clock = Clock()
    keeper = CalendarKeeper(engine, settings, None, clock=lambda: clock.wall, monotonic=lambda: clock.mono)
    keeper.scheduler = type("NoJobs", (), {"get_jobs": staticmethod(list)})()
    keeper.prepare(registry_of(settings, "XSHG"))
    assert keeper.watch() is False  # nothing changed
    later = SessionCalendar("XSHG", dt.date(2026, 1, 1), dt.date(2028, 1, 1))  # National Day open now
    save(engine, later, "?", now=TODAY + timedelta(hours=1))
    clock.mono += 30
    assert keeper.watch() is False  # not a minute yet: the table is not read
    assert BOOK.get("XSHG").closure(dt.date(2026, 10, 1)) == "XSHG closed: National Day"
    clock.mono += 31
    assert keeper.watch() is True
    assert BOOK.get("XSHG").closure(dt.date(2026, 10, 1)) is None and BOOK.get("XSHG").last == dt.date(
        2028, 1, 1
    )


def test_health_and_status_name_a_calendar_ending_soon(tmp_path: Path) -> None:
    with InProcessDaemon(tmp_path) as d:
        assert d.health().json()["status"] == "healthy"
        d.daemon.calendars._calendars = {"XSHG": ending_in(10)}  # as a load near the end leaves it
        d.daemon.calendars.clock = lambda: TODAY
        body = d.health().json()
        assert body["status"] == "degraded"
        assert [p for p in body["problems"] if p.startswith("calendar XSHG is known until 2026-12-13")]
        assert d.ops.status()["calendar_problems"] == d.ops.calendar_problems() != []
