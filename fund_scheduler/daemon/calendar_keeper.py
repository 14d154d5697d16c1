"""The daemon's exchange calendars: stored by a child process, loaded into the book, watched.

The daemon never imports ``exchange_calendars`` (nor pandas): a child process computes and stores
the sessions (``calendars refresh``), the daemon reads the table. :class:`CalendarKeeper`:

1. :meth:`~CalendarKeeper.prepare` (at start, after the migrations and before the job store is
   reconciled; on reload): each calendar an enabled job names that is not stored, or was stored
   by another ``exchange_calendars`` version than the installed one, is refreshed by running
   ``calendars refresh NAME...`` as a child process (no shell, at most :data:`REFRESH_TIMEOUT`
   seconds, its output logged to scheduler.log). Its failure is a warning and the weekday
   fallback, never a failed start. Then the calendars are loaded (the table, then the operator
   file) into :data:`~fund_scheduler.jobs.calendars.BOOK`.
2. :meth:`~CalendarKeeper.watch` (the main thread, at most once per :data:`WATCH_INTERVAL`):
   when the table's stamp (its latest ``computed_at``) changed, the calendars are loaded again.
3. After each load, :meth:`~CalendarKeeper.replan`: a calendar job whose stored next run time
   is now on a closed day moves to its next session; one whose next run skips a day that is now
   a session moves back to it.
4. :meth:`~CalendarKeeper.problems`: what loading found wrong (a calendar without sessions, an
   operator file problem) and each calendar whose known range ends within 60 days; the latter is
   also alerted (kind ``calendar_ending``) once per calendar per day.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.engine import Engine

from fund_common.calendars import SessionCalendar, ending_soon, load_calendars
from fund_common.calendars import cache as calendar_cache
from fund_common.calendars import store as calendar_store
from fund_common.calendars.library import library_version
from fund_scheduler import program
from fund_scheduler.alerts.messages import Alert
from fund_scheduler.jobs.calendars import BOOK
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.triggers import CalendarCronTrigger, after
from fund_scheduler.settings import Settings
from fund_scheduler.store.engine import describe_error, is_database_error

__all__ = ["REFRESH_TIMEOUT", "WATCH_INTERVAL", "CalendarKeeper", "calendar_problems", "used_calendars"]

logger = logging.getLogger("scheduler.calendars")

REFRESH_TIMEOUT = 120.0  # seconds the `calendars refresh` child may take
WATCH_INTERVAL = 60.0  # the table's stamp is read at most this often (seconds)
EXIT_UNKNOWN = 2  # `calendars refresh` exits 2 for an unknown name (nothing stored)


def used_calendars(registry: Registry) -> list[str]:
    """The calendars the enabled jobs of ``registry`` name, sorted."""
    return sorted({spec.calendar for spec in registry.enabled() if spec.calendar})


def calendar_problems(
    calendars: Iterable[SessionCalendar], loading: Iterable[str], today: dt.date, operator_file: str
) -> list[str]:
    """The problems of loading, then one line per calendar whose known range ends soon."""
    ending = (ending_soon(calendar, today, operator_file=operator_file) for calendar in calendars)
    return [*loading, *(line for line in ending if line)]


class CalendarKeeper:
    """Keeps the book of the daemon's calendars; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        scheduler: Any,
        notify: Callable[[Alert], object] | None = None,
        *,
        clock: Callable[[], dt.datetime],
        run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.engine = engine
        self.settings = settings
        self.scheduler = scheduler
        self.notify = notify
        self.clock = clock
        self.run = run
        self.monotonic = monotonic
        self.names: list[str] = []
        self._calendars: dict[str, SessionCalendar] = {}
        self._loading: list[str] = []
        self._stamp: dt.datetime | None = None
        self._next_watch = 0.0
        self._alerted: dict[str, dt.date] = {}
        self._watch_error: str | None = None
        #: Names the library does not know (e.g. declared in the operator file only): not refreshed
        #: again by this process.
        self._unknown: set[str] = set()

    # -- start and reload ----------------------------------------------------------------------
    def prepare(self, registry: Registry) -> None:
        """Refresh the calendars ``registry``'s enabled jobs name where needed, then load them.
        A database error is a warning (the weekday fallback), never raised."""
        self.names = used_calendars(registry)
        if not self.names:
            self.load()
            return
        try:
            self.refresh_needed()
            self.load()
        except Exception as exc:
            if not is_database_error(exc):
                raise
            logger.warning(
                "calendars %s not loaded: database unavailable (%s); weekdays are taken for sessions",
                ", ".join(self.names),
                describe_error(exc),
            )

    def refresh_needed(self) -> list[str]:
        """Run ``calendars refresh`` for the calendars not stored, or stored by another library
        version; return the names it was run for."""
        installed = library_version()
        stored = calendar_store.read_all(self.engine)
        stale = [
            name
            for name in self.names
            if name not in self._unknown
            and (name not in stored or (installed is not None and stored[name].library_version != installed))
        ]
        if not stale:
            return []
        if installed is None:
            logger.warning(
                "exchange_calendars is not installed: calendars %s not refreshed", ", ".join(stale)
            )
            return []
        for name in list(stale):
            why = "not stored" if name not in stored else f"stored by {stored[name].library_version}"
            from_cache = calendar_cache.cached(name, installed, self.settings.environ)
            if from_cache is not None:  # computed on this host before: no child needed
                calendar_store.save(self.engine, from_cache, installed)
                stale.remove(name)
                logger.info(
                    "calendar %s %s: stored from this host's cache of exchange_calendars %s",
                    name,
                    why,
                    installed,
                )
                continue
            logger.info("calendar %s %s: refreshing it with exchange_calendars %s", name, why, installed)
        if not stale:
            return []
        if self._refresh(stale) == EXIT_UNKNOWN and len(stale) > 1:
            for name in stale:  # one unknown name stores nothing: store the others one by one
                self._refresh([name])
        return stale

    def _refresh(self, names: list[str]) -> int | None:
        """Run the child; its output goes to scheduler.log. Its exit status, None when it did not end."""
        argv = program.python_command("calendars", "refresh", *names)
        try:
            done = self.run(
                argv,
                capture_output=True,
                text=True,
                timeout=REFRESH_TIMEOUT,
                check=False,
                env=dict(self.settings.environ) or None,  # the daemon's settings, not only os.environ
            )
        except subprocess.TimeoutExpired:
            logger.warning(
                "calendars refresh %s took longer than %.0fs and was killed: weekdays are taken for "
                "sessions where nothing is stored",
                " ".join(names),
                REFRESH_TIMEOUT,
            )
            return None
        except OSError as exc:
            logger.warning("calendars refresh %s could not start: %s", " ".join(names), exc)
            return None
        for line in (done.stdout + done.stderr).splitlines():
            if line.strip():
                logger.info("calendars refresh: %s", line)
        if done.returncode == EXIT_UNKNOWN and len(names) == 1:
            self._unknown.add(names[0])
        if done.returncode != 0:
            logger.warning(
                "calendars refresh %s failed (exit status %d): weekdays are taken for sessions where "
                "nothing is stored",
                " ".join(names),
                done.returncode,
            )
        return done.returncode

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> None:
        """Load :attr:`names` (the table, then the operator file) into the book; log the problems."""
        stamp = calendar_store.stamp(self.engine)
        loaded = load_calendars(self.engine, self.names, self.settings.calendars_file)
        BOOK.install(loaded.by_name)
        self._calendars, self._loading, self._stamp = dict(loaded.by_name), list(loaded.problems), stamp
        for problem in loaded.problems:
            logger.warning("calendars: %s", problem)
        for calendar in loaded.by_name.values():
            logger.info("calendar %s loaded: %s", calendar.name, _reach(calendar))
        self.alert_ending()

    def watch(self) -> bool:
        """At most once per :data:`WATCH_INTERVAL`: reload and replan when the stored calendars
        changed; alert a calendar ending soon (once a day). True when they were reloaded."""
        now = self.monotonic()
        if now < self._next_watch:
            return False
        self._next_watch = now + WATCH_INTERVAL
        try:
            changed = calendar_store.stamp(self.engine) != self._stamp
            if changed:
                logger.info("the stored calendars changed: loading them again")
                self.load()
                self.replan()
        except Exception as exc:
            if not is_database_error(exc):
                raise
            if self._watch_error is None:
                logger.warning("calendars not checked: database unavailable (%s)", describe_error(exc))
            self._watch_error = describe_error(exc)
            return False
        self._watch_error = None
        self.alert_ending()
        return changed

    def replan(self) -> list[str]:
        """Move each calendar job whose stored next run time is no longer its next fire time on a
        session (a closed day, or a day now open skipped); return their ids."""
        now = self.clock()
        moved = []
        for job in self.scheduler.get_jobs():
            trigger, stored = job.trigger, job.next_run_time
            if not isinstance(trigger, CalendarCronTrigger) or stored is None or stored <= now:
                continue  # paused, not a calendar job, or due (the loop's guard sees to it)
            closure = trigger.closure_at(stored)
            following = trigger.get_next_fire_time(None, after(now))
            if following is None or following == stored or (closure is None and following > stored):
                continue
            why = closure or f"a session of {trigger.calendar} now comes first"
            logger.info(
                "job=%s next run moved from %s to %s (%s)",
                job.id,
                stored.isoformat(),
                following.isoformat(),
                why,
            )
            self.scheduler.modify_job(job.id, next_run_time=following)
            moved.append(job.id)
        return moved

    # -- problems ------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """What loading found wrong, and each calendar whose known range ends soon."""
        return calendar_problems(
            self._calendars.values(), self._loading, self._today(), str(self.settings.calendars_file)
        )

    def alert_ending(self) -> None:
        """Alert each calendar whose known range ends soon, once per calendar per day."""
        if self.notify is None:
            return
        today = self._today()
        for name, calendar in self._calendars.items():
            line = ending_soon(calendar, today, operator_file=str(self.settings.calendars_file))
            if line is None or self._alerted.get(name) == today:
                continue
            self._alerted[name] = today
            self.notify(
                Alert(
                    job_id=name,
                    about="calendar",
                    kind="calendar_ending",
                    status="ending",
                    summary=line,
                    host=socket.gethostname(),
                )
            )

    def _today(self) -> dt.date:
        return self.clock().astimezone(self.settings.timezone).date()


def _reach(calendar: SessionCalendar) -> str:
    if calendar.first > calendar.last:
        return f"no day known ({calendar.source}): weekdays are sessions"
    return f"{calendar.first}..{calendar.last}, {len(calendar.closed)} closed weekdays ({calendar.source})"
