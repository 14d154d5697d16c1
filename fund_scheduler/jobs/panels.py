"""Running the dashboard panels job packages contribute (see :mod:`fund_scheduler.jobs.declare`).

Each panel's answer is normalised to ``name``, ``title``, ``ok``, ``error``, ``text``, ``data``,
``tables``, ``notes`` and ``gauges``; a panel that raises is reported (``ok`` false, ``error``
its one-line reason), never raised, so one broken panel hides no other.

:func:`run_panels` runs the plain panels (``/health``, ``/metrics``, ``dashboard``) and skips
the views (panels that declare inputs). A view runs alone, on request, by :func:`run_view`: its
query checked first (:class:`PanelQueryError` naming the input), its answer normalised as a
panel's plus ``charts`` and ``query`` (the values it ran with), without ``gauges``.
:func:`describe_views` is the index of the views: name, title and inputs, in the reader's
language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fund_common.i18n import gettext as _
from fund_scheduler.jobs.declare import PanelInput

__all__ = [
    "QUERY_VALUE_MAX",
    "PanelQueryError",
    "UnknownPanel",
    "describe_views",
    "error_line",
    "find_view",
    "is_view",
    "panel_inputs",
    "panel_name",
    "run_panels",
    "run_view",
]

logger = logging.getLogger("scheduler.panels")

#: Longest query value looked at: a longer one is refused before its pattern is tried.
QUERY_VALUE_MAX = 200

Panel = Callable[..., dict[str, Any]]


class UnknownPanel(LookupError):
    """No view of that name."""

    def __init__(self, name: str):
        super().__init__(_("no panel {name} takes a query").format(name=repr(name)))
        self.name = name


class PanelQueryError(ValueError):
    """A query value missing or not matching its input's pattern; ``field`` names the input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def panel_name(panel: Panel) -> str:
    """The declared name, else ``module.function``."""
    declared = getattr(panel, "__panel_name__", None)
    if declared:
        return str(declared)
    return f"{panel.__module__}.{getattr(panel, '__name__', type(panel).__name__)}"


def panel_inputs(panel: Panel) -> tuple[PanelInput, ...]:
    return tuple(getattr(panel, "__panel_inputs__", ()) or ())


def is_view(panel: Panel) -> bool:
    """A panel that declares inputs: run on request, never by :func:`run_panels`."""
    return bool(panel_inputs(panel))


def _title(panel: Panel) -> str:
    declared = getattr(panel, "__panel_title__", None)
    return _(declared) if declared else panel_name(panel)


def error_line(exc: BaseException) -> str:
    """``Type: first line of the message``."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _answer(
    name: str, title: str, result: Mapping[str, Any] | None, reason: str | None, drawn: str
) -> dict[str, Any]:
    """A panel's answer normalised: what ``result`` holds, or (``reason``: it raised) the failure;
    ``drawn``: ``gauges`` (a panel's, exported by /metrics) or ``charts`` (a view's, drawn)."""
    if reason is not None:
        return {
            "name": name,
            "title": title,
            "ok": False,
            "error": reason,
            "text": _("unavailable: {reason}").format(reason=reason),
            "data": None,
            "tables": [],
            "notes": [],
            drawn: [],
        }
    result = result or {}
    return {
        "name": name,
        "title": result.get("title") or title,
        "ok": True,
        "error": None,
        "text": result.get("text", ""),
        "data": result.get("data"),
        "tables": list(result.get("tables") or []),
        "notes": list(result.get("notes") or []),
        drawn: list(result.get(drawn) or []),
    }


def run_panels(panels: Iterable[Panel], engine: Any, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Each plain panel's normalised answer, in order (views are skipped: they need a query)."""
    out = []
    for panel in panels:
        if is_view(panel):
            continue
        name = panel_name(panel)
        try:
            result = panel(engine, environ)
        except Exception as exc:  # noqa: BLE001 - one broken panel only degrades the health
            reason = error_line(exc)
            logger.warning("dashboard panel %s failed: %s", name, reason)
            out.append(_answer(name, name, None, reason, "gauges"))
            continue
        out.append(_answer(name, name, result, None, "gauges"))
    return out


def describe_views(panels: Iterable[Panel]) -> list[dict[str, Any]]:
    """The views among ``panels``: ``name``, ``title`` and ``inputs`` (``name``, ``label``,
    ``pattern``, ``required``, ``default``, ``example``, ``kind``), texts in the language in
    effect."""
    return [
        {
            "name": panel_name(panel),
            "title": _title(panel),
            "inputs": [
                {
                    "name": i.name,
                    "label": _(i.label),
                    "pattern": i.pattern,
                    "required": i.required,
                    "default": i.default,
                    "example": i.example,
                    "kind": i.kind,
                }
                for i in panel_inputs(panel)
            ],
        }
        for panel in panels
        if is_view(panel)
    ]


def find_view(panels: Iterable[Panel], name: str) -> Panel:
    """The view called ``name``; :class:`UnknownPanel` when none is (a plain panel is none)."""
    for panel in panels:
        if is_view(panel) and panel_name(panel) == name:
            return panel
    raise UnknownPanel(name)


def check_query(panel: Panel, query: Mapping[str, str]) -> dict[str, str | None]:
    """Every declared input's value: the one given (blank counts as none), else its default,
    else None. Names not declared are ignored. :class:`PanelQueryError` for a required input
    without a value or a value that does not match its pattern (the first, in declared order)."""
    out: dict[str, str | None] = {}
    for spec in panel_inputs(panel):
        given = query.get(spec.name)
        value = given if given not in (None, "") else spec.default
        label = _(spec.label)
        if value is None:
            if spec.required:
                problem = _("{label} ({name}) is required")
                raise PanelQueryError(spec.name, problem.format(label=label, name=spec.name))
        elif len(value) > QUERY_VALUE_MAX or not spec.matches(value):
            problem = _("{label} ({name}) {value} is not valid: it must match {pattern}")
            shown = repr(value[:40] + ("…" if len(value) > 40 else ""))
            raise PanelQueryError(
                spec.name, problem.format(label=label, name=spec.name, value=shown, pattern=spec.pattern)
            )
        out[spec.name] = value
    return out


def run_view(
    panels: Iterable[Panel], name: str, query: Mapping[str, str], engine: Any, environ: Mapping[str, str]
) -> dict[str, Any]:
    """The view ``name`` run on ``query`` (checked by :func:`check_query`), its answer
    normalised: ``name``, ``title``, ``ok``, ``error``, ``text``, ``data``, ``tables``, ``notes``,
    ``charts``, ``query``. :class:`UnknownPanel` and :class:`PanelQueryError` are raised; a view
    that raises is reported (``ok`` false), as a panel is."""
    panel = find_view(panels, name)
    values = check_query(panel, query)
    try:
        result = panel(engine, environ, dict(values))
    except Exception as exc:  # noqa: BLE001 - reported in the answer, as a panel's failure is
        reason = error_line(exc)
        logger.warning("dashboard view %s failed: %s", name, reason)
        return {**_answer(name, _title(panel), None, reason, "charts"), "query": values}
    return {**_answer(name, _title(panel), result, None, "charts"), "query": values}
