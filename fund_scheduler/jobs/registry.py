"""Job specifications, the ``@scheduled`` decorator, discovery and ``jobs.toml`` overrides.

A job module declares its job with ``@scheduled(...)`` on a function taking a
:class:`~fund_scheduler.jobs.context.JobContext`, or with a module-level ``command_job(...)`` for an
external command. :func:`load_registry` imports every module of the configured packages,
collects the declared specs, applies ``config/jobs.toml`` and reports every problem at once.

``config/jobs.toml``::

    [jobs.daily_collection]
    cron = "30 18 * * mon-fri"     # or cron fields: hour = "18", minute = "30", ...
    timezone = "Asia/Shanghai"
    enabled = true
    timeout = 1800                 # seconds; the job's process group is killed after it

    [jobs.nightly_backup]          # an id no module defines: a new command job
    cron = "0 3 * * *"
    command = ["/usr/local/bin/backup", "--all"]
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fund_scheduler.errors import ConfigError, UnknownJobError
from fund_scheduler.jobs.triggers import CRON_FIELDS, build_cron, crontab_to_fields
from fund_scheduler.settings import parse_timezone

JOB_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
EXECUTORS = ("process", "thread")


@dataclass(frozen=True)
class JobSpec:
    """Everything the daemon needs to schedule and run one job.

    Exactly one of ``func`` ("module:function", called with a JobContext) and ``command``
    (an argv list run without a shell) is set for an enabled job.
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
    after: tuple[str, ...] = ()
    run_on_first_start: bool = False
    workdir: str | None = None
    command_env: str | None = None
    overridden: tuple[str, ...] = field(default=(), compare=False)

    def zone(self, default: ZoneInfo) -> ZoneInfo:
        return parse_timezone(self.timezone, f"timezone of job {self.id}") if self.timezone else default

    def trigger(self, default_tz: ZoneInfo):
        """The APScheduler CronTrigger of this spec in its (or the default) timezone."""
        return build_cron(self.schedule, self.zone(default_tz))

    @property
    def target(self) -> str:
        return self.func or shlex.join(self.command or ())


def _schedule(cron: str | None, fields: Mapping[str, Any] | None) -> dict[str, str]:
    if (cron is None) == (not fields):
        raise ValueError("give either cron='m h dom mon dow' or cron fields, not both or neither")
    return crontab_to_fields(cron) if cron is not None else {k: str(v) for k, v in fields.items()}


def scheduled(
    *,
    id: str,  # noqa: A002 - the natural name of the field
    name: str,
    cron: str | None = None,
    fields: Mapping[str, Any] | None = None,
    **options: Any,
) -> Callable[[Callable], Callable]:
    """Declare the decorated function (taking a JobContext) as a scheduled job."""

    def decorate(fn: Callable) -> Callable:
        spec = JobSpec(
            id=id,
            name=name,
            schedule=_schedule(cron, fields),
            func=f"{fn.__module__}:{fn.__qualname__}",
            description=options.pop("description", None) or (fn.__doc__ or "").strip().split("\n")[0],
            **options,
        )
        fn.__job_spec__ = spec
        return fn

    return decorate


def command_job(
    *,
    id: str,  # noqa: A002
    name: str,
    cron: str | None = None,
    fields: Mapping[str, Any] | None = None,
    command: Iterable[str] | None = None,
    **options: Any,
) -> JobSpec:
    """Declare a job that runs an external command (argv, no shell)."""
    return JobSpec(
        id=id,
        name=name,
        schedule=_schedule(cron, fields),
        command=tuple(command) if command else None,
        **options,
    )


def config_check(fn: Callable[[Mapping[str, str]], list[str]]) -> Callable:
    """Mark ``fn(environ) -> [problem, ...]`` as a check run by ``check-config`` and at start."""
    fn.__config_check__ = True
    return fn


def dashboard_panel(fn: Callable[[Any, Mapping[str, str]], dict[str, Any]]) -> Callable:
    """Mark ``fn(engine, environ) -> {"title", "data", "text"}`` as a section of ``dashboard``.

    This is how a domain shows its own numbers (data freshness, say) without the scheduler
    knowing the domain: the job package contributes the panel.
    """
    fn.__dashboard_panel__ = True
    return fn


@dataclass
class Registry:
    """The effective job specs after overrides, plus hooks contributed by job modules."""

    specs: dict[str, JobSpec]
    checks: list[Callable[[Mapping[str, str]], list[str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    panels: list[Callable[[Any, Mapping[str, str]], dict[str, Any]]] = field(default_factory=list)

    def get(self, job_id: str) -> JobSpec:
        try:
            return self.specs[job_id]
        except KeyError:
            raise UnknownJobError(job_id, list(self.specs)) from None

    def enabled(self) -> list[JobSpec]:
        return [s for s in self.specs.values() if s.enabled]

    def raise_problems(self) -> None:
        if self.problems:
            raise ConfigError("; ".join(self.problems))


def discover(packages: Iterable[str]) -> tuple[list[JobSpec], list[Callable], list[str]]:
    """Import every module of ``packages``; return declared specs, hooks and problems.

    Hooks are the functions marked by :func:`config_check` or :func:`dashboard_panel`.
    """
    specs: list[JobSpec] = []
    hooks: list[Callable] = []
    problems: list[str] = []
    for package_name in packages:
        try:
            package = importlib.import_module(package_name)
        except Exception as exc:  # noqa: BLE001 - reported as a config problem
            problems.append(f"jobs package {package_name!r} cannot be imported: {exc}")
            continue
        modules = [package]
        for info in pkgutil.iter_modules(getattr(package, "__path__", []), package_name + "."):
            if info.name.rsplit(".", 1)[-1].startswith("_"):
                continue
            try:
                modules.append(importlib.import_module(info.name))
            except Exception as exc:  # noqa: BLE001
                problems.append(f"job module {info.name!r} cannot be imported: {exc}")
        for module in modules:
            for value in vars(module).values():
                if isinstance(value, JobSpec):
                    specs.append(value)
                elif callable(value) and getattr(value, "__module__", None) == module.__name__:
                    spec = getattr(value, "__job_spec__", None)
                    if isinstance(spec, JobSpec):
                        specs.append(spec)
                    if getattr(value, "__config_check__", False) or getattr(
                        value, "__dashboard_panel__", False
                    ):
                        hooks.append(value)
    return specs, hooks, problems


_OVERRIDE_KEYS = {
    "cron",
    "timezone",
    "enabled",
    "timeout",
    "command",
    "max_instances",
    "misfire_grace_time",
    "workdir",
    "name",
    *CRON_FIELDS,
}


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


def _apply_override(
    spec: JobSpec | None, job_id: str, values: Mapping[str, Any], default_tz: ZoneInfo
) -> JobSpec:
    """Return ``spec`` with ``values`` applied; raise ValueError naming the bad field."""
    unknown = sorted(set(values) - _OVERRIDE_KEYS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}")
    changes: dict[str, Any] = {}
    cron_fields = {k: values[k] for k in CRON_FIELDS if k in values}
    if "cron" in values or cron_fields:
        if not isinstance(values.get("cron", ""), str):
            raise ValueError(f"cron must be a string, got {values['cron']!r}")
        changes["schedule"] = _schedule(values.get("cron"), cron_fields or None)
    if "timezone" in values:
        parse_timezone(str(values["timezone"]), f"[jobs.{job_id}] timezone")
        changes["timezone"] = str(values["timezone"])
    if "enabled" in values:
        if not isinstance(values["enabled"], bool):
            raise ValueError(f"enabled must be true or false, got {values['enabled']!r}")
        changes["enabled"] = values["enabled"]
    for key in ("timeout", "misfire_grace_time", "max_instances"):
        if key in values:
            value = values[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{key} must be a positive number, got {value!r}")
            changes[key] = int(value) if key != "timeout" else float(value)
    for key in ("workdir", "name"):
        if key in values:
            changes[key] = str(values[key])
    if "command" in values:
        command = values["command"]
        if isinstance(command, str):
            command = shlex.split(command)
        if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
            raise ValueError("command must be a non-empty list of strings (argv, no shell)")
        if spec is not None and spec.func:
            raise ValueError("command cannot be set on a Python job")
        changes["command"] = tuple(command)
    if spec is None:
        if not JOB_ID_PATTERN.fullmatch(job_id):  # the id names log files: never a path
            raise ValueError(f"job id {job_id!r} must match {JOB_ID_PATTERN.pattern}")
        if "command" not in changes or "schedule" not in changes:
            raise ValueError("no module defines this job; a new job needs command and cron")
        spec = JobSpec(id=job_id, name=job_id, schedule=changes["schedule"], command=changes["command"])
    spec = replace(spec, **changes, overridden=tuple(sorted(values)))
    spec.trigger(default_tz)  # validates the schedule and timezone
    return spec


def _resolve_command(spec: JobSpec, environ: Mapping[str, str]) -> JobSpec:
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


def load_registry(
    packages: Iterable[str],
    overrides_path: Path,
    default_tz: ZoneInfo,
    environ: Mapping[str, str] | None = None,
) -> Registry:
    """Discover specs, apply overrides and config checks; collect every problem, raise none."""
    environ = os.environ if environ is None else environ
    declared, hooks, problems = discover(packages)
    checks = [h for h in hooks if getattr(h, "__config_check__", False)]
    panels = [h for h in hooks if getattr(h, "__dashboard_panel__", False)]
    specs: dict[str, JobSpec] = {}
    for spec in declared:
        if not JOB_ID_PATTERN.fullmatch(spec.id):  # "$" alone would accept a trailing newline
            problems.append(f"job id {spec.id!r} must match {JOB_ID_PATTERN.pattern}")
            continue
        if spec.id in specs and specs[spec.id] is not spec:
            problems.append(f"job {spec.id!r} is defined twice ({specs[spec.id].target}, {spec.target})")
            continue
        if spec.executor not in EXECUTORS:
            problems.append(f"job {spec.id!r}: executor {spec.executor!r} is not one of {EXECUTORS}")
            continue
        try:
            spec.trigger(default_tz)
        except (ValueError, ConfigError) as exc:
            problems.append(f"job {spec.id!r}: invalid schedule: {exc}")
            continue
        specs[spec.id] = spec
    overrides, override_problems = read_overrides(overrides_path)
    problems.extend(override_problems)
    for job_id, values in overrides.items():
        try:
            specs[job_id] = _apply_override(specs.get(job_id), job_id, values, default_tz)
        except (ValueError, ConfigError) as exc:
            problems.append(f"{overrides_path.name} [jobs.{job_id}]: {exc}")
    for job_id, spec in list(specs.items()):
        specs[job_id] = _resolve_command(spec, environ)
        missing = [a for a in spec.after if a not in specs]
        if missing:
            problems.append(f"job {job_id!r}: runs after unknown job(s) {', '.join(missing)}")
    for check in checks:
        try:
            problems.extend(check(environ))
        except Exception as exc:  # noqa: BLE001 - a broken check is itself a problem
            problems.append(f"config check {check.__module__}.{check.__name__} failed: {exc}")
    return Registry(specs=dict(sorted(specs.items())), checks=checks, problems=problems, panels=panels)
