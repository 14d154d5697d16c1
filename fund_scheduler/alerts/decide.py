"""Which finished run deserves an alert, and the rate limit.

:func:`alert_for` decides from the row and the job's earlier rows (read from the history, so a
restart between a failure and the next success changes nothing):

* a status of :data:`fund_common.runstatus.ALERTED` (failed, timeout, missed, interrupted): always,
  except a failed attempt with a retry planned (the row's ``retry_at``): only the last attempt
  is alerted;
* ``skipped``: from the ``skipped_after``-th skipped row in a row of that job;
* ``success``: kind ``recovered`` when the job's previous finished row was an alerted failure, or
  ended a streak of alerted skips; a retry's success looks past the earlier attempts of its
  series (never alerted) to what came before the first.

:class:`RateLimiter` lets at most one alert per (job, kind) through per interval and counts the
others.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from fund_common.runstatus import ALERTED, RAN, RunStatus
from fund_common.texttable import last_line
from fund_scheduler.alerts.messages import ERROR_CHARS, Alert
from fund_scheduler.store import history

__all__ = ["HISTORY_LOOKBACK", "RateLimiter", "alert_for"]

HISTORY_LOOKBACK = 100  # rows read back to find the previous outcome / count a skip streak


def _run_log(log_dir: Path | None, row: dict[str, Any]) -> str | None:
    """The run's own log, ``<log_dir>/<job>/<execution>.log`` (the layout of
    ``fund_scheduler.run.joblog.run_log_path``, which this room may not import); None for a row
    that never ran."""
    if log_dir is None or row.get("id") is None or row["status"] not in RAN:
        return None
    return str(log_dir / row["job_id"] / f"{row['id']}.log")


def alert_for(
    engine: Engine, row: dict[str, Any], *, skipped_after: int = 2, log_dir: Path | None = None
) -> Alert | None:
    """The alert a finished history ``row`` calls for, or None. Reads the job's earlier rows."""
    status = row["status"]
    base = Alert(
        job_id=row["job_id"],
        kind=status,
        status=status,
        execution_id=row.get("id"),
        scheduled_run_time=row.get("scheduled_run_time"),
        trigger=row.get("trigger"),
        error=last_line(row.get("error"), ERROR_CHARS),
        log_path=_run_log(log_dir, row),
        host=row.get("host") or socket.gethostname(),
        attempt=row.get("attempt") or 1,
    )
    if status in ALERTED:
        return None if row.get("retry_at") is not None else base
    if status not in (RunStatus.SKIPPED, RunStatus.SUCCESS) or row.get("id") is None:
        return None
    before_id = row.get("first_execution_id") or row["id"]  # a retry: before its first attempt
    earlier = history.previous_statuses(engine, row["job_id"], before_id, limit=HISTORY_LOOKBACK)
    skips = next((i for i, s in enumerate(earlier) if s != RunStatus.SKIPPED), len(earlier))
    if status == RunStatus.SKIPPED:
        in_a_row = skips + 1
        return replace(base, in_a_row=in_a_row) if in_a_row >= skipped_after else None
    before = earlier[skips] if skips < len(earlier) else None
    if before in ALERTED:
        return replace(base, kind="recovered", previous_status=before)
    if skips >= skipped_after:
        return replace(base, kind="recovered", previous_status=f"{skips} skipped runs")
    return None


class RateLimiter:
    """At most one pass per key per ``interval`` seconds of ``clock``; counts the refused ones."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, str], now: float | None = None) -> tuple[bool, int]:
        """(True, suppressed since the last pass) to send; (False, suppressed so far) to hold back."""
        now = self.clock() if now is None else now
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False, self._suppressed[key]
            self._last[key] = now
            return True, self._suppressed.pop(key, 0)
