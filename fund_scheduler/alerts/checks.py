"""Which change of a check job's state deserves an alert (a pure decision).

* into ``breach`` from ``ok``, or a first check ever that is a breach: ``stale_data``, with the
  check's summary and details;
* from ``breach`` to ``ok``: ``fresh_again``, with how long the breach lasted;
* an unchanged state, or a first check that is ``ok``: nothing.

The notifier's rate limit applies to both kinds, each its own (job, kind).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from fund_scheduler.alerts.messages import Alert
from fund_scheduler.jobs.checks import CheckResult

__all__ = ["DETAIL_CHARS", "check_alert"]

DETAIL_CHARS = 200  # a detail's value is cut to this many characters in an alert


def check_alert(
    row: Mapping[str, Any], result: CheckResult, previous: Mapping[str, Any] | None, now: datetime
) -> Alert | None:
    """The alert a check run's ``result`` calls for, given the job's ``previous`` state row
    (None: never checked); ``row`` is the run's history row, ``now`` the check's time."""
    before = previous["state"] if previous else None
    if result.state == before or (before is None and result.ok):
        return None
    base = Alert(
        job_id=row["job_id"],
        kind="fresh_again" if result.ok else "stale_data",
        status=result.state,
        execution_id=row.get("id"),
        scheduled_run_time=row.get("scheduled_run_time"),
        trigger=row.get("trigger"),
        host=row.get("host") or socket.gethostname(),
        summary=result.summary,
        details=tuple((str(k), _text(v)) for k, v in result.details.items()),
    )
    if not result.ok:
        return base
    assert previous is not None
    since = previous["since"]
    return replace(base, since=since, lasted=max((now - since).total_seconds(), 0.0))


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"
