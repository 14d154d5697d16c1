"""A job's schedule as a sentence in the language in effect (:mod:`fund_common.i18n`), for people:
``weekdays at 19:00 (Asia/Shanghai), XSHG sessions`` / ``工作日 19:00（北京时间），上交所交易日``.

:func:`~fund_scheduler.jobs.triggers.describe` stays the technical, English line (CLI, logs);
this is the reader's. A cron trigger is first read into sets (:func:`reading`: the months, days of
the month, weekdays, hours, minutes and seconds it fires on, exactly as APScheduler matches them),
and only a reading the words say exactly is put into words; anything else (``L``, ``1st mon``,
``week``/``year`` fields, a day of the month *and* a weekday, uneven steps) keeps its cron fields
(``cron 0 19 last * * (Asia/Shanghai)``), with the time zone and calendar still in words.

* cron: the days (``every day``, ``weekdays``, ``weekends``, ``Sundays``, ``Mon, Wed``,
  ``on day 1 of each month``, ``… in Jan, Jul``), then the times of day: a few fixed times
  (``at 09:00, 15:00``; seconds when not 0), an even step of minutes or hours (``every 10 minutes``,
  ``every 5 minutes, 09:00–15:55``: the first and last fire time of each run of hours), every
  hour (``every hour at minute 30``) or seconds; then the zone (``(Asia/Shanghai)`` is
  ``（北京时间）`` in Chinese) and the exchange calendar (``XSHG sessions`` / ``上交所交易日``).
* interval: ``every 10 minutes``, ``every 1 hour 30 minutes``.
* date: ``once at 2026-12-05 19:00 (Asia/Shanghai)``.
* any other trigger: :func:`describe`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.cron.expressions import (
    AllExpression,
    MonthRangeExpression,
    RangeExpression,
    WeekdayRangeExpression,
)
from apscheduler.triggers.cron.fields import MAX_VALUES, MIN_VALUES
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from fund_common.i18n import N_, ngettext
from fund_common.i18n import gettext as _
from fund_scheduler.jobs.triggers import CalendarCronTrigger, describe

__all__ = ["CronReading", "in_words", "reading"]

#: Monday first (APScheduler's day_of_week 0).
_WEEKDAY_PLURALS = (
    N_("Mondays"),
    N_("Tuesdays"),
    N_("Wednesdays"),
    N_("Thursdays"),
    N_("Fridays"),
    N_("Saturdays"),
    N_("Sundays"),
)
_WEEKDAY_SHORT = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
_MONTH_SHORT = (
    N_("Jan"),
    N_("Feb"),
    N_("Mar"),
    N_("Apr"),
    N_("May"),
    N_("Jun"),
    N_("Jul"),
    N_("Aug"),
    N_("Sep"),
    N_("Oct"),
    N_("Nov"),
    N_("Dec"),
)
_SHANGHAI = "Asia/Shanghai"
#: At most this many fire times a day are listed one by one (``at 09:00, 15:00``).
_LISTED_TIMES = 6
#: Up to this many a day, a list is preferred to a step (``at 09:00, 09:30``, not ``every 30 minutes``).
_SHORT_LIST = 3


@dataclass(frozen=True)
class CronReading:
    """The values a cron trigger matches, field by field (None: every value of the field).

    ``weekdays`` counts from Monday = 0. A fire time is a day matching ``months``, ``days`` and
    ``weekdays`` at a time of day in ``hours`` x ``minutes`` x ``seconds``.
    """

    months: frozenset[int] | None
    days: frozenset[int] | None
    weekdays: frozenset[int] | None
    hours: frozenset[int]
    minutes: frozenset[int]
    seconds: frozenset[int]


def in_words(trigger: Any) -> str:
    """``trigger``'s schedule as a sentence in the language in effect (see the module docstring)."""
    if isinstance(trigger, CronTrigger):
        text = _cron_words(trigger)
        text = _with_zone(text, trigger.timezone)
        if isinstance(trigger, CalendarCronTrigger):
            text = _("{schedule}, {sessions}").format(schedule=text, sessions=_sessions(trigger.calendar))
        return text
    if isinstance(trigger, IntervalTrigger):
        return _every(trigger.interval.total_seconds())
    if isinstance(trigger, DateTrigger):
        moment = trigger.run_date
        when = moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")
        return _with_zone(_("once at {when}").format(when=when), moment.tzinfo)
    return describe(trigger)


def reading(trigger: CronTrigger) -> CronReading | None:
    """The sets ``trigger`` fires on, or None when a field is not plain values, ranges and steps
    (``last``, ``1st mon``) or the ``week`` or ``year`` field is set."""
    fields = {field.name: field for field in trigger.fields}
    if any(str(fields[name]) != "*" for name in ("week", "year")):
        return None
    values = {
        name: _values(fields[name]) for name in ("month", "day", "day_of_week", "hour", "minute", "second")
    }
    if any(v is None for v in values.values()):
        return None

    def whole(name: str) -> frozenset[int] | None:
        found = values[name]
        return None if found == frozenset(range(MIN_VALUES[name], MAX_VALUES[name] + 1)) else found

    return CronReading(
        months=whole("month"),
        days=whole("day"),
        weekdays=whole("day_of_week"),
        hours=values["hour"] or frozenset(),
        minutes=values["minute"] or frozenset(),
        seconds=values["second"] or frozenset(),
    )


def _values(field: Any) -> frozenset[int] | None:
    """The values ``field`` matches, as APScheduler's expressions step through them."""
    low, high = MIN_VALUES[field.name], MAX_VALUES[field.name]
    found: set[int] = set()
    for expr in field.expressions:
        if type(expr) is AllExpression:
            found.update(range(low, high + 1, expr.step or 1))
        elif type(expr) in (RangeExpression, MonthRangeExpression, WeekdayRangeExpression):
            last = high if expr.last is None else expr.last
            found.update(range(expr.first, last + 1, expr.step or 1))
        else:
            return None
    return frozenset(found)


def _cron_words(trigger: CronTrigger) -> str:
    """The days and times of ``trigger`` in words, or its cron fields when words would not be exact."""
    read = reading(trigger)
    words = None if read is None else _reading_words(read)
    return words if words is not None else _cron_fields(trigger)


def _reading_words(read: CronReading) -> str | None:
    if read.days is not None and read.weekdays is not None:
        return None  # APScheduler wants both (cron(5) either): no plain sentence for it
    time = _time_words(read)
    if time is None:
        return None
    text, periodic = time
    if read.months is None and read.days is None and read.weekdays is None:
        return text if periodic else _("{days} {time}").format(days=_("every day"), time=text)
    return _("{days} {time}").format(days=_day_words(read), time=text)


def _day_words(read: CronReading) -> str:
    """The days of ``read`` (with its months) in words."""
    if read.days is not None:
        days = _runs(sorted(read.days), str)
        if read.months is None:
            return ngettext(
                "on day {days} of each month", "on days {days} of each month", len(read.days)
            ).format(days=days)
        return ngettext("on day {days} of {months}", "on days {days} of {months}", len(read.days)).format(
            days=days, months=_months(read.months)
        )
    days = _("every day") if read.weekdays is None else _weekdays(read.weekdays)
    if read.months is None:
        return days
    return _("{days} in {months}").format(days=days, months=_months(read.months))


def _weekdays(weekdays: frozenset[int]) -> str:
    if weekdays == frozenset(range(5)):
        return _("weekdays")
    if weekdays == frozenset({5, 6}):
        return _("weekends")
    if len(weekdays) == 1:
        return _(_WEEKDAY_PLURALS[min(weekdays)])
    return _runs(sorted(weekdays), lambda d: _(_WEEKDAY_SHORT[d]))


def _months(months: frozenset[int]) -> str:
    return _runs(sorted(months), lambda m: _(_MONTH_SHORT[m - 1]))


def _time_words(read: CronReading) -> tuple[str, bool] | None:
    """The times of day of ``read`` in words and whether they are a repeating step (``every …``,
    said without ``every day``); None when the words would not be exact."""
    hours, minutes, seconds = sorted(read.hours), sorted(read.minutes), sorted(read.seconds)
    all_hours = len(hours) == 24
    count = len(hours) * len(minutes) * len(seconds)
    if len(seconds) == 1 and len(minutes) == 1 and all_hours:
        if seconds[0]:
            return None
        if minutes[0] == 0:
            return _("every hour"), True
        return _("every hour at minute {minute}").format(minute=minutes[0]), True
    if not all_hours and count <= _SHORT_LIST:
        return _listed(hours, minutes, seconds), False
    if seconds == [0] and len(minutes) > 1 and _even_step(minutes, 60):
        step = minutes[1] - minutes[0]
        if all_hours and minutes[0] == 0:
            return _every(step * 60), True
        windows = _join(
            f"{_clock(first, minutes[0])}–{_clock(last, minutes[-1])}" for first, last in _spans(hours)
        )
        return _("{every}, {windows}").format(every=_every(step * 60), windows=windows), True
    if not all_hours and count <= _LISTED_TIMES:
        return _listed(hours, minutes, seconds), False
    if seconds == [0] and len(minutes) == 1 and len(hours) > 1 and _even_step(hours, None):
        step = hours[1] - hours[0]
        windows = _clock(hours[0], minutes[0]) + "–" + _clock(hours[-1], minutes[0])
        return _("{every}, {windows}").format(every=_every(step * 3600), windows=windows), True
    if seconds == [0] and len(minutes) == 1 and not _even_step(hours, None) and _spans_only(hours):
        windows = _join(f"{_clock(a, minutes[0])}–{_clock(b, minutes[0])}" for a, b in _spans(hours))
        return _("{every}, {windows}").format(every=_every(3600), windows=windows), True
    if all_hours and len(minutes) == 60 and len(seconds) > 1 and seconds[0] == 0 and _even_step(seconds, 60):
        return _every(seconds[1] - seconds[0]), True
    return None


def _even_step(values: Sequence[int], cycle: int | None) -> bool:
    """True when ``values`` (sorted, 2 or more) are evenly spaced and, with ``cycle`` (60 for
    minutes), the step also carries across the turn of the cycle (``*/10``, not ``*/7``)."""
    if len(values) < 2:
        return False
    step = values[1] - values[0]
    if any(b - a != step for a, b in zip(values, values[1:], strict=False)):
        return False
    return cycle is None or values[-1] + step - values[0] == cycle


def _spans_only(hours: Sequence[int]) -> bool:
    """True when every run of consecutive ``hours`` has at least two hours (``9-11,14-16``)."""
    return len(hours) > 1 and all(last > first for first, last in _spans(hours))


def _spans(values: Sequence[int]) -> list[tuple[int, int]]:
    """The runs of consecutive ``values`` (sorted) as (first, last)."""
    spans: list[tuple[int, int]] = []
    for value in values:
        if spans and spans[-1][1] + 1 == value:
            spans[-1] = (spans[-1][0], value)
        else:
            spans.append((value, value))
    return spans


def _listed(hours: Sequence[int], minutes: Sequence[int], seconds: Sequence[int]) -> str:
    times = sorted((h, m, s) for h in hours for m in minutes for s in seconds)
    return _("at {times}").format(times=_join(_clock(h, m, s) for h, m, s in times))


def _clock(hour: int, minute: int, second: int = 0) -> str:
    return f"{hour:02d}:{minute:02d}:{second:02d}" if second else f"{hour:02d}:{minute:02d}"


def _runs(values: Sequence[int], name: Any) -> str:
    """``values`` (sorted) named by ``name``, a run of three or more as a range (``Mon–Thu``)."""
    parts = []
    for first, last in _spans(values):
        if last - first >= 2:
            parts.append(_("{first}–{last}").format(first=name(first), last=name(last)))
        else:
            parts.extend(name(v) for v in range(first, last + 1))
    return _join(parts)


def _join(items: Iterable[str]) -> str:
    """``a, b, c`` (``a、b、c`` in Chinese)."""
    text: str | None = None
    for item in items:
        text = item if text is None else _("{earlier}, {later}").format(earlier=text, later=item)
    return text or ""


def _every(seconds: float) -> str:
    """``every 10 minutes``, ``every hour``, ``every 1 hour 30 minutes``."""
    singles: dict[float, str] = {
        86400: _("every day"),
        3600: _("every hour"),
        60: _("every minute"),
        1: _("every second"),
    }
    if seconds in singles:
        return singles[seconds]
    parts = []
    rest = seconds
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        count, rest = divmod(rest, size)
        if count:
            parts.append(_unit(unit, int(count)))
    if rest or not parts:
        parts.append(_unit("second", rest))
    duration = parts[0]
    for part in parts[1:]:
        duration = _("{larger} {smaller}").format(larger=duration, smaller=part)
    return _("every {duration}").format(duration=duration)


def _unit(unit: str, count: float) -> str:
    n = int(count) if float(count).is_integer() else count
    plural = 2 if isinstance(n, float) else n
    if unit == "day":
        return ngettext("{n} day", "{n} days", plural).format(n=n)
    if unit == "hour":
        return ngettext("{n} hour", "{n} hours", plural).format(n=n)
    if unit == "minute":
        return ngettext("{n} minute", "{n} minutes", plural).format(n=n)
    return ngettext("{n} second", "{n} seconds", plural).format(n=f"{n:g}" if isinstance(n, float) else n)


def _with_zone(text: str, zone: tzinfo | None) -> str:
    """``text (Asia/Shanghai)``; Asia/Shanghai is ``（北京时间）`` in Chinese."""
    name = getattr(zone, "key", None) or str(zone)
    if name == _SHANGHAI:
        return _("{schedule} (Asia/Shanghai)").format(schedule=text)
    return _("{schedule} ({zone})").format(schedule=text, zone=name)


def _sessions(calendar: str) -> str:
    if calendar == "XSHG":
        return _("XSHG sessions")
    if calendar == "XSHE":
        return _("XSHE sessions")
    return _("{name} sessions").format(name=calendar)


def _cron_fields(trigger: CronTrigger) -> str:
    """``cron 0 19 L * *`` (and ``second=…``, ``week=…``, ``year=…`` when set), as describe() has them."""
    f = {field.name: str(field) for field in trigger.fields}
    core = f"{f['minute']} {f['hour']} {f['day']} {f['month']} {f['day_of_week']}"
    extras = [f"{k}={f[k]}" for k in ("second", "week", "year") if f[k] not in ("0", "*")]
    return f"cron {core}{' ' + ' '.join(extras) if extras else ''}"
