"""The registry: every job spec of the configured job packages, with ``jobs.toml`` applied.

:func:`load_registry` imports every module of the packages named by ``SCHEDULER_JOBS_PACKAGES``
(modules whose name starts with ``_`` are skipped), collects what they declare (see
:mod:`fund_scheduler.jobs.declare`), applies ``config/jobs.toml``
(:mod:`fund_scheduler.jobs.overrides`), runs the config checks and reports every problem at once.

Two kinds of trouble are kept apart. :attr:`Registry.problems` (a package that cannot be imported,
a bad ``jobs.toml``, a failing config check) refuse a start or a reload. :attr:`Registry.broken`
(a job module of a package that fails to import) does not: the daemon runs every other job,
sets the stored jobs it cannot find aside and reports the module until it imports again.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fund_scheduler.errors import ConfigError, UnknownJobError
from fund_scheduler.jobs.overrides import apply_override, read_overrides, resolve_command
from fund_scheduler.jobs.spec import JOB_ID_PATTERN, JobSpec

__all__ = ["Check", "Panel", "Registry", "apply_changes", "discover", "find_cycle", "load_registry"]

Check = Callable[[Mapping[str, str]], list[str]]
#: ``fn(engine, environ)``, or a view's ``fn(engine, environ, query)`` (see declare).
Panel = Callable[..., dict[str, Any]]


@dataclass
class Registry:
    """The effective job specs after overrides, plus the hooks job modules contributed."""

    specs: dict[str, JobSpec]
    checks: list[Check] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
    #: Job modules that failed to import: module name -> the error, one line.
    broken: dict[str, str] = field(default_factory=dict)

    def get(self, job_id: str) -> JobSpec:
        """The spec of ``job_id``; UnknownJobError (naming the known ids) when there is none."""
        try:
            return self.specs[job_id]
        except KeyError:
            raise UnknownJobError(job_id, list(self.specs)) from None

    def enabled(self) -> list[JobSpec]:
        return [s for s in self.specs.values() if s.enabled]

    def raise_problems(self) -> None:
        if self.problems:
            raise ConfigError("\n".join(self.problems))

    def broken_lines(self) -> list[str]:
        """One line per job module that failed to import."""
        return [f"job module {name!r} cannot be imported: {error}" for name, error in self.broken.items()]


def discover(
    packages: Iterable[str],
) -> tuple[list[JobSpec], list[Callable[..., Any]], list[str], dict[str, str]]:
    """Import every module of ``packages``; return declared specs, hooks, problems (packages that
    cannot be imported) and broken modules (module name -> error).

    Hooks are the functions marked by ``@config_check`` or ``@dashboard_panel``.
    """
    specs: list[JobSpec] = []
    hooks: list[Callable[..., Any]] = []
    problems: list[str] = []
    broken: dict[str, str] = {}
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
            except Exception as exc:  # noqa: BLE001 - reported; the other modules still load
                broken[info.name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
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
    return specs, hooks, problems, broken


def _declared(declared: list[JobSpec], default_tz: ZoneInfo, problems: list[str]) -> dict[str, JobSpec]:
    specs: dict[str, JobSpec] = {}
    for spec in declared:
        if not JOB_ID_PATTERN.fullmatch(spec.id):  # "$" alone would accept a trailing newline
            problems.append(f"job id {spec.id!r} must match {JOB_ID_PATTERN.pattern}")
            continue
        if spec.id in specs and specs[spec.id] is not spec:
            problems.append(f"job {spec.id!r} is defined twice ({specs[spec.id].target}, {spec.target})")
            continue
        wrong = spec.option_problems()
        if wrong:
            problems.extend(f"job {spec.id!r}: {line}" for line in wrong)
            continue
        try:
            spec.trigger(default_tz)
        except ConfigError as exc:  # names the job already
            problems.append(str(exc))
            continue
        except ValueError as exc:
            problems.append(f"job {spec.id!r}: invalid schedule: {exc}")
            continue
        specs[spec.id] = spec
    return specs


def find_cycle(after: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A circle of ``after`` (job -> the jobs it runs after) as ``[a, b, ..., a]``; None if none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(job_id: str) -> list[str] | None:
        state[job_id] = 1
        path.append(job_id)
        for upstream in after.get(job_id, ()):
            if state.get(upstream) == 1:
                return [*path[path.index(upstream) :], upstream]
            if upstream in after and upstream not in state:
                found = visit(upstream)
                if found:
                    return found
        path.pop()
        state[job_id] = 2
        return None

    for job_id in sorted(after):
        if job_id not in state:
            found = visit(job_id)
            if found:
                return found
    return None


def _chain_problems(specs: Mapping[str, JobSpec]) -> list[str]:
    """An ``after`` naming an unknown job; a circle of ``after``."""
    problems = []
    for job_id, spec in specs.items():
        missing = [a for a in spec.after if a not in specs]
        if missing:
            problems.append(f"job {job_id!r}: runs after unknown job(s) {', '.join(missing)}")
    cycle = find_cycle({job_id: spec.after for job_id, spec in specs.items()})
    if cycle:
        problems.append(f"jobs run after each other in a circle: {' -> '.join(cycle)}")
    return problems


def apply_changes(
    registry: Registry, changes: Mapping[str, Mapping[str, Any]], default_tz: ZoneInfo
) -> Registry:
    """``registry`` with the runtime changes on top (the database's ``job_changes``: per job id
    ``fields`` with the names of ``jobs.toml``, ``removed``, ``changed_by``): a removed job is
    gone, the fields apply as a ``jobs.toml`` table would (a new id: a command job). Each bad
    change is a problem naming the job; the registry's own problems are kept."""
    specs = dict(registry.specs)
    problems = list(registry.problems)
    for job_id, change in sorted(changes.items()):
        if change.get("removed"):
            specs.pop(job_id, None)
            continue
        base = specs.get(job_id)
        fields = dict(change.get("fields") or {})
        try:
            spec = apply_override(base, job_id, fields, default_tz)
        except (ValueError, ConfigError) as exc:
            problems.append(f"runtime change of job {job_id!r}: {exc}")
            continue
        specs[job_id] = replace(
            spec,
            overridden=base.overridden if base is not None else (),
            changed=tuple(sorted(fields)),
            changed_by=change.get("changed_by"),
        )
    return replace(registry, specs=dict(sorted(specs.items())), problems=problems + _chain_problems(specs))


def _view_problems(panels: Iterable[Panel]) -> list[str]:
    """Two views (panels taking a query) of one name: the URL could not tell them apart."""
    from fund_scheduler.jobs.panels import is_view, panel_name

    seen: dict[str, str] = {}
    problems = []
    for panel in panels:
        if not is_view(panel):
            continue
        name, where = panel_name(panel), f"{panel.__module__}.{getattr(panel, '__qualname__', '')}"
        if name in seen:
            problems.append(f"dashboard panel {name!r} is declared twice ({seen[name]}, {where})")
        seen[name] = where
    return problems


def load_registry(
    packages: Iterable[str],
    overrides_path: Path,
    default_tz: ZoneInfo,
    environ: Mapping[str, str] | None = None,
) -> Registry:
    """Discover specs, apply overrides and config checks; collect every problem, raise none."""
    environ = os.environ if environ is None else environ
    declared, hooks, problems, broken = discover(packages)
    checks = [h for h in hooks if getattr(h, "__config_check__", False)]
    panels = [h for h in hooks if getattr(h, "__dashboard_panel__", False)]
    problems.extend(_view_problems(panels))
    specs = _declared(declared, default_tz, problems)
    overrides, override_problems = read_overrides(overrides_path)
    problems.extend(override_problems)
    for job_id, values in overrides.items():
        try:
            specs[job_id] = apply_override(specs.get(job_id), job_id, values, default_tz)
        except (ValueError, ConfigError) as exc:
            problems.append(f"{overrides_path.name} [jobs.{job_id}]: {exc}")
    for job_id, spec in list(specs.items()):
        specs[job_id] = resolve_command(spec, environ)
    problems.extend(_chain_problems(specs))
    for check in checks:
        try:
            problems.extend(check(environ))
        except Exception as exc:  # noqa: BLE001 - a broken check is itself a problem
            problems.append(f"config check {check.__module__}.{check.__name__} failed: {exc}")
    return Registry(
        specs=dict(sorted(specs.items())), checks=checks, problems=problems, panels=panels, broken=broken
    )
