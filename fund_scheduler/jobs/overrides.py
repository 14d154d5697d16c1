"""``config/jobs.toml``: operators change a job's schedule and limits, or add a command job,
without editing code.

::

    [jobs.daily_collection]
    cron = "30 18 * * mon-fri"     # or cron fields: hour = "18", minute = "30", ...
    timezone = "Asia/Shanghai"
    enabled = true
    timeout = 1800                 # seconds; the job's process group is killed after it

    [jobs.nightly_backup]          # an id no module defines: a new command job
    cron = "0 3 * * *"
    command = ["/usr/local/bin/backup", "--all"]

    [jobs.poll_inbox]              # every 15 minutes ("90s", "2h", "1d", "1h30m" or seconds)
    interval = "15m"
    command = ["/usr/local/bin/poll-inbox"]

    [jobs.year_end_export]         # once (no offset: in the job's timezone); then done
    at = "2026-12-31T18:00:00+08:00"
    command = ["/usr/local/bin/export", "--year"]

    [jobs.daily_metrics]
    calendar = "XSHG"              # fire on Shanghai Stock Exchange sessions only (false: every day)
    after = ["daily_validation"]   # once per business date, after it succeeded; cron = deadline
    after_mode = "all"             # "any": after one of them
    on_late = "run"                # upstream succeeded after the deadline: run once ("skip": don't)
    retries = 3                    # a failed or timed-out run runs again up to 3 times,
    retry_backoff = "1m"           # after 1m, 2m, 4m (±25 % jitter),
    retry_backoff_max = "30m"      # never waiting longer than this
    fresh_interpreter = false      # true: each run a new interpreter, not forked by the fork server
    executor = "celery"            # run on a worker host (process: here; default SCHEDULER_EXECUTOR)
    queue = "cpu"                  # the workers started with `worker -Q cpu` take its runs

    [jobs.nightly_backup.params.target]   # a run parameter (run-job --param target=db)
    type = "str"                   # str, int, float, bool, date
    default = "all"
    help = "what to back up"

Every problem names the file, the job and the field; none is raised, all are returned.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fund_scheduler.jobs.params import Param
from fund_scheduler.jobs.spec import CALENDAR_NAME, JOB_ID_PATTERN, JobSpec, job_zone, schedule_fields
from fund_scheduler.jobs.triggers import CRON_FIELDS, parse_at, parse_duration

__all__ = ["OVERRIDE_KEYS", "apply_override", "read_overrides", "resolve_command"]

OVERRIDE_KEYS = frozenset(
    {
        "cron",
        "interval",
        "at",
        "timezone",
        "enabled",
        "timeout",
        "command",
        "max_instances",
        "misfire_grace_time",
        "workdir",
        "name",
        "calendar",
        "after",
        "after_mode",
        "on_late",
        "retries",
        "retry_backoff",
        "retry_backoff_max",
        "fresh_interpreter",
        "executor",
        "queue",
        "params",
        *CRON_FIELDS,
    }
)


def read_overrides(path: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Parse ``jobs.toml``; a missing file means no overrides."""
    if not path.is_file():
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return {}, [f"{path}: not valid TOML: {exc}"]
    unknown_top = sorted(set(data) - {"jobs"})
    problems = (
        [f"{path}: unknown section(s) {', '.join(unknown_top)} (use [jobs.<id>])"] if unknown_top else []
    )
    jobs = data.get("jobs", {})
    if not isinstance(jobs, dict) or not all(isinstance(v, dict) for v in jobs.values()):
        return {}, [*problems, f"{path}: every entry must be a table [jobs.<id>]"]
    return jobs, problems


def apply_override(
    spec: JobSpec | None, job_id: str, values: Mapping[str, Any], default_tz: ZoneInfo
) -> JobSpec:
    """Return ``spec`` with ``values`` applied (a new command job when ``spec`` is None).

    Raises ValueError (or ConfigError for a timezone) naming the bad field.
    """
    unknown = sorted(set(values) - OVERRIDE_KEYS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}")
    changes = _schedule(values)
    if "timezone" in values:
        job_zone(str(values["timezone"]), f"[jobs.{job_id}] timezone")
        changes["timezone"] = str(values["timezone"])
    for key in ("enabled", "fresh_interpreter"):
        if key in values:
            if not isinstance(values[key], bool):
                raise ValueError(f"{key} must be true or false, got {values[key]!r}")
            changes[key] = values[key]
    for key in ("timeout", "misfire_grace_time", "max_instances"):
        if key in values:
            value = values[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{key} must be a positive number, got {value!r}")
            changes[key] = int(value) if key != "timeout" else float(value)
    for key in ("workdir", "name", "after_mode", "on_late", "executor", "queue"):
        if key in values:
            changes[key] = str(values[key])
    if "retries" in values:
        retries = values["retries"]
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise ValueError(f"retries must be a whole number from 0 to 20, got {retries!r}")
        changes["retries"] = retries
    for key in ("retry_backoff", "retry_backoff_max"):
        if key in values:
            changes[key] = _field(key, parse_duration, values[key])
    if "params" in values:
        changes["params"] = _params(values["params"])
    if "calendar" in values:
        changes["calendar"] = _calendar(values["calendar"])
    if "after" in values:
        changes["after"] = _after(values["after"])
    if "command" in values:
        changes["command"] = _command(values["command"], spec)
    if spec is None:
        if not JOB_ID_PATTERN.fullmatch(job_id):  # the id names log files: never a path
            raise ValueError(f"job id {job_id!r} must match {JOB_ID_PATTERN.pattern}")
        if "command" not in changes or "schedule" not in changes:
            raise ValueError("no module defines this job; a new job needs command and cron, interval or at")
        spec = JobSpec(id=job_id, name=job_id, schedule=changes["schedule"], command=changes["command"])
    spec = replace(spec, **changes, overridden=tuple(sorted(values)))
    wrong = spec.option_problems()
    if wrong:
        raise ValueError("; ".join(wrong))
    spec.trigger(default_tz)  # validates the schedule and timezone
    return spec


def _schedule(values: Mapping[str, Any]) -> dict[str, Any]:
    """The schedule ``values`` set (``schedule``, ``interval``, ``at``: all three, replacing the
    spec's), or nothing; ValueError naming the fields when more than one of cron (or cron fields),
    interval, at is given, or naming the field and value of a bad one."""
    cron_fields = {k: values[k] for k in CRON_FIELDS if k in values}
    given = [name for name in ("cron", "interval", "at") if name in values]
    if cron_fields and "cron" not in values:
        given.insert(0, "cron fields")
    if not given:
        return {}
    if len(given) > 1:  # cron with cron fields: schedule_fields says "not both"
        raise ValueError(f"give exactly one of cron (or cron fields), interval, at (got {', '.join(given)})")
    if "interval" in values:
        return {
            "schedule": {},
            "interval": _field("interval", parse_duration, values["interval"]),
            "at": None,
        }
    if "at" in values:
        return {"schedule": {}, "interval": None, "at": _field("at", parse_at, values["at"])}
    if not isinstance(values.get("cron", ""), str):
        raise ValueError(f"cron must be a string, got {values['cron']!r}")
    return {
        "schedule": schedule_fields(values.get("cron"), cron_fields or None),
        "interval": None,
        "at": None,
    }


def _field(name: str, parse: Any, value: Any) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{name} {exc}") from None


PARAM_KEYS = frozenset({"type", "default", "help", "required"})


def _params(value: Any) -> tuple[Param, ...]:
    """``[jobs.<id>.params.<name>]`` tables (type, default, help, required) as the job's
    declared run parameters; ValueError naming the parameter and key."""
    if not isinstance(value, dict):
        raise ValueError("params must be tables [jobs.<id>.params.<name>] with type, default, help, required")
    declared = []
    for name, table in value.items():
        if not isinstance(table, dict):
            raise ValueError(f"params.{name} must be a table (type, default, help, required)")
        unknown = sorted(set(table) - PARAM_KEYS)
        if unknown:
            raise ValueError(
                f"params.{name}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(PARAM_KEYS))})"
            )
        try:
            declared.append(
                Param(
                    name,
                    str(table.get("type", "str")),
                    table.get("default"),
                    str(table.get("help", "")),
                    bool(table.get("required", False)),
                )
            )
        except ValueError as exc:
            raise ValueError(f"params.{name}: {exc}") from None
    return tuple(declared)


def _calendar(value: Any) -> str | None:
    if value is False or value == "":
        return None  # calendar = false: the plain cron schedule
    if not isinstance(value, str) or not CALENDAR_NAME.fullmatch(value):
        raise ValueError(f'calendar must be an exchange name such as "XSHG" (or false), got {value!r}')
    return value


def _after(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"after must be a list of job ids, got {value!r}")
    return tuple(dict.fromkeys(value))


def _command(command: Any, spec: JobSpec | None) -> tuple[str, ...]:
    if isinstance(command, str):
        command = shlex.split(command)
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        raise ValueError("command must be a non-empty list of strings (argv, no shell)")
    if spec is not None and spec.func:
        raise ValueError("command cannot be set on a Python job")
    return tuple(command)


def resolve_command(spec: JobSpec, environ: Mapping[str, str]) -> JobSpec:
    """A command job's argv from its ``command_env`` variable when it has none; without any, the
    job is disabled, saying where to configure it."""
    if spec.func is not None:
        return spec
    if not spec.command and spec.command_env and environ.get(spec.command_env, "").strip():
        spec = replace(spec, command=tuple(shlex.split(environ[spec.command_env])))
    if not spec.command:
        where = f"set {spec.command_env} or " if spec.command_env else ""
        return replace(
            spec,
            enabled=False,
            disabled_reason=f"no command configured: {where}set command in [jobs.{spec.id}] of jobs.toml",
        )
    return spec
