"""A check job function for the tests: returns what ``<SCHEDULER_HOME>/check-result.json`` holds
(``{"raise": "why"}`` raises RuntimeError instead), so a test sets each run's result."""

from __future__ import annotations

import json
from typing import Any

RESULT_FILE = "check-result.json"


def set_result(home, value: Any) -> None:
    """What the next run of :func:`stub_check` under ``home`` returns."""
    (home / RESULT_FILE).write_text(json.dumps(value))


def breach(summary: str = "t has 2026-12-02, expected 2026-12-03 by 20:00", **details: Any) -> dict:
    return {"ok": False, "summary": summary, "details": {"table": "t", "coverage": 0.6, **details}}


def ok(summary: str = "t has 2026-12-03 for 10/10 funds") -> dict:
    return {"ok": True, "summary": summary, "details": {"table": "t", "coverage": 1.0}}


def stub_check(ctx) -> Any:
    """The check: the file's value, or RuntimeError when it says ``{"raise": why}``."""
    value = json.loads((ctx.settings.home / RESULT_FILE).read_text())
    if isinstance(value, dict) and "raise" in value:
        raise RuntimeError(value["raise"])
    return value
