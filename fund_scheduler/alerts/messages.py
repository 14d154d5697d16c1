"""An alert and how it reads: plain text (mail, Slack), markdown (WeCom, DingTalk), JSON.

Its title and labels are in the language in effect when it is formatted (the daemon's
``SCHEDULER_LANG``); the JSON body's keys and the status values in it stay the same in every
language, with the words in its ``text``.

A check job's alerts (``stale_data`` when a check goes into breach, ``fresh_again`` when it ends,
see :mod:`fund_scheduler.alerts.checks`) carry the check's ``summary``, its ``details`` and, for
``fresh_again``, how long the breach lasted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from fund_common.i18n import N_
from fund_common.i18n import gettext as _
from fund_common.runstatus import label as status_label

__all__ = ["CHECK_KINDS", "ERROR_CHARS", "PRODUCT", "Alert"]

PRODUCT = "fund-scheduler"
ERROR_CHARS = 500  # an alert carries the error's last line, cut to this many characters
#: A check job's alert kinds and how their title says them.
CHECK_KINDS = {"stale_data": N_("stale data"), "fresh_again": N_("fresh again")}
#: The labels of an alert's lines (the keys of :meth:`Alert.rows`), translated where shown.
LABELS = {
    "job": N_("Job"),
    "calendar": N_("Calendar"),
    "status": N_("Status"),
    "scheduled": N_("Scheduled"),
    "summary": N_("Summary"),
    "since": N_("Breach since"),
    "lasted": N_("Breach lasted"),
    "error": N_("Error"),
    "log": N_("Log"),
    "execution": N_("Execution"),
    "suppressed": N_("Suppressed"),
}
_VERBATIM = ("error", "log")  # shown as code in markdown


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
        status = status_label(self.status)
        if self.kind == "recovered":
            previous = status_label(self.previous_status or "")
            what = _("recovered (success after {status})").format(status=previous)
        elif self.kind == "skipped":
            what = _("skipped {n} times in a row").format(n=self.in_a_row)
        elif self.kind == "blocked" and self.error:
            what = _("blocked: {why}").format(why=blocked_summary(self.error))
        elif self.kind == "calendar_ending":
            title = _("{product}: calendar {calendar} ending soon")
            return title.format(product=PRODUCT, calendar=self.job_id)
        elif self.kind in CHECK_KINDS:
            what = _(CHECK_KINDS[self.kind])
            if self.lasted:
                what += _(" (after {duration})").format(duration=_duration(self.lasted))
        elif self.attempt > 1:
            what = _("{status} after {n} attempts").format(status=status, n=self.attempt)
        else:
            what = status
        return _("{product}: job {job} {what}").format(product=PRODUCT, job=self.job_id, what=what)

    def rows(self, tz: tzinfo = UTC) -> list[tuple[str, str]]:
        """The message's lines as (key of :data:`LABELS`, or ``  name`` of a check's detail;
        value), in order."""
        if self.scheduled_run_time is not None:
            local = self.scheduled_run_time.astimezone(tz)
            scheduled = f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"
        else:
            scheduled = _("none ({trigger} run)").format(trigger=self.trigger or _("manual"))
        status = status_label(self.status)
        if self.kind == "recovered":
            status = _("success, after {status}").format(status=status_label(self.previous_status or ""))
        rows = [("job", self.job_id), ("status", status), ("scheduled", scheduled)]
        if self.about != "job":
            rows = [(self.about, self.job_id)]
        if self.summary:
            rows.append(("summary", self.summary))
        rows += [(f"  {name}", value) for name, value in self.details]
        if self.since is not None:
            since = self.since.astimezone(tz)
            rows.append(("since", f"{since:%Y-%m-%d %H:%M:%S} {since.tzname()}"))
        if self.lasted is not None:
            rows.append(("lasted", _duration(self.lasted)))
        if self.error:
            rows.append(("error", self.error))
        if self.log_path:
            rows.append(("log", self.log_path))
        if self.execution_id is not None:
            rows.append(
                ("execution", _("{id} on {host}").format(id=self.execution_id, host=self.host or "?"))
            )
        if self.suppressed:
            rows.append(
                (
                    "suppressed",
                    _("{n} earlier {kind} alert(s) of this job (rate limit)").format(
                        n=self.suppressed, kind=self.kind
                    ),
                )
            )
        return rows

    def fields(self, tz: tzinfo = UTC) -> list[tuple[str, str]]:
        """The message's lines as (label in the language in effect, value), in order."""
        return [(_label(key), value) for key, value in self.rows(tz)]

    def text(self, tz: tzinfo = UTC) -> str:
        return "\n".join([self.title, *(f"{label}: {value}" for label, value in self.fields(tz))])

    def markdown(self, tz: tzinfo = UTC) -> str:
        lines = [f"**{_md(self.title)}**", ""]
        for key, value in self.rows(tz):
            shown = "`" + value.replace("`", "'") + "`" if key in _VERBATIM else _md(value)
            lines.append(f"- {_label(key)}: {shown}")
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


def _label(key: str) -> str:
    """A line's label: a :data:`LABELS` key translated; a check's detail name as it is."""
    return _(LABELS[key]) if key in LABELS else key


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
    run yet for 2026-12-03`` -> ``waiting for a (failed), b (not run yet)`` (the words around the
    names in the language in effect; the states as the row says them)."""
    head, found, rest = error.partition("waiting for ")
    if not found or head:
        return error
    prefix = "any of " if rest.startswith("any of ") else ""
    parts = []
    for part in rest.removeprefix(prefix).split("; "):
        name, _sep, state = part.partition(": ")
        word = re.split(r" (?:at|since|for) ", state, maxsplit=1)[0]
        parts.append(f"{name} ({word})" if word else name)
    names = ", ".join(parts)
    return _("waiting for any of {names}").format(names=names) if prefix else _("waiting for {names}").format(
        names=names
    )


def _md(text: str) -> str:
    for char in "\\*_`[]":
        text = text.replace(char, f"\\{char}")
    return text
