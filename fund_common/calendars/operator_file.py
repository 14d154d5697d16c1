"""The operator's calendar file (``config/calendars.toml`` by default): the closures and extra
sessions an exchange announced after the library's release, laid over the library's sessions.

One table per calendar; every key optional::

    [XSHG]
    known_until = "2027-12-31"        # the operator vouches for the days up to this date
    [XSHG.closed]
    "2027-01-01" = "New Year's Day"
    "2027-02-08..2027-02-12" = "Spring Festival"   # a range: every weekday in it
    [XSHG.open]
    "2027-02-20" = "extra session"    # a session the library calls closed (e.g. a weekend day)

:func:`read_operator_file` reads it, every problem collected (a bad entry is left out, the good
ones are kept); :func:`apply` lays one calendar's :class:`Overlay` over the library's calendar.
A calendar the library lacks may be declared here alone: it is then weekdays minus its closures.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fund_common.calendars.model import WEEKDAYS, SessionCalendar, weekdays_only

__all__ = ["DEFAULT_OPERATOR_FILE", "Overlay", "apply", "read_operator_file"]

#: Where the operator file is looked for unless the caller says otherwise (relative to the checkout).
DEFAULT_OPERATOR_FILE = "config/calendars.toml"
_KEYS = ("known_until", "closed", "open")
_RANGE = ".."
_DATE_FORMS = "YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"
_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Overlay:
    """One calendar's table of the operator file, ranges expanded to days."""

    name: str
    #: The file's name, appended to the calendar's source.
    source: str
    known_until: dt.date | None = None
    #: Days without a session -> the holiday's name (a weekend day here only removes an extra session).
    closed: Mapping[dt.date, str] = field(default_factory=dict)
    #: Days with a session the library calls closed -> why.
    open: Mapping[dt.date, str] = field(default_factory=dict)

    def span(self) -> tuple[dt.date, dt.date] | None:
        """The first and last day the overlay names (known_until included); None for none."""
        days = [*self.closed, *self.open, *([self.known_until] if self.known_until else [])]
        return (min(days), max(days)) if days else None


def read_operator_file(path: Path | str) -> tuple[dict[str, Overlay], list[str]]:
    """The overlays of the file at ``path`` by calendar name, and its problems, each naming the
    file, the calendar and the key. A missing file is no overlay and no problem."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        return {}, []
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"{path}: cannot be read: {exc}"]
    overlays: dict[str, Overlay] = {}
    problems: list[str] = []
    for name, table in document.items():
        if not isinstance(table, dict):
            problems.append(f"{path}: {name} must be a table [{name}], not {table!r}")
            continue
        overlays[name] = _overlay(path, name, table, problems)
    return overlays, problems


def _overlay(path: Path, name: str, table: dict[str, Any], problems: list[str]) -> Overlay:
    where = f"{path}: [{name}]"
    for key in table:
        if key not in _KEYS:
            problems.append(f"{where} unknown key {key!r} (known: {', '.join(_KEYS)})")
    known_until = _known_until(table.get("known_until"), where, problems)
    closed = _days(table.get("closed", {}), f"{path}: [{name}.closed]", weekdays=True, problems=problems)
    opened = _days(table.get("open", {}), f"{path}: [{name}.open]", weekdays=False, problems=problems)
    for day in sorted(closed.keys() & opened.keys()):
        problems.append(f"{where} {day} is both closed and open (left out of both)")
        del closed[day], opened[day]
    return Overlay(name, path.name, known_until, closed, opened)


def _known_until(value: Any, where: str, problems: list[str]) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        problems.append(f"{where} known_until = {value!r} is not a date (YYYY-MM-DD)")
        return None


def _days(entries: Any, where: str, *, weekdays: bool, problems: list[str]) -> dict[dt.date, str]:
    """Each day an entry names -> its text; a range covers its weekdays (``weekdays``) or every day."""
    if not isinstance(entries, dict):
        problems.append(f'{where} must be a table of {_DATE_FORMS} = "name", not {entries!r}')
        return {}
    days: dict[dt.date, str] = {}
    for key, text in entries.items():
        if not isinstance(text, str):
            problems.append(f"{where} {key!r} = {text!r}: the value must be a string (the reason)")
            continue
        start_text, is_range, end_text = key.partition(_RANGE)
        try:
            start = dt.date.fromisoformat(start_text.strip())
            end = dt.date.fromisoformat(end_text.strip()) if is_range else start
        except ValueError:
            problems.append(f"{where} {key!r} is not a date ({_DATE_FORMS})")
            continue
        if end < start:
            problems.append(f"{where} {key!r}: the range ends before it starts")
            continue
        day = start
        while day <= end:
            if not (is_range and weekdays) or day.weekday() in WEEKDAYS:
                days[day] = text
            day += _ONE_DAY
    return days


def apply(base: SessionCalendar | None, name: str, overlay: Overlay | None) -> SessionCalendar:
    """``base`` with ``overlay``'s closures and openings, its known range extended to
    ``known_until`` and to every day the overlay names, its source ending in `` + <file name>``.

    Without a base (a calendar the library lacks, or one that knows no day) the result is a
    weekdays calendar over the overlay's span, minus its closures, plus its openings. Without an
    overlay: ``base`` itself (or a calendar of weekdays that knows no day).
    """
    if base is not None and base.first > base.last:
        base = None
    span = overlay.span() if overlay is not None else None
    if overlay is None or span is None:
        return base if base is not None else weekdays_only(name)
    if base is None:
        first, last = span
        closed: dict[dt.date, str] = {}
        extra: dict[dt.date, str] = {}
        source = f"weekdays + {overlay.source}"
    else:
        first, last = min(base.first, span[0]), max(base.last, span[1])
        closed, extra = dict(base.closed), dict(base.extra)
        source = f"{base.source} + {overlay.source}"
    for day, why in overlay.closed.items():
        if day.weekday() in WEEKDAYS:
            closed[day] = why
        else:
            extra.pop(day, None)
    for day, why in overlay.open.items():
        if day.weekday() in WEEKDAYS:
            closed.pop(day, None)
        else:
            extra[day] = why
    return SessionCalendar(name, first, last, closed=closed, extra=extra, source=source)
