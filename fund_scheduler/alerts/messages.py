"""An alert and how it reads: plain text (mail, Slack), markdown (WeCom, DingTalk), JSON.

A check job's alerts (``stale_data`` when a check goes into breach, ``fresh_again`` when it ends,
see :mod:`fund_scheduler.alerts.checks`) carry the check's ``summary``, its ``details`` and, for
``fresh_again``, how long the breach lasted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

__all__ = ["CHECK_KINDS", "ERROR_CHARS", "PRODUCT", "Alert"]

PRODUCT = "fund-scheduler"
ERROR_CHARS = 500  # an alert carries the error's last line, cut to this many characters
#: A check job's alert kinds and how their title says them.
CHECK_KINDS = {"stale_data": "stale data", "fresh_again": "fresh again"}


@dataclass(frozen=True)
class Alert:
    """One notice about one execution of a job."""

    job_id: str
    kind: str  # a status of ALERTED, "skipped" or "recovered"
    status: str  # the row's status (``success`` for ``recovered``)
    execution_id: int | None = None
    scheduled_run_time: datetime | None = None
    trigger: str | None = None
    error: str | None = None  # the error's last line
    log_path: str | None = None
    host: str | None = None
    previous_status: str | None = None  # what ``recovered`` recovered from
    in_a_row: int = 1  # skipped rows in a row, for ``skipped``
    attempt: int = 1  # the attempt that failed (the last one; retries before it not alerted)
    suppressed: int = 0  # alerts of this job and kind suppressed since the last one sent
    summary: str | None = None  # a check's one line (stale_data, fresh_again)
    details: tuple[tuple[str, str], ...] = ()  # a check's details, (name, value as text)
    since: datetime | None = None  # stale_data: the breach began; fresh_again: it began
    lasted: float | None = None  # fresh_again: seconds the breach lasted
    #: What ``job_id`` names: ``job``, or ``calendar`` (kind ``calendar_ending``: an exchange
    #: calendar whose known range ends soon; no execution, ``summary`` says when and what to do).
    about: str = "job"

    @property
    def title(self) -> str:
        if self.kind == "recovered":
            what = f"recovered (success after {self.previous_status})"
        elif self.kind == "skipped":
            what = f"skipped {self.in_a_row} times in a row"
        elif self.kind == "blocked" and self.error:
            what = f"blocked: {blocked_summary(self.error)}"
        elif self.kind == "calendar_ending":
            return f"{PRODUCT}: calendar {self.job_id} ending soon"
        elif self.kind in CHECK_KINDS:
            what = CHECK_KINDS[self.kind] + (f" (after {_duration(self.lasted)})" if self.lasted else "")
        else:
            what = self.status + (f" after {self.attempt} attempts" if self.attempt > 1 else "")
        return f"{PRODUCT}: job {self.job_id} {what}"

    def fields(self, tz: tzinfo = UTC) -> list[tuple[str, str]]:
        """The message's lines as (label, value), in order."""
        if self.scheduled_run_time is not None:
            local = self.scheduled_run_time.astimezone(tz)
            scheduled = f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"
        else:
            scheduled = f"none ({self.trigger or 'manual'} run)"
        status = self.status if self.kind != "recovered" else f"success, after {self.previous_status}"
        rows = [("Job", self.job_id), ("Status", status), ("Scheduled", scheduled)]
        if self.about != "job":
            rows = [(self.about.capitalize(), self.job_id)]
        if self.summary:
            rows.append(("Summary", self.summary))
        rows += [(f"  {name}", value) for name, value in self.details]
        if self.since is not None:
            since = self.since.astimezone(tz)
            rows.append(("Breach since", f"{since:%Y-%m-%d %H:%M:%S} {since.tzname()}"))
        if self.lasted is not None:
            rows.append(("Breach lasted", _duration(self.lasted)))
        if self.error:
            rows.append(("Error", self.error))
        if self.log_path:
            rows.append(("Log", self.log_path))
        if self.execution_id is not None:
            rows.append(("Execution", f"{self.execution_id} on {self.host or '?'}"))
        if self.suppressed:
            rows.append(
                ("Suppressed", f"{self.suppressed} earlier {self.kind} alert(s) of this job (rate limit)")
            )
        return rows

    def text(self, tz: tzinfo = UTC) -> str:
        return "\n".join([self.title, *(f"{label}: {value}" for label, value in self.fields(tz))])

    def markdown(self, tz: tzinfo = UTC) -> str:
        lines = [f"**{_md(self.title)}**", ""]
        for label, value in self.fields(tz):
            shown = "`" + value.replace("`", "'") + "`" if label in ("Error", "Log") else _md(value)
            lines.append(f"- {label}: {shown}")
        return "\n".join(lines)

    def as_json(self, tz: tzinfo = UTC) -> dict[str, Any]:
        """The generic webhook body."""
        return {
            "job": self.job_id,
            "status": self.status,
            "kind": self.kind,
            "scheduled_run_time": (
                self.scheduled_run_time.astimezone(tz).isoformat() if self.scheduled_run_time else None
            ),
            "error": self.error,
            "log_path": self.log_path,
            "execution_id": self.execution_id,
            "host": self.host,
            "suppressed": self.suppressed,
            "previous_status": self.previous_status,
            "summary": self.summary,
            "details": dict(self.details),
            "breach_seconds": self.lasted,
            "about": self.about,
            "text": self.text(tz),
        }


def _duration(seconds: float | None) -> str:
    """``2h 05m``, ``12m``, ``40s``."""
    total = int(seconds or 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def blocked_summary(error: str) -> str:
    """A ``blocked`` row's error in short: ``waiting for a: failed at 19:02 (execution 8); b: not
    run yet for 2026-12-03`` -> ``waiting for a (failed), b (not run yet)``."""
    head, found, rest = error.partition("waiting for ")
    if not found or head:
        return error
    prefix = "any of " if rest.startswith("any of ") else ""
    parts = []
    for part in rest.removeprefix(prefix).split("; "):
        name, _, state = part.partition(": ")
        word = re.split(r" (?:at|since|for) ", state, maxsplit=1)[0]
        parts.append(f"{name} ({word})" if word else name)
    return f"waiting for {prefix}{', '.join(parts)}"


def _md(text: str) -> str:
    for char in "\\*_`[]":
        text = text.replace(char, f"\\{char}")
    return text
