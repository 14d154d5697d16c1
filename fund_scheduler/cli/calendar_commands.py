"""The exchange calendars: ``calendars refresh`` (compute with exchange_calendars and store) and
``calendars show`` (a calendar's known range and closed days, the operator file laid over).

The CLI may import exchange_calendars (and so pandas); the daemon never does: it runs
``calendars refresh`` in a child process, logs its lines and reads the table: ``refresh`` prints
English in every language (the log stays English).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fund_common.i18n import gettext as _
from fund_scheduler.cli.context import Cli
from fund_scheduler.cli.output import (
    error,
    fmt_time,
    format_table,
    json_language,
    print_json,
    warning,
    weekday,
)
from fund_scheduler.errors import ConfigError, SchedulerError
from fund_scheduler.settings import Settings

if TYPE_CHECKING:
    from fund_common.calendars import SessionCalendar

__all__ = ["COMMANDS"]

pass_cli = click.make_pass_decorator(Cli)
#: Refreshed by default even before anything is stored: the bundled fund jobs run on it.
DEFAULT_CALENDAR = "XSHG"
_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group(epilog="Exit status: 0; 1 the database refused; 2 an unknown calendar, a bad option or file.")
def calendars() -> None:
    """Exchange sessions: the days jobs with a `calendar` run on and the fund pipeline counts,
    from exchange_calendars (stored by `calendars refresh`) and the operator's calendars.toml."""


@calendars.command(
    epilog="Exit status: 0 stored; 1 no exchange_calendars table (run `db upgrade`) or the database "
    "refused; 2 a calendar unknown to exchange_calendars or one it cannot compute (then nothing is stored)."
)
@click.argument("names", nargs=-1, metavar="[NAME]...")
@pass_cli
def refresh(cli: Cli, names: tuple[str, ...]) -> int:
    """Compute each calendar NAME's sessions with exchange_calendars and store them, one line
    each (default: the calendars stored already, and XSHG). The daemon runs this in a child
    process; a calendar ending within 60 days is a warning on stderr."""
    from fund_common.calendars import ending_soon, load_calendars
    from fund_common.calendars import refresh as refresh_calendars
    from fund_common.calendars.store import stored_names
    from fund_common.calendars.table import exchange_calendars
    from fund_scheduler.store.engine import has_tables

    settings = cli.settings
    engine = cli.existing_engine()  # never creates a database
    if engine is None:
        raise SchedulerError(f"no database at {settings.masked_database_url}: run `db upgrade`")
    try:
        if not has_tables(engine, exchange_calendars.name):
            raise SchedulerError(
                f"database {settings.masked_database_url} has no exchange_calendars table yet: "
                "run `db upgrade` (the daemon does at start)"
            )
        chosen = list(names) or [DEFAULT_CALENDAR, *stored_names(engine)]
        try:
            lines = refresh_calendars(engine, chosen)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        loaded = load_calendars(engine, chosen, settings.calendars_file)
    finally:
        engine.dispose()
    for line in lines:
        print(line)
    today = _today(settings)
    for calendar in loaded.by_name.values():
        ending = ending_soon(calendar, today, operator_file=str(settings.calendars_file))
        if ending:
            warning(ending, err=True)
    for problem in loaded.problems:
        warning(problem, err=True)
    return 0


@calendars.command(
    epilog="Exit status: 0; 2 a calendar neither stored, nor known to exchange_calendars, nor in the "
    "operator file, a bad date, or problems in the operator file (printed after the calendar)."
)
@click.argument("name")
@click.option(
    "--from", "start", type=_DATE, metavar="DATE", help="First day listed (default: 1 Jan this year)."
)
@click.option("--to", "end", type=_DATE, metavar="DATE", help="Last day listed (default: 31 Dec next year).")
@click.option("--json", "as_json", is_flag=True, help="Print the calendar as JSON.")
@pass_cli
def show(cli: Cli, name: str, start: dt.datetime | None, end: dt.datetime | None, as_json: bool) -> int:
    """Print calendar NAME as jobs and the fund pipeline see it: its known range, days left,
    source, and the closed days and weekend sessions from --from to --to, with the operator file
    laid over. Reads the stored calendar; when none is stored, computes it (nothing is stored)."""
    from fund_common.calendars import ending_soon

    settings = cli.settings
    today = _today(settings)
    first = start.date() if start else dt.date(today.year, 1, 1)
    last = end.date() if end else dt.date(today.year + 1, 12, 31)
    if last < first:
        raise ConfigError(
            _("calendars show: --to {last} is before --from {first}").format(last=last, first=first)
        )
    path = settings.calendars_file  # SCHEDULER_CALENDARS_FILE, default config/calendars.toml
    with json_language(as_json):
        calendar, stored, problems = _calendar(cli, name, path)
        ending = ending_soon(calendar, today, operator_file=str(path))
    closed, extra = _window(calendar.closed, first, last), _window(calendar.extra, first, last)
    if as_json:
        knows = calendar.first <= calendar.last
        print_json(
            {
                "name": calendar.name,
                "first": calendar.first.isoformat() if knows else None,
                "last": calendar.last.isoformat() if knows else None,
                "days_left": calendar.days_left(today) if knows else None,
                "source": calendar.source,
                "stored": stored,
                "operator_file": str(path),
                "from": first.isoformat(),
                "to": last.isoformat(),
                "closed": [_day(day, why) for day, why in closed],
                "weekend_sessions": [_day(day, why) for day, why in extra],
                "warning": ending,
                "problems": problems,
            }
        )
    else:
        _print_calendar(calendar, today, stored, path)
        _print_days(_("closed weekdays {first}..{last}").format(first=first, last=last), closed, _("HOLIDAY"))
        if extra:
            _print_days(_("weekend sessions {first}..{last}").format(first=first, last=last), extra, _("WHY"))
        if calendar.first <= calendar.last < last:
            print(
                _("after {day} nothing is known: every weekday is taken for a session").format(
                    day=calendar.last
                )
            )
        if ending:
            warning(ending)
    for problem in problems:
        error(problem)
    return 2 if problems else 0


def _calendar(cli: Cli, name: str, path: Path) -> tuple[SessionCalendar, dict[str, str] | None, list[str]]:
    """The calendar (stored, else computed; then the operator file), how it was stored, the
    operator file's problems. ConfigError when neither the table, the library nor the file has it."""
    from fund_common.calendars.library import compute
    from fund_common.calendars.operator_file import apply, read_operator_file
    from fund_common.calendars.store import read_all

    engine = cli.existing_engine()
    try:
        row = read_all(engine).get(name) if engine is not None else None
    finally:
        if engine is not None:
            engine.dispose()
    overlays, problems = read_operator_file(path)
    base = row.calendar if row is not None else None
    if base is None:
        try:
            base = compute(name)
        except ValueError as exc:
            if name not in overlays:
                raise ConfigError(
                    _("{reason}; nor does {path} declare it").format(reason=exc, path=path)
                ) from None
    stored = (
        {"computed_at": row.computed_at.isoformat(), "library_version": row.library_version}
        if row is not None
        else None
    )
    return apply(base, name, overlays.get(name)), stored, problems


def _print_calendar(
    calendar: SessionCalendar, today: dt.date, stored: dict[str, str] | None, path: Path
) -> None:
    if calendar.first <= calendar.last:
        left = calendar.days_left(today)
        print(
            _("{name}: known {first}..{last} ({n} days left)").format(
                name=calendar.name, first=calendar.first, last=calendar.last, n=left
            )
        )
    else:
        print(_("{name}: no day known (every weekday is taken for a session)").format(name=calendar.name))
    print(_("source: {source}").format(source=calendar.source))
    if stored is not None:
        print(
            _("stored: {time} by exchange_calendars {version}").format(
                time=fmt_time(stored["computed_at"]), version=stored["library_version"]
            )
        )
    else:
        print(_("stored: no (computed now; `calendars refresh` stores it)"))
    if path.is_file():
        print(_("operator file: {path}").format(path=path))
    else:
        print(_("operator file: {path} (absent)").format(path=path))


def _print_days(title: str, days: list[tuple[dt.date, str]], why: str) -> None:
    print(f"{title}: {len(days)}")
    if days:
        rows = [(day, weekday(day), text) for day, text in days]
        print(format_table(rows, [_("DATE"), _("DAY"), why], indent="  "))


def _window(days: Mapping[dt.date, str], first: dt.date, last: dt.date) -> list[tuple[dt.date, str]]:
    return [(day, why) for day, why in sorted(days.items()) if first <= day <= last]


def _day(day: dt.date, why: str) -> dict[str, str]:
    return {"date": day.isoformat(), "weekday": f"{day:%a}", "name": why}


def _today(settings: Settings) -> dt.date:
    """Today in the scheduler's timezone."""
    from fund_common.clock import utcnow

    return utcnow().astimezone(settings.timezone).date()


COMMANDS = [calendars]
