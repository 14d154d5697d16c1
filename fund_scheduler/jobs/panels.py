"""Running the dashboard panels job packages contribute (see :mod:`fund_scheduler.jobs.declare`).

Each panel's answer is normalised to ``name``, ``title``, ``ok``, ``error``, ``text``, ``data``,
``tables``, ``notes`` and ``gauges``; a panel that raises is reported (``ok`` false, ``error``
its one-line reason), never raised, so one broken panel hides no other.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fund_scheduler.jobs.registry import Panel

__all__ = ["error_line", "panel_name", "run_panels"]

logger = logging.getLogger("scheduler.panels")


def panel_name(panel: Panel) -> str:
    return f"{panel.__module__}.{getattr(panel, '__name__', type(panel).__name__)}"


def error_line(exc: BaseException) -> str:
    """``Type: first line of the message``."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def run_panels(panels: Iterable[Panel], engine: Any, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Each panel's normalised answer, in order."""
    out = []
    for panel in panels:
        name = panel_name(panel)
        try:
            result = panel(engine, environ) or {}
        except Exception as exc:  # noqa: BLE001 - one broken panel only degrades the health
            reason = error_line(exc)
            logger.warning("dashboard panel %s failed: %s", name, reason)
            out.append(
                {
                    "name": name,
                    "title": name,
                    "ok": False,
                    "error": reason,
                    "text": f"unavailable: {reason}",
                    "data": None,
                    "tables": [],
                    "notes": [],
                    "gauges": [],
                }
            )
            continue
        out.append(
            {
                "name": name,
                "title": result.get("title", name),
                "ok": True,
                "error": None,
                "text": result.get("text", ""),
                "data": result.get("data"),
                "tables": list(result.get("tables") or []),
                "notes": list(result.get("notes") or []),
                "gauges": list(result.get("gauges") or []),
            }
        )
    return out
