"""The calendars of a CLI process: loaded into the triggers' book so that ``next`` and ``jobs``
list the fire times the daemon fires, and their problems for ``status`` without a daemon.

Read from the ``exchange_calendars`` table and the operator file (``SCHEDULER_CALENDARS_FILE``);
with ``compute_missing`` a calendar not stored is computed by exchange_calendars (this is a CLI
process: it may import the library, the daemon never does). No database, or one that does not
answer: nothing stored.
"""

from __future__ import annotations

import datetime as dt

from fund_common.calendars import Calendars, load_calendars
from fund_scheduler.cli.context import Cli
from fund_scheduler.daemon.calendar_keeper import calendar_problems, used_calendars
from fund_scheduler.jobs.calendars import BOOK
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.store.engine import is_database_error

__all__ = ["calendar_config_problems", "load_book", "local_calendar_problems"]


def load_book(cli: Cli, registry: Registry, *, compute_missing: bool = True) -> Calendars:
    """Load the calendars ``registry``'s enabled jobs name into this process's book."""
    names, path = used_calendars(registry), cli.settings.calendars_file
    try:
        engine = cli.existing_engine()
    except Exception as exc:
        if not is_database_error(exc):
            raise
        engine = None
    try:
        loaded = load_calendars(engine, names, path, compute_missing=compute_missing)
    except Exception as exc:
        if engine is None or not is_database_error(exc):
            raise
        loaded = load_calendars(None, names, path, compute_missing=compute_missing)
    finally:
        if engine is not None:
            engine.dispose()
    BOOK.install(loaded.by_name)
    return loaded


def local_calendar_problems(cli: Cli, registry: Registry, today: dt.date) -> list[str]:
    """What the daemon would report of its calendars (:meth:`CalendarKeeper.problems`), read
    here without computing anything."""
    loaded = load_book(cli, registry, compute_missing=False)
    return calendar_problems(
        loaded.by_name.values(), loaded.problems, today, str(cli.settings.calendars_file)
    )


def calendar_config_problems(cli: Cli, registry: Registry) -> list[str]:
    """``check-config``'s view of the calendars (no database): each job naming a calendar neither
    exchange_calendars knows nor the operator file declares, and the operator file's problems.
    Imports the library (this is a CLI process)."""
    from fund_common.calendars.cache import cached
    from fund_common.calendars.library import known_names, library_version
    from fund_common.calendars.operator_file import read_operator_file

    path = cli.settings.calendars_file
    overlays, problems = read_operator_file(path) if path.is_file() else ({}, [])
    version = library_version()
    source = f"exchange_calendars {version}" if version else "exchange_calendars (not installed)"
    asked = {s.calendar for s in registry.enabled() if s.calendar and s.calendar not in overlays}
    unsure = {name for name in asked if cached(name, version) is None}  # the cache knows the rest
    known = set(known_names()) if unsure and version is not None else set()
    for spec in registry.enabled():
        if spec.calendar in unsure and spec.calendar not in known:
            problems.append(
                f"job {spec.id}: calendar {spec.calendar!r} is unknown to {source} and not declared in {path}"
            )
    return problems
