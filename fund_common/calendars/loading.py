"""The calendars a process uses: stored (or computed) sessions with the operator file laid over.

:func:`load_calendars` is what the daemon, its child processes and the fund pipeline call;
:func:`refresh` is what ``calendars refresh`` (a child process of the daemon) calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from fund_common.calendars import cache
from fund_common.calendars.library import compute, library_version
from fund_common.calendars.model import SessionCalendar
from fund_common.calendars.operator_file import apply, read_operator_file
from fund_common.calendars.store import read_all, save

__all__ = ["Calendars", "compute_once", "load_calendars", "refresh"]


@dataclass(frozen=True)
class Calendars:
    """The calendars asked for, each usable (weekdays at worst), and what is wrong with them."""

    by_name: dict[str, SessionCalendar] = field(default_factory=dict)
    #: One line each: an operator file problem, a calendar without sessions, an unknown name.
    problems: list[str] = field(default_factory=list)


def load_calendars(
    engine: Engine | None,
    names: Iterable[str],
    operator_path: Path | str | None,
    *,
    compute_missing: bool = False,
) -> Calendars:
    """Each of ``names``: the calendar stored in ``engine`` (None: no database), else, with
    ``compute_missing``, computed by the library (never in the daemon: it imports pandas); then
    the operator file's overlay for it laid over. A name with neither sessions nor overlay is
    weekdays (every weekday a session) and a problem. Overlays of other names are ignored."""
    overlays, problems = read_operator_file(operator_path) if operator_path is not None else ({}, [])
    stored = read_all(engine) if engine is not None else {}
    by_name: dict[str, SessionCalendar] = {}
    for name in dict.fromkeys(names):
        base = stored[name].calendar if name in stored else None
        unknown = ""
        if base is None and compute_missing:
            try:
                base = compute_once(name)
            except ValueError as exc:
                unknown = str(exc)
        overlay = overlays.get(name)
        if base is None and overlay is None:
            problems.append(
                f"{unknown}: weekdays are used"
                if unknown
                else f"calendar {name} has no sessions yet (run `calendars refresh`): weekdays are used"
            )
        by_name[name] = apply(base, name, overlay)
    return Calendars(by_name, problems)


def compute_once(name: str) -> SessionCalendar:
    """:func:`~fund_common.calendars.library.compute`, taken from the host's cache when this
    library version computed it before (:mod:`fund_common.calendars.cache`), else kept there."""
    version = library_version()
    calendar = cache.cached(name, version)
    if calendar is None:
        calendar = compute(name)
        cache.keep(calendar, version)
    return calendar


def refresh(engine: Engine, names: Iterable[str], *, now: dt.datetime | None = None) -> list[str]:
    """Compute each of ``names`` with the library and store it; one line per calendar. Raises
    ValueError for an unknown name before anything is stored."""
    version = library_version() or "?"
    computed = [compute_once(name) for name in dict.fromkeys(names)]
    lines = []
    for calendar in computed:
        save(engine, calendar, version, now)
        lines.append(
            f"{calendar.name}: {calendar.first}..{calendar.last}, {len(calendar.closed)} closed weekdays"
            + (f", {len(calendar.extra)} weekend sessions" if calendar.extra else "")
            + f", {calendar.source}"
        )
    return lines
