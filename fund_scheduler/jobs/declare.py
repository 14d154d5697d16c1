"""How job modules declare what they contribute: ``@scheduled`` and ``@check`` functions,
``command_job`` specs, ``@config_check`` functions and ``@dashboard_panel`` functions.

A job package is a plain package; :func:`fund_scheduler.jobs.registry.discover` imports each of
its modules and collects what these mark. Declaring runs nothing and imports nothing heavy.

A dashboard panel is ``fn(engine, environ) -> dict``; the dict may hold:

* ``title`` (str) and ``text`` (str): shown by ``dashboard`` in a terminal;
* ``data``: any JSON, passed through by ``/health`` and ``dashboard --json``;
* ``tables``: ``[{"title", "columns": [...], "rows": [[cell, ...], ...]}]`` rendered by the page;
  a cell is a string or number, or ``{"text": ..., "tone": "ok" | "run" | "warn" | "bad"}``;
* ``notes``: lines shown under the tables;
* ``gauges``: ``[{"name", "help", "labels": [...], "samples": [[[label values], value], ...]}]``
  exported by ``/metrics``.

The scheduler renders and exports whatever a panel declares, so a domain shows its own numbers
without the scheduler knowing the domain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from fund_scheduler.jobs.spec import JobSpec, schedule_of

__all__ = ["check", "command_job", "config_check", "dashboard_panel", "scheduled"]

F = TypeVar("F", bound=Callable[..., Any])


def scheduled(
    *,
    id: str,  # noqa: A002 - the natural name of the field
    name: str,
    cron: str | None = None,
    fields: Mapping[str, Any] | None = None,
    interval: str | float | None = None,
    at: str | datetime | None = None,
    **options: Any,
) -> Callable[[F], F]:
    """Declare the decorated function (taking a JobContext) as a scheduled job.

    Its schedule is exactly one of ``cron`` (or cron ``fields``), ``interval`` (``"15m"``, ``"90s"``,
    ``"2h"``, ``"1d"``, ``"1h30m"`` or seconds) and ``at`` (once: an ISO 8601 time or a datetime;
    without an offset, in the job's timezone); ConfigError naming the job otherwise.
    """
    when = schedule_of(id, cron, fields, interval, at)

    def decorate(fn: F) -> F:
        description = options.pop("description", None) or (fn.__doc__ or "").strip().split("\n")[0]
        spec = JobSpec(
            id=id,
            name=name,
            func=f"{fn.__module__}:{fn.__qualname__}",
            description=description,
            **when,
            **options,
        )
        fn.__job_spec__ = spec  # type: ignore[attr-defined]
        return fn

    return decorate


def check(
    *,
    id: str,  # noqa: A002
    name: str,
    cron: str | None = None,
    fields: Mapping[str, Any] | None = None,
    interval: str | float | None = None,
    at: str | datetime | None = None,
    **options: Any,
) -> Callable[[F], F]:
    """Declare the decorated function as a check job (``kind="check"``): scheduled like
    ``@scheduled``, it returns a check result (``{"ok", "summary", "details"}``, see
    :mod:`fund_scheduler.jobs.checks`); the daemon keeps the state and alerts on its changes."""
    if "kind" in options:
        raise ValueError(f"job {id}: @check declares kind='check' itself; do not pass kind")
    return scheduled(
        id=id, name=name, cron=cron, fields=fields, interval=interval, at=at, kind="check", **options
    )


def command_job(
    *,
    id: str,  # noqa: A002
    name: str,
    cron: str | None = None,
    fields: Mapping[str, Any] | None = None,
    command: Iterable[str] | None = None,
    interval: str | float | None = None,
    at: str | datetime | None = None,
    **options: Any,
) -> JobSpec:
    """Declare a job that runs an external command (argv, no shell), scheduled as ``@scheduled``."""
    return JobSpec(
        id=id,
        name=name,
        command=tuple(command) if command else None,
        **schedule_of(id, cron, fields, interval, at),
        **options,
    )


def config_check(fn: F) -> F:
    """Mark ``fn(environ) -> [problem, ...]`` as a check run by ``check-config`` and at start."""
    fn.__config_check__ = True  # type: ignore[attr-defined]
    return fn


def dashboard_panel(fn: F) -> F:
    """Mark ``fn(engine, environ) -> dict`` as a dashboard panel (see the module docstring)."""
    fn.__dashboard_panel__ = True  # type: ignore[attr-defined]
    return fn
