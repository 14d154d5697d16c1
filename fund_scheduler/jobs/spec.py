"""What the daemon knows of a job: a :class:`JobSpec`.

A spec names the job (a stable id), its schedule (cron fields, in its own timezone or the
daemon's) and how it runs: a Python function ``"module:function"`` called with a
:class:`~fund_scheduler.run.context.JobContext`, or an argv command run without a shell.
"""

from __future__ import annotations

import importlib
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from fund_scheduler.errors import ConfigError
from fund_scheduler.jobs.params import Param
from fund_scheduler.jobs.triggers import build_cron, crontab_to_fields

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
]

#: A job id names its log file, so it is never a path.
JOB_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: An exchange calendar's name as exchange_calendars spells them (``XSHG``, ``XNYS``, ``24/7``).
CALENDAR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_-]{0,31}$")
#: ``process``: a child process in its own process group (the default); ``thread``: light
#: housekeeping run in the daemon's own thread.
EXECUTORS = ("process", "thread")
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
    executor: str = "process"
    enabled: bool = True
    disabled_reason: str | None = None
    #: Jobs this one runs after, once per business date (its cron time is then its deadline).
    after: tuple[str, ...] = ()
    after_mode: str = "all"
    on_late: str = "run"
    #: An exchange calendar (``XSHG``): the cron fires on that exchange's sessions only.
    calendar: str | None = None
    kind: str = "run"
    #: Every ``interval`` seconds (``schedule`` then empty), or once ``at`` this aware time.
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
    workdir: str | None = None
    command_env: str | None = None
    overridden: tuple[str, ...] = field(default=(), compare=False)

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
            if value not in allowed:
                problems.append(f"{name} {value!r} is not one of {', '.join(allowed)}")
        if self.id in self.after:
            problems.append("after names the job itself")
        if self.calendar is not None and not CALENDAR_NAME.fullmatch(self.calendar):
            problems.append(f"calendar {self.calendar!r} is not an exchange name such as 'XSHG'")
        return problems

    def zone(self, default: ZoneInfo) -> ZoneInfo:
        return job_zone(self.timezone, f"timezone of job {self.id}") if self.timezone else default

    def trigger(self, default_tz: ZoneInfo) -> CronTrigger:
        """The APScheduler CronTrigger of this spec in its (or the default) timezone, on its
        exchange calendar's sessions when it has one."""
        return build_cron(self.schedule, self.zone(default_tz), self.calendar)

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


def resolve(ref: str) -> Callable[..., Any]:
    """Import ``module:function`` (dots allowed after the colon)."""
    module_name, _, attr = ref.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    return target
