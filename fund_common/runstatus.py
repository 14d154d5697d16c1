"""The statuses of a run, and what each one means: declared once, here.

A run is ``running`` until it ends in one of the final statuses; a run handed to a worker on
another host is ``queued`` until a worker claims it (then ``running``). ``missed`` and ``skipped`` runs
never started (the daemon was down longer than the grace time; the previous run was still
going); nor did a ``blocked`` one (a dependent's deadline came before its upstream jobs had
succeeded for that business date: its error names them); the others ran a process. A
``coalesced`` row is a fire time merged into a later run
(after downtime or a late scheduler pass, with coalescing on): its error names the run that
covered it; it is not a run, so neither a failure nor a success, and never alerted. A
``cancelled`` run was stopped by an operator (its row says who): neither a success nor a
failure, never alerted. Everything
that counts, colours or alerts by status (history queries, alerts, the HTTP API and the page it
serves, the fund monitor and the weekly report) reads these sets instead of listing statuses of its own::

    >>> RunStatus("timeout") in FAILURES, RunStatus.TIMEOUT.tone
    (True, <Tone.BAD: 'bad'>)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from fund_common.i18n import N_
from fund_common.i18n import gettext as _

__all__ = [
    "ALERTED",
    "DISPLAY_ORDER",
    "FAILURES",
    "FINAL",
    "NOT_RUNS",
    "RAN",
    "UNFINISHED",
    "SEVERITY",
    "RunStatus",
    "Tone",
    "label",
    "success_rate",
    "vocabulary",
    "worst",
]


class Tone(StrEnum):
    """How a status looks: the colour class of the page and the report."""

    OK = "ok"
    RUN = "run"
    WARN = "warn"
    BAD = "bad"


class RunStatus(StrEnum):
    """The status of one execution (a ``job_executions`` row)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    MISSED = "missed"
    SKIPPED = "skipped"
    COALESCED = "coalesced"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL

    @property
    def failure(self) -> bool:
        """Final and not a success (counts against the success rate)."""
        return self in FAILURES

    @property
    def ran(self) -> bool:
        """A process ran (so the run has a duration)."""
        return self in RAN

    @property
    def tone(self) -> Tone:
        return _TONES[self]

    @property
    def label(self) -> str:
        """The status in words, in the language in effect (``失败`` for ``failed`` in zh_CN)."""
        return _(_LABELS[self])


#: A run not ended yet: waiting for a worker (``queued``) or going (``running``).
UNFINISHED = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
#: Every status but ``queued`` and ``running``.
FINAL = frozenset(RunStatus) - UNFINISHED
#: Rows that are no run of their own: a fire time covered by another run.
NOT_RUNS = frozenset({RunStatus.COALESCED})
#: Final statuses that are not a success (nor a fire time covered by a run, nor a run an operator
#: cancelled: never alerted, it says who cancelled it).
FAILURES = FINAL - {RunStatus.SUCCESS, RunStatus.CANCELLED} - NOT_RUNS
#: Statuses of runs that started a process and ended.
RAN = frozenset(
    {RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.INTERRUPTED, RunStatus.CANCELLED}
)
#: Statuses that always raise an alert (``skipped`` does from the N-th in a row).
ALERTED = frozenset(
    {RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.MISSED, RunStatus.INTERRUPTED, RunStatus.BLOCKED}
)
#: The order in which counts per status are listed.
DISPLAY_ORDER = (
    RunStatus.SUCCESS,
    RunStatus.FAILED,
    RunStatus.TIMEOUT,
    RunStatus.INTERRUPTED,
    RunStatus.CANCELLED,
    RunStatus.MISSED,
    RunStatus.SKIPPED,
    RunStatus.BLOCKED,
    RunStatus.COALESCED,
    RunStatus.RUNNING,
    RunStatus.QUEUED,
)
#: Worst first: a day (or job) with several runs shows the worst of them.
SEVERITY = (
    RunStatus.FAILED,
    RunStatus.TIMEOUT,
    RunStatus.INTERRUPTED,
    RunStatus.MISSED,
    RunStatus.BLOCKED,
    RunStatus.SKIPPED,
    RunStatus.CANCELLED,
    RunStatus.RUNNING,
    RunStatus.QUEUED,
    RunStatus.SUCCESS,
    RunStatus.COALESCED,
)
_VALUES = frozenset(s.value for s in RunStatus)
_TONES = {
    RunStatus.QUEUED: Tone.RUN,
    RunStatus.RUNNING: Tone.RUN,
    RunStatus.SUCCESS: Tone.OK,
    RunStatus.FAILED: Tone.BAD,
    RunStatus.TIMEOUT: Tone.BAD,
    RunStatus.INTERRUPTED: Tone.BAD,
    RunStatus.MISSED: Tone.WARN,
    RunStatus.SKIPPED: Tone.WARN,
    RunStatus.COALESCED: Tone.OK,
    RunStatus.BLOCKED: Tone.WARN,
    RunStatus.CANCELLED: Tone.WARN,
}

_LABELS = {
    RunStatus.QUEUED: N_("queued"),
    RunStatus.RUNNING: N_("running"),
    RunStatus.SUCCESS: N_("success"),
    RunStatus.FAILED: N_("failed"),
    RunStatus.TIMEOUT: N_("timeout"),
    RunStatus.INTERRUPTED: N_("interrupted"),
    RunStatus.MISSED: N_("missed"),
    RunStatus.SKIPPED: N_("skipped"),
    RunStatus.COALESCED: N_("coalesced"),
    RunStatus.BLOCKED: N_("blocked"),
    RunStatus.CANCELLED: N_("cancelled"),
}


def label(status: str) -> str:
    """A status in words in the language in effect; an unknown status as it is."""
    return RunStatus(status).label if status in _VALUES else str(status)


def worst(statuses: Iterable[str]) -> RunStatus | None:
    """The most severe of ``statuses`` (None for none); an unknown status counts as worst of all."""
    present = list(statuses)
    if not present:
        return None
    known = [RunStatus(s) for s in present if s in _VALUES]
    if len(known) < len(present):
        return RunStatus.FAILED
    return min(known, key=SEVERITY.index)


def success_rate(counts: Mapping[str, int]) -> float | None:
    """Share of finished runs that succeeded, from ``{status: count}``; None when none finished.

    ``queued`` and ``running`` rows are not finished and ``coalesced`` rows are no run: they count
    on neither side; every other status counts against a success.
    """
    finished = sum(n for s, n in counts.items() if s not in UNFINISHED and s not in NOT_RUNS)
    return counts.get(RunStatus.SUCCESS, 0) / finished if finished else None


def vocabulary() -> dict[str, dict[str, object]]:
    """Every status with its meaning, JSON-able: what the HTTP API gives the page."""
    return {
        status.value: {
            "final": status.final,
            "failure": status.failure,
            "ran": status.ran,
            "tone": status.tone.value,
            "severity": SEVERITY.index(status),
            "label": status.label,
        }
        for status in DISPLAY_ORDER
    }
