"""Building, describing and (de)serialising triggers as plain JSON-able dicts.

Only the trigger classes in :data:`ALLOWED_TRIGGERS` can be restored from the job store; any other
``type`` is refused. Crontab expressions follow crontab(5): day-of-week 0 and 7 are Sunday
(APScheduler 3.x's own ``from_crontab`` treats 0 as Monday, a documented trap we avoid).

Every cron trigger is a :class:`WallClockCronTrigger`: across daylight-saving changes a wall time
fires once, as in cron (see its docstring). The stored form is unchanged (``"type": "cron"``), so
jobs stored before it load as it. A cron trigger with an exchange calendar is a
:class:`CalendarCronTrigger` (fires on that exchange's sessions only); its stored form adds
``"calendar": "XSHG"``.

An interval schedule is an :class:`~apscheduler.triggers.interval.IntervalTrigger` (``every 15m``;
durations read by :func:`parse_duration`), a one-off an
:class:`~apscheduler.triggers.date.DateTrigger` (``once at 2026-12-24 18:00 +08:00``; times read
by :func:`parse_at`).
"""

from __future__ import annotations

import copy
import functools
import logging
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from fund_scheduler.jobs.calendars import BOOK

CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
ALLOWED_TRIGGERS = ("cron", "interval", "date")
_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: A calendar trigger looks this many days ahead for a session before it gives up (fires no more).
SESSION_SEARCH_DAYS = 800
#: ``skipped_between`` lists at most this many skipped fire times.
SKIPPED_LIMIT = 1000
_CALENDAR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_/-]{0,31}")

logger = logging.getLogger("scheduler.triggers")


def _dow_token(token: str) -> str:
    """Translate one crontab day-of-week item (``1-5``, ``0``, ``*/2``, ``mon``) to names."""
    step = 1
    base = token
    if "/" in token:
        base, _, raw_step = token.partition("/")
        if not raw_step.isdigit() or int(raw_step) < 1:
            return token  # let APScheduler report the bad value
        step = int(raw_step)
    numbers: range | list[int]
    if base == "*":
        numbers = range(0, 7, step)
    elif "-" in base and all(p.isdigit() for p in base.split("-", 1)):
        lo, hi = (int(p) for p in base.split("-", 1))
        if lo > hi:
            raise ValueError(f"day-of-week range {token!r} runs backwards (write e.g. 6-7 or sat,sun)")
        numbers = range(lo, hi + 1, step)
    elif base.isdigit():
        numbers = [int(base)]
    else:
        return token  # names (mon-fri) are passed through unchanged
    if step == 1 and base == "*":
        return "*"
    if any(n > 7 for n in numbers):
        return token
    return ",".join(dict.fromkeys(_DOW_NAMES[n % 7] for n in numbers))


def crontab_to_fields(expr: str) -> dict[str, str]:
    """Split a 5-field crontab expression into APScheduler cron fields (Sunday = 0 or 7)."""
    values = expr.split()
    if len(values) != 5:
        raise ValueError(
            f"cron expression {expr!r} has {len(values)} fields; expected 5 "
            "(minute hour day-of-month month day-of-week)"
        )
    minute, hour, day, month, dow = values
    fields = {"minute": minute, "hour": hour, "day": day, "month": month}
    fields["day_of_week"] = ",".join(dict.fromkeys(_dow_token(t) for t in dow.split(",")))
    return fields


class WallClockCronTrigger(CronTrigger):
    """A CronTrigger that fires once per wall-clock time across daylight-saving changes.

    * Fall back (01:00-02:00 happens twice in New York on 2026-11-01): a wall time of the repeated
      hour fires at its first occurrence only (01:30 EDT, not 01:30 EST again; ``*/15 1 * * *``
      fires 01:00-01:45 EDT and nothing in the repeated hour), unless the hour field is ``*``: a
      job of every hour fires in every real hour (``0 * * * *`` at 01:00 EDT and 01:00 EST), as
      cronie runs its wildcard-hour jobs.
    * Spring forward (02:00-03:00 does not exist in New York on 2026-03-08): a wall time that does
      not exist fires once, at the instant it names with the offset before the change (02:30 EST =
      03:30 EDT), as APScheduler does.
    """

    def get_next_fire_time(self, previous_fire_time, now):
        fire = super().get_next_fire_time(previous_fire_time, now)
        if self.repeats_every_hour:
            return fire
        while fire is not None and _second_occurrence(fire, self.timezone):
            fire = super().get_next_fire_time(None, after(fire))
        return fire

    @property
    def repeats_every_hour(self) -> bool:
        """True when the hour field is ``*``: the repeated hour of a fall-back night fires too."""
        return any(f.name == "hour" and str(f) == "*" for f in self.fields)


class CalendarCronTrigger(WallClockCronTrigger):
    """A :class:`WallClockCronTrigger` that fires only on the sessions of exchange calendar
    :attr:`calendar` (``XSHG``): a fire time whose local date (in the trigger's timezone) is no
    session is skipped, and the next fire time on a session is returned.

    The sessions come from :data:`fund_scheduler.jobs.calendars.BOOK` at each call (a missing
    calendar, or a day beyond its known range, is a session when a weekday, with a warning). A
    cron that meets no session within :data:`SESSION_SEARCH_DAYS` days fires no more (None, as a
    cron naming 30 February), with an error line.
    """

    def __init__(self, calendar: str, **fields: Any) -> None:
        if not isinstance(calendar, str) or not _CALENDAR_NAME.fullmatch(calendar):
            raise ValueError(f"calendar {calendar!r} is not an exchange name such as 'XSHG'")
        super().__init__(**fields)
        self.calendar = calendar

    def __getstate__(self):  # copy.copy (next_fire_times) keeps the calendar
        return {**super().__getstate__(), "calendar": self.calendar}

    def __setstate__(self, state):
        super().__setstate__(state)
        self.calendar = state["calendar"]

    def get_next_fire_time(self, previous_fire_time, now):
        fire = super().get_next_fire_time(previous_fire_time, now)
        if fire is None:
            return None
        horizon = self._local_day(fire) + timedelta(days=SESSION_SEARCH_DAYS)
        while fire is not None and self.closure_at(fire) is not None:
            day = self._local_day(fire)
            if day >= horizon:
                logger.error(
                    "cron %s on calendar %s meets no session in %d days after %s: it fires no more",
                    describe(self),
                    self.calendar,
                    SESSION_SEARCH_DAYS,
                    fire.isoformat(),
                )
                return None
            fire = super().get_next_fire_time(None, self._start_of(day + timedelta(days=1)))
        return fire

    def closure_at(self, fire: datetime) -> str | None:
        """Why ``fire``'s local date is no session (``XSHG closed: National Day``); None on a session."""
        return BOOK.closure(self.calendar, self._local_day(fire))

    def skipped_between(self, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
        """The fire times of the cron in (``start``, ``end``] that fall on no session, each with
        the reason (at most :data:`SKIPPED_LIMIT`; no jitter)."""
        plain = WallClockCronTrigger.__new__(WallClockCronTrigger)
        plain.__setstate__({**super().__getstate__(), "jitter": None})
        skipped: list[tuple[datetime, str]] = []
        limit = end.astimezone(UTC)
        fire = plain.get_next_fire_time(None, after(start))
        while fire is not None and fire.astimezone(UTC) <= limit and len(skipped) < SKIPPED_LIMIT:
            reason = self.closure_at(fire)
            if reason is not None:
                skipped.append((fire, reason))
            fire = plain.get_next_fire_time(fire, after(fire))
        return skipped

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.timezone).date()

    def _start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.timezone)


def _second_occurrence(moment: datetime, zone: Any) -> bool:
    """True when ``moment``'s wall time in ``zone`` happened already, earlier that night."""
    local = moment.astimezone(UTC).astimezone(zone)  # sets fold for the zone's second pass
    if not local.fold:
        return False
    return local.replace(fold=0).utcoffset() != local.utcoffset()


def build_cron(fields: Mapping[str, Any], timezone: ZoneInfo, calendar: str | None = None) -> CronTrigger:
    """Return a :class:`WallClockCronTrigger` for ``fields`` (a :class:`CalendarCronTrigger` with
    ``calendar``); raise ValueError naming a bad field or calendar name."""
    unknown = sorted(set(fields) - set(CRON_FIELDS))
    if unknown:
        raise ValueError(f"unknown cron field(s) {', '.join(unknown)}")
    return _cron_trigger(calendar, tuple(sorted((k, str(v)) for k, v in fields.items())), timezone)


@functools.lru_cache(maxsize=4096)
def _cron_trigger(
    calendar: str | None,
    fields: tuple[tuple[str, str], ...],
    timezone: ZoneInfo,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    jitter: int | None = None,
) -> CronTrigger:
    """One cron trigger per distinct definition: a trigger is never changed once built, so jobs
    with the same schedule share it, and restoring thousands of stored jobs (a restart, each
    ``get_jobs``) compiles each schedule's expressions once, not once per job."""
    common = {"timezone": timezone, "start_date": start_date, "end_date": end_date, "jitter": jitter}
    if calendar is not None:
        return CalendarCronTrigger(calendar, **dict(fields), **common)
    return WallClockCronTrigger(**dict(fields), **common)


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?")
_DURATION_UNITS = (("d", 86400), ("h", 3600), ("m", 60))
DURATION_HINT = "a duration such as 90s, 15m, 2h, 1d, 1h30m or a number of seconds"


def parse_duration(value: Any) -> float:
    """Seconds of ``value``: a positive number (seconds) or ``90s``, ``15m``, ``2h``, ``1d``,
    ``1h30m`` (units in this order, each at most once); ValueError naming the value otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not {DURATION_HINT}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        match = _DURATION.fullmatch(text)
        if text and match is not None and any(match.groups()):
            days, hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
            seconds = days * 86400 + hours * 3600 + minutes * 60 + secs
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(f"{value!r} is not {DURATION_HINT}") from None
    else:
        raise ValueError(f"{value!r} is not {DURATION_HINT}")
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{value!r} is not a positive duration")
    return seconds


def format_duration(seconds: float) -> str:
    """``seconds`` in words: ``15m``, ``1h30m``, ``1d``, ``90.5s`` -> ``1m30.5s``."""
    parts = []
    rest = seconds
    for unit, size in _DURATION_UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{int(count)}{unit}")
    if rest or not parts:
        parts.append(f"{rest:g}s")
    return "".join(parts)


def parse_at(value: Any) -> datetime:
    """The one-off time ``value``: a datetime or an ISO 8601 string (``2026-12-24T18:00:00+08:00``);
    naive (no offset) when it gives none, meaning the job's timezone. ValueError naming the value."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not an ISO 8601 time such as 2026-12-24T18:00:00+08:00")


def build_interval(seconds: float, timezone: ZoneInfo, start: datetime | None = None) -> IntervalTrigger:
    """Every ``seconds`` (positive), anchored at ``start`` (default: one interval from now)."""
    if not seconds > 0:
        raise ValueError(f"interval {seconds!r} is not a positive number of seconds")
    return IntervalTrigger(seconds=seconds, timezone=timezone, start_date=start)


def build_date(at: datetime, timezone: ZoneInfo) -> DateTrigger:
    """Once at ``at``; a naive ``at`` is a wall time in ``timezone``."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone)
    return DateTrigger(run_date=at, timezone=timezone)


def same_schedule(stored: Any, wanted: Any) -> bool:
    """True when ``stored`` fires as ``wanted`` does. An interval's anchor (``start_date``) is not
    compared: it is fixed when the job is first stored, so a restart keeps the job's rhythm."""
    old, new = trigger_to_dict(stored), trigger_to_dict(wanted)
    if old.get("type") == new.get("type") == "interval":
        old.pop("start_date", None)
        new.pop("start_date", None)
    if old.get("type") == new.get("type") == "date":
        return _parse_dt(old["run_date"]) == _parse_dt(new["run_date"])
    return old == new


def trigger_to_dict(trigger: Any) -> dict[str, Any]:
    """Serialise an allowed trigger to a JSON-able dict; raise TypeError for any other class."""
    if isinstance(trigger, CronTrigger):
        data = {
            "type": "cron",
            "fields": {f.name: str(f) for f in trigger.fields},
            "timezone": str(trigger.timezone),
            "start_date": _iso(trigger.start_date),
            "end_date": _iso(trigger.end_date),
            "jitter": trigger.jitter,
        }
        if isinstance(trigger, CalendarCronTrigger):
            data["calendar"] = trigger.calendar
        return data
    if isinstance(trigger, IntervalTrigger):
        return {
            "type": "interval",
            "seconds": trigger.interval.total_seconds(),
            "timezone": str(trigger.timezone),
            "start_date": _iso(trigger.start_date),
            "end_date": _iso(trigger.end_date),
            "jitter": trigger.jitter,
        }
    if isinstance(trigger, DateTrigger):
        return {"type": "date", "run_date": _iso(trigger.run_date)}
    raise TypeError(f"trigger class {type(trigger).__name__} is not allowed in the job store")


def trigger_from_dict(data: Mapping[str, Any]) -> Any:
    """Rebuild a trigger from :func:`trigger_to_dict` output; raise ValueError when not allowed."""
    if not isinstance(data, Mapping):
        raise ValueError("trigger is not an object")
    kind = data.get("type")
    if kind not in ALLOWED_TRIGGERS:
        raise ValueError(f"trigger type {kind!r} is not allowed (allowed: {', '.join(ALLOWED_TRIGGERS)})")
    if kind == "date":
        return DateTrigger(run_date=_parse_dt(data["run_date"]))
    timezone = ZoneInfo(str(data["timezone"]))
    common = {
        "timezone": timezone,
        "start_date": _parse_dt(data.get("start_date")),
        "end_date": _parse_dt(data.get("end_date")),
        "jitter": _jitter(data.get("jitter")),
    }
    if kind == "cron":
        fields = data.get("fields")
        if not isinstance(fields, Mapping) or set(fields) - set(CRON_FIELDS):
            raise ValueError("cron trigger has unknown or missing fields")
        calendar = data.get("calendar")
        values = tuple(sorted((k, str(v)) for k, v in fields.items()))
        return _cron_trigger(None if calendar is None else str(calendar), values, **common)
    seconds = float(data["seconds"])
    if seconds <= 0:
        raise ValueError("interval must be positive")
    return IntervalTrigger(seconds=seconds, **common)


def _offset(moment: datetime) -> str:
    """``+08:00`` (seconds too when the offset has them)."""
    text = moment.strftime("%z")
    return f"{text[:3]}:{text[3:5]}{':' + text[5:] if len(text) > 5 else ''}"


def _jitter(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("jitter must be a number")
    return int(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_dt(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"datetime {value!r} has no timezone")
    return parsed


def after(moment: datetime) -> datetime:
    """One microsecond after ``moment``, computed in UTC.

    Wall-clock arithmetic on an aware datetime drops ``fold``: 01:30 EST (the second 01:30 of a
    DST fall-back night) plus 1 µs is 01:30 EDT, an hour *earlier*, which made fire-time loops
    return the same time forever.
    """
    return moment.astimezone(UTC) + timedelta(microseconds=1)


def next_fire_times(trigger: Any, now: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times of ``trigger`` strictly after ``now`` (pure; no jitter).

    What the daemon fires, DST changes included (see :class:`WallClockCronTrigger`).
    """
    if getattr(trigger, "jitter", None):
        trigger = copy.copy(trigger)  # get_next_fire_time would add a random jitter
        trigger.jitter = None
    times: list[datetime] = []
    previous = None
    floor = now
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, after(floor))
        if fire is None or fire.astimezone(UTC) <= floor.astimezone(UTC):
            break  # finished, or a trigger (a past date) that ignores ``now``
        times.append(fire)
        previous = floor = fire
    return times


def describe(trigger: Any) -> str:
    """A short human description, e.g. ``cron 0 19 * * mon-fri (Asia/Shanghai)``."""
    if isinstance(trigger, CronTrigger):
        f = {field.name: str(field) for field in trigger.fields}
        core = f"{f['minute']} {f['hour']} {f['day']} {f['month']} {f['day_of_week']}"
        extras = [f"{k}={f[k]}" for k in ("second", "week", "year") if f[k] not in ("0", "*")]
        sessions = f", {trigger.calendar} sessions" if isinstance(trigger, CalendarCronTrigger) else ""
        return f"cron {core}{' ' + ' '.join(extras) if extras else ''} ({trigger.timezone}){sessions}"
    if isinstance(trigger, IntervalTrigger):
        return f"every {format_duration(trigger.interval.total_seconds())}"
    if isinstance(trigger, DateTrigger):
        return f"once at {trigger.run_date.strftime('%Y-%m-%d %H:%M')} {_offset(trigger.run_date)}"
    return str(trigger)
