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

A panel that declares **inputs** is a *view*: it is not run by ``/health``, ``/metrics`` or
``dashboard`` but on request, with a query (``GET /api/panels/<name>?code=000001``; the index
of views with their inputs is ``GET /api/panels``). It is ``fn(engine, environ, query) -> dict``,
``query`` holding every declared input (the value given, else its ``default``, else None),
each checked against its pattern before the function runs::

    @dashboard_panel(
        name="fund",
        title=N_("Fund"),
        inputs=[PanelInput("code", N_("fund code"), pattern="[0-9]{6}", required=True)],
    )
    def fund_view(engine, environ, query): ...

``name`` (default ``module.function``) is the panel's name in URLs; ``title`` and each input's
``label`` are marked with ``N_`` and translated where shown, in the reader's language. A view's
answer may hold, besides ``title``, ``tables``, ``notes``, ``text`` and ``data`` (``gauges`` are
not exported):

* ``charts``: ``[{"title", "y_label", "series": [{"name", "points": [["2026-12-01", 1.234],
  ...]}]}]``, line charts over dates drawn by the page;
* table cells that open another query of a view (a drill-down): ``{"text": "12", "query":
  {"panel": "<name>", "rule": "positive_nav", "day": "2026-12-01"}}``.

The texts of an answer (titles, columns, notes) are the panel's to translate (``_()``): it runs
in the reader's language. Bare ``@dashboard_panel`` (no arguments) still marks a plain panel.

The scheduler renders and exports whatever a panel declares, so a domain shows its own numbers
without the scheduler knowing the domain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, overload

from fund_scheduler.jobs.spec import JobSpec, schedule_of

__all__ = [
    "INPUT_KINDS",
    "RESERVED_INPUTS",
    "PanelInput",
    "check",
    "command_job",
    "config_check",
    "dashboard_panel",
    "scheduled",
]

F = TypeVar("F", bound=Callable[..., Any])

#: How the page asks for an input (the ``type`` of its ``<input>``).
INPUT_KINDS = ("text", "date", "number")
#: Query names a view's input may not take: the page's language switch and a drill-down's target.
RESERVED_INPUTS = ("lang", "panel")
_INPUT_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_PANEL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class PanelInput:
    """One query field of a view: ``name`` (``[a-z][a-z0-9_]*``), ``label`` (``N_``-marked),
    ``pattern`` (a regular expression a value must match whole; keep it to the syntax Python
    and the browser share), ``required``, ``default`` (used when the query has no value),
    ``example`` (the field's placeholder) and ``kind`` (one of :data:`INPUT_KINDS`).
    ValueError on a bad declaration."""

    name: str
    label: str
    pattern: str
    required: bool = False
    default: str | None = None
    example: str = ""
    kind: str = "text"

    def __post_init__(self) -> None:
        if not _INPUT_NAME.fullmatch(self.name) or self.name in RESERVED_INPUTS:
            raise ValueError(
                f"panel input {self.name!r}: a name must match {_INPUT_NAME.pattern}, not "
                f"{' or '.join(RESERVED_INPUTS)}"
            )
        try:
            compiled = re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"panel input {self.name!r}: bad pattern {self.pattern!r}: {exc}") from None
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"panel input {self.name!r}: kind must be one of {', '.join(INPUT_KINDS)}")
        if self.default is not None and not compiled.fullmatch(self.default):
            raise ValueError(
                f"panel input {self.name!r}: default {self.default!r} does not match its pattern"
            )

    def matches(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value) is not None


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


@overload
def dashboard_panel(fn: F, /) -> F: ...


@overload
def dashboard_panel(
    *, name: str | None = None, title: str | None = None, inputs: Iterable[PanelInput] = ()
) -> Callable[[F], F]: ...


def dashboard_panel(
    fn: Any = None,
    /,
    *,
    name: str | None = None,
    title: str | None = None,
    inputs: Iterable[PanelInput] = (),
) -> Any:
    """Mark ``fn(engine, environ) -> dict`` as a dashboard panel; with ``inputs``,
    ``fn(engine, environ, query) -> dict`` as a view run on request (see the module docstring).
    Bare (``@dashboard_panel``) or called (``@dashboard_panel(name=..., title=..., inputs=[...])``).
    ValueError on a bad name or two inputs of one name."""
    declared = tuple(inputs)
    if name is not None and not _PANEL_NAME.fullmatch(name):
        raise ValueError(f"dashboard panel name {name!r} must match {_PANEL_NAME.pattern}")
    names = [i.name for i in declared]
    if len(set(names)) != len(names):
        raise ValueError(f"dashboard panel {name or ''}: inputs named twice: {', '.join(names)}")

    def decorate(panel: F) -> F:
        panel.__dashboard_panel__ = True  # type: ignore[attr-defined]
        panel.__panel_name__ = name  # type: ignore[attr-defined]
        panel.__panel_title__ = title  # type: ignore[attr-defined]
        panel.__panel_inputs__ = declared  # type: ignore[attr-defined]
        return panel

    return decorate(fn) if fn is not None else decorate
