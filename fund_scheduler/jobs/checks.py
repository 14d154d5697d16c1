"""What a check job returns: ``ok`` or a breach, a one-line summary and details.

A check job (``@check(...)``, ``kind="check"``) is a scheduled job whose function returns a plain
dict (a domain package need not import the scheduler to build one)::

    {"ok": False,
     "summary": "fund_nav has 2026-12-02 for 180/300 active funds (60 %), expected 2026-12-03 by 20:00",
     "details": {"table": "fund_nav", "expected": "2026-12-03", "found": "2026-12-02",
                 "coverage": 0.6, "sessions_behind": 1}}

* ``ok`` (bool, required): false is a breach;
* ``summary`` (str, required): one line of at most :data:`SUMMARY_CHARS` characters, shown by
  ``/health``, ``status``, the page and the alerts;
* ``details`` (object, optional): JSON shown in the alerts, by ``GET /api/checks`` and the
  page; each detail whose value is a number is also exported by ``/metrics`` as
  ``fund_scheduler_check_value{job,name}``.

The encoded result is at most :data:`RESULT_CHARS` characters, so it fits the history row's
output tail. :func:`parse_check_result` turns anything else into a :class:`CheckResultError`
naming what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fund_scheduler.jobs.results import as_json, result_line

__all__ = ["RESULT_CHARS", "SUMMARY_CHARS", "CheckResult", "CheckResultError", "parse_check_result"]

SUMMARY_CHARS = 300
RESULT_CHARS = 3000  # the output tail keeps 4000 characters: the result line fits, with room
KEYS = ("ok", "summary", "details")


class CheckResultError(ValueError):
    """A check function's return value is not a check result; the message names what is wrong."""


@dataclass(frozen=True)
class CheckResult:
    """A validated check result (see the module docstring)."""

    ok: bool
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        """``ok`` or ``breach``."""
        return "ok" if self.ok else "breach"


def parse_check_result(value: Any) -> CheckResult:
    """``value`` (a check function's return value, or its JSON read back) as a CheckResult."""
    if not isinstance(value, Mapping):
        raise CheckResultError(f"a check returns a dict with ok and summary, not {type(value).__name__}")
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise CheckResultError(f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(KEYS)}")
    ok, summary = value.get("ok"), value.get("summary")
    if not isinstance(ok, bool):
        raise CheckResultError(f"ok must be true or false, not {ok!r}")
    if not isinstance(summary, str) or not summary.strip():
        raise CheckResultError(f"summary must be a non-empty string, not {summary!r}")
    if "\n" in summary.strip() or len(summary) > SUMMARY_CHARS:
        raise CheckResultError(f"summary must be one line of at most {SUMMARY_CHARS} characters")
    details = value.get("details") or {}
    if not isinstance(details, Mapping):
        raise CheckResultError(f"details must be an object, not {type(details).__name__}")
    length = len(result_line(value))
    if length > RESULT_CHARS:
        raise CheckResultError(f"the result is {length} characters as JSON; at most {RESULT_CHARS}")
    return CheckResult(ok, summary.strip(), json.loads(as_json(dict(details))))
