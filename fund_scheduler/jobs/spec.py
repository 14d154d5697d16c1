"""What the daemon knows of a job: a :class:`JobSpec`.

A spec names the job (a stable id), its schedule (cron fields, an interval or a one-off time, in
its own timezone or the daemon's) and how it runs: a Python function ``"module:function"`` called with a
:class:`~fund_scheduler.run.context.JobContext`, or an argv command run without a shell.
"""

from __future__ import annotations

import importlib
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from fund_scheduler.errors import ConfigError
from fund_scheduler.jobs.params import Param
from fund_scheduler.jobs.triggers import (
    build_cron,
    build_date,
    build_interval,
    crontab_to_fields,
    parse_at,
    parse_duration,
)
from fund_scheduler.settings import QUEUE_NAME

__all__ = [
    "AFTER_MODES",
    "CALENDAR_NAME",
    "EXECUTORS",
    "JOB_ID_PATTERN",
    "KINDS",
    "ON_LATE",
    "JobSpec",
    "job_zone",
    "resolve",
    "schedule_fields",
    "schedule_of",
]

#: A job id names its log file, so it is never a path.
JOB_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: An exchange calendar's name as exchange_calendars spells them (``XSHG``, ``XNYS``, ``24/7``).
CALENDAR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_-]{0,31}$")
#: ``process``: a child process of the active daemon, in its own process group; ``thread``:
#: light housekeeping run in the daemon's own thread; ``celery``: a child process on a worker
#: host (``worker -Q QUEUE``), handed over through the broker. A job that names none gets
#: SCHEDULER_EXECUTOR's (``process`` unless set).
EXECUTORS = ("process", "thread", "celery")
#: ``run``: an ordinary job; ``check``: a job whose function returns a check result (``ok`` or
#: ``breach`` with details, see :mod:`fund_scheduler.jobs.checks`) that the daemon alerts on.
KINDS = ("run", "check")
#: ``all``: a dependent runs when every job of ``after`` has succeeded for the business date;
#: ``any``: when one has.
AFTER_MODES = ("all", "any")
#: What a dependent does when its upstream jobs succeed after its deadline (its cron time) passed:
#: ``run`` once, or ``skip`` that business date.
ON_LATE = ("run", "skip")


def job_zone(name: str, what: str) -> ZoneInfo:
    """The IANA zone ``name``; ConfigError naming ``what`` (e.g. ``timezone of job x``) when unknown."""
    from fund_common.envreader import parse_timezone

    try:
        return parse_timezone(name)
    except ValueError:
        raise ConfigError(f"{what}={name!r} is not a known IANA timezone") from None


@dataclass(frozen=True)
class JobSpec:
    """Everything the daemon needs to schedule and run one job.

    Exactly one of ``func`` ("module:function", called with a JobContext) and ``command``
    (an argv list run without a shell) is set for an enabled job. The schedule is one of cron
    fields (``schedule``), an ``interval`` in seconds, or a one-off time ``at``.
    """

    id: str
    name: str
    schedule: Mapping[str, str]
    func: str | None = None
    command: tuple[str, ...] | None = None
    timezone: str | None = None
    description: str = ""
    max_instances: int = 1
    coalesce: bool = True
    misfire_grace_time: int | None = None
    timeout: float | None = None
    #: None: the daemon's default (SCHEDULER_EXECUTOR); see :data:`EXECUTORS`.
    executor: str | None = None
    #: The Celery queue a remote run goes to (None: SCHEDULER_QUEUE's); workers consume by queue.
    queue: str | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    #: Jobs this one runs after, once per business date (its cron time is then its deadline).
    after: tuple[str, ...] = ()
    after_mode: str = "all"
    on_late: str = "run"
    #: An exchange calendar (``XSHG``): the cron fires on that exchange's sessions only.
    calendar: str | None = None
    kind: str = "run"
    #: Every ``interval`` seconds (``schedule`` then empty), or once ``at`` this time (naive: a
    #: wall time in the job's timezone). Exactly one of ``schedule``, ``interval``, ``at``.
    interval: float | None = None
    at: datetime | None = None
    #: The run parameters the job accepts (see :mod:`fund_scheduler.jobs.params`).
    params: tuple[Param, ...] = ()
    #: A failed (or timed-out) run is retried up to ``retries`` times, the n-th retry after
    #: ``retry_backoff * 2**(n-1)`` seconds (with jitter), at most ``retry_backoff_max``.
    retries: int = 0
    retry_backoff: float = 60.0
    retry_backoff_max: float = 3600.0
    run_on_first_start: bool = False
    #: A Python job's run starts as a new interpreter (``exec JOB``), not forked by the fork
    #: server from its pre-imported state: for a job that changes interpreter-wide state.
    fresh_interpreter: bool = False
    workdir: str | None = None
    command_env: str | None = None
    overridden: tuple[str, ...] = field(default=(), compare=False)
    #: The fields a runtime change (the database's ``job_changes``) sets, and who changed them.
    changed: tuple[str, ...] = field(default=(), compare=False)
    changed_by: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.after, str | list):  # after="x" or after=["x"]: the natural spellings
            after = (self.after,) if isinstance(self.after, str) else tuple(self.after)
            object.__setattr__(self, "after", after)
        if isinstance(self.params, list):
            object.__setattr__(self, "params", tuple(self.params))

    def option_problems(self) -> list[str]:
        """What is wrong with this spec's choices (executor, kind, after_mode, on_late), one line each."""
        problems = []
        for name, value, allowed in (
            ("executor", self.executor, EXECUTORS),
            ("kind", self.kind, KINDS),
            ("after_mode", self.after_mode, AFTER_MODES),
            ("on_late", self.on_late, ON_LATE),
        ):
            if value not in allowed and not (name == "executor" and value is None):
                problems.append(f"{name} {value!r} is not one of {', '.join(allowed)}")
        if self.queue is not None and not QUEUE_NAME.fullmatch(str(self.queue)):
            problems.append(f"queue {self.queue!r} is not a queue name (letters, digits, _ . -)")
        if self.queue is not None and self.executor == "thread":
            problems.append("queue applies to executor 'celery' (or the default), not to 'thread'")
        if self.id in self.after:
            problems.append("after names the job itself")
        if self.calendar is not None and not CALENDAR_NAME.fullmatch(self.calendar):
            problems.append(f"calendar {self.calendar!r} is not an exchange name such as 'XSHG'")
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or not 0 <= self.retries <= 20:
            problems.append(f"retries {self.retries!r} is not a whole number from 0 to 20")
        backoffs = (("retry_backoff", self.retry_backoff), ("retry_backoff_max", self.retry_backoff_max))
        for field_name, seconds in backoffs:
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
                problems.append(f"{field_name} {seconds!r} is not a positive number of seconds")
        return problems

    def executor_in(self, default: str) -> str:
        """Where this job's runs go: its own ``executor``, else ``default`` (SCHEDULER_EXECUTOR)."""
        return self.executor or default

    def zone(self, default: ZoneInfo) -> ZoneInfo:
        return job_zone(self.timezone, f"timezone of job {self.id}") if self.timezone else default

    @property
    def schedule_kinds(self) -> list[str]:
        """Which of ``cron``, ``interval``, ``at`` this spec sets (one, when valid)."""
        given = {
            "cron": bool(self.schedule),
            "interval": self.interval is not None,
            "at": self.at is not None,
        }
        return [name for name, present in given.items() if present]

    def trigger(self, default_tz: ZoneInfo, now: datetime | None = None) -> BaseTrigger:
        """The trigger of this spec in its (or the default) timezone: a cron trigger (on its
        exchange calendar's sessions when it has one), an IntervalTrigger (first firing one
        interval after ``now``, default the current time) or a DateTrigger. ConfigError naming
        the job unless exactly one of cron, interval, at is set, or when ``calendar`` or
        ``after`` go with an interval or one-off."""
        kinds = self.schedule_kinds
        if len(kinds) != 1:
            raise ConfigError(
                f"job {self.id!r}: give exactly one of cron, interval, at (got {', '.join(kinds) or 'none'})"
            )
        zone = self.zone(default_tz)
        if kinds == ["cron"]:
            return build_cron(self.schedule, zone, self.calendar)
        for name, value in (("calendar", self.calendar), ("after", self.after)):
            if value:
                raise ConfigError(
                    f"job {self.id!r}: {name} applies to cron schedules only, not to {kinds[0]}"
                )
        if self.interval is not None:
            start = now + timedelta(seconds=self.interval) if now is not None else None
            return build_interval(self.interval, zone, start)
        assert self.at is not None
        return build_date(self.at, zone)

    @property
    def target(self) -> str:
        """What runs, in words: the function reference or the command line."""
        return self.func or shlex.join(self.command or ())

    @property
    def why_disabled(self) -> str:
        return self.disabled_reason or "enabled = false"


def schedule_fields(cron: str | None, fields: Mapping[str, Any] | None) -> dict[str, str]:
    """Cron fields from a crontab expression or from fields; ValueError unless exactly one is given."""
    if (cron is None) == (not fields):
        raise ValueError("give either cron='m h dom mon dow' or cron fields, not both or neither")
    return crontab_to_fields(cron) if cron is not None else {k: str(v) for k, v in (fields or {}).items()}


def schedule_of(
    job_id: str,
    cron: str | None = None,
    fields: Mapping[str, Any] | None = None,
    interval: Any = None,
    at: Any = None,
) -> dict[str, Any]:
    """The JobSpec keywords ``schedule``, ``interval``, ``at`` of a declaration; ConfigError naming
    the job and the fields unless exactly one of cron, cron fields, interval, at is given, and
    naming the field and value of a bad cron, duration or time."""
    given = {"cron": cron, "fields": fields or None, "interval": interval, "at": at}
    named = [name for name, value in given.items() if value is not None]
    if len(named) != 1:
        raise ConfigError(
            f"job {job_id!r}: give exactly one of cron, cron fields, interval, at "
            f"(got {', '.join(named) or 'none'})"
        )
    try:
        if interval is not None:
            return {"schedule": {}, "interval": parse_duration(interval), "at": None}
        if at is not None:
            return {"schedule": {}, "interval": None, "at": parse_at(at)}
        return {"schedule": schedule_fields(cron, fields), "interval": None, "at": None}
    except ValueError as exc:
        field_name = f"{named[0]} " if named[0] in ("interval", "at") else ""
        raise ConfigError(f"job {job_id!r}: {field_name}{exc}") from None


def resolve(ref: str) -> Callable[..., Any]:
    """Import ``module:function`` (dots allowed after the colon)."""
    module_name, _, attr = ref.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    return target
