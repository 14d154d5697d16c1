"""What a job function's return value becomes: one ``result: <json>`` line.

A Python job's return value is printed as the last line of its output, in a child process
(:mod:`fund_scheduler.run.child`) and in the daemon's thread alike (:mod:`fund_scheduler.run.runner`),
so it lands in the job log and in the history row's output tail in the same form. Times are
written in ISO 8601, anything else JSON does not know as its ``str``. :func:`result_in` reads it
back from an output tail (a check job's result: :mod:`fund_scheduler.jobs.checks`)::

    >>> result_line({"ok": True})
    'result: {"ok": true}'
    >>> result_in("loading...\\nresult: {\\"ok\\": true}\\n")
    {'ok': True}
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

__all__ = ["RESULT_PREFIX", "ResultMissing", "as_json", "result_in", "result_line"]

RESULT_PREFIX = "result: "


class ResultMissing(ValueError):  # noqa: N818 - a reason, read by the caller
    """An output tail holds no readable ``result:`` line; the message says why."""


def _json_default(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def as_json(value: Any) -> str:
    """``value`` as JSON text, times in ISO 8601, anything else JSON does not know as its ``str``."""
    return json.dumps(value, default=_json_default)


def result_line(value: Any) -> str:
    """``result: <value as JSON>`` (one line: JSON escapes every newline)."""
    return RESULT_PREFIX + as_json(value)


def result_in(output: str | None) -> Any:
    """The value of the last ``result:`` line of ``output``; ResultMissing naming why not."""
    for line in reversed((output or "").splitlines()):
        if line.startswith(RESULT_PREFIX):
            try:
                return json.loads(line[len(RESULT_PREFIX) :])
            except json.JSONDecodeError as exc:
                raise ResultMissing(f"the result line is not JSON ({exc.msg} at {exc.pos})") from None
    raise ResultMissing("the output has no 'result:' line (did the function return nothing?)")
