"""How the CLI prints: times in a zone, tables, JSON, and a closed pipe handled quietly; the words of
states and statuses in the language in effect (:mod:`fund_common.i18n`; JSON keeps the values).

The ``error: `` and ``warning: `` prefixes stay English in every language: ``start`` and the
daemon's migration step read a child's ``error:`` lines, and scripts grep them."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fund_common import i18n
from fund_common.i18n import N_
from fund_common.i18n import gettext as _
from fund_common.runstatus import label as status_word
from fund_common.texttable import format_table

__all__ = [
    "error",
    "fmt_time",
    "format_table",
    "json_language",
    "print_json",
    "row_zone",
    "state_word",
    "status_word",
    "warning",
    "weekday",
]

#: The states a table shows besides the run statuses (:func:`status_word`): a job's
#: (``jobs``, ``status``), a check's, a backfill's and a backfill date's, the daemon's. A backfill
#: date's ``started`` stays English: the catalogue's ``started`` is the page's column heading.
_STATES = {
    "active": N_("active"),
    "paused": N_("paused"),
    "disabled": N_("disabled"),
    "done": N_("done"),
    "ok": N_("ok"),
    "breach": N_("breach"),
    "queued": N_("queued"),
    "pending": N_("pending"),
    "not running": N_("not running"),
}


def fmt_time(value: datetime | str | None, tz: ZoneInfo | None = None) -> str:
    """``2026-12-02 19:00:00 CST`` in ``tz`` (as stored, UTC, without one); ``-`` for None."""
    if value is None:
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if tz is not None:
        value = value.astimezone(tz)
    return value.strftime("%Y-%m-%d %H:%M:%S %Z")


def row_zone(row: Mapping[str, Any]) -> ZoneInfo:
    """The timezone of a job row."""
    return ZoneInfo(row["timezone"])


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def json_language(as_json: bool) -> AbstractContextManager[object]:
    """Where a command gathers what it prints: with ``as_json`` in English (the JSON a script reads
    is the same in every language, words a row carries too), else in the language in effect."""
    return i18n.use(i18n.DEFAULT_LANGUAGE) if as_json else nullcontext()


def print_json(data: Any) -> None:
    print(json.dumps(data, default=_json_default, indent=2))


def state_word(state: str | None) -> str:
    """A state or run status in words in the language in effect (``paused`` -> ``已暂停``); one
    not known here as it is, ``-`` for None."""
    if state is None:
        return "-"
    if state in _STATES:
        return _(_STATES[state])
    return status_word(state)


#: Monday first (the words :mod:`fund_scheduler.jobs.schedule_words` uses too).
_WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def weekday(day: date) -> str:
    """``day``'s short weekday name in the language in effect (``Mon``, ``周一``)."""
    return _(_WEEKDAYS[day.weekday()])


def error(line: str) -> None:
    """One ``error: ...`` line on stderr."""
    print(f"error: {line}", file=sys.stderr)


def warning(line: str, *, err: bool = False) -> None:
    """One ``warning: ...`` line on stdout (``err``: stderr)."""
    print(f"warning: {line}", file=sys.stderr if err else sys.stdout)
