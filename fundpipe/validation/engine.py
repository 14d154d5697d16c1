"""The rule machinery: the registry of named rules, what a rule may consult, and applying them.

A hard rule is one function ``check(rows, context) -> DataFrame`` registered with :func:`rule`:
it receives the rows no earlier rule rejected (a DataFrame of staging rows) and returns the
ones it rejects, with a ``reason`` column naming the offending value. Rules run in
registration order, so every row is either accepted or rejected by exactly one rule (the
first that objects). A soft rule (``rule(name, soft=True)``) looks at the accepted rows and
returns a :class:`Finding`: it can warn, never reject. Adding a rule is one decorated function
(the bundled ones are in :mod:`fundpipe.validation.rules`).

**Validity.** :attr:`ValidationResult.is_valid` is true when at most
:data:`MAX_REJECT_SHARE` (5 %) of the input rows were rejected and no soft rule warned.
It describes the day's data; it does not stop good rows from loading.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from fund_common.calendars import SessionCalendar, weekdays_only
from fundpipe.errors import FundPipelineError
from fundpipe.settings import FundSettings

__all__ = [
    "MAX_REJECT_SHARE",
    "RULES",
    "Check",
    "Finding",
    "Rule",
    "RuleContext",
    "ValidationResult",
    "apply_rules",
    "rule",
]

#: A result with a larger share of rejected rows is not valid (see :class:`ValidationResult`).
MAX_REJECT_SHARE = 0.05


@dataclasses.dataclass(frozen=True)
class RuleContext:
    """What a rule may consult besides the rows: the day being validated, settings, database,
    the trading calendar.

    ``settings`` None means the defaults; ``conn`` None means no stored data (no previous
    NAVs, no fund types, coverage not checked); ``calendar`` None means every weekday is a
    session (the pipeline passes ``FUND_CALENDAR``'s, see :mod:`fundpipe.calendar`). ``cache``
    is per :func:`apply_rules` call.
    """

    as_of: dt.date
    settings: FundSettings | None = None
    conn: Any = None  # a SQLAlchemy Connection, for rules that compare with stored data
    calendar: SessionCalendar | None = None
    cache: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def config(self) -> FundSettings:
        """The settings, or the defaults when none were given."""
        return self.settings if self.settings is not None else _DEFAULT_SETTINGS

    @property
    def sessions(self) -> SessionCalendar:
        """The calendar, or the weekday fallback when none was given."""
        return self.calendar if self.calendar is not None else _WEEKDAYS


_DEFAULT_SETTINGS = FundSettings()
_WEEKDAYS = weekdays_only("weekdays")


@dataclasses.dataclass(frozen=True)
class Finding:
    """What a soft rule found: ``ok`` False is a warning; ``value`` the measured figure."""

    ok: bool
    message: str
    value: float | None = None


Check = Callable[[pd.DataFrame, RuleContext], Any]


@dataclasses.dataclass(frozen=True)
class Rule:
    """A named check; ``description`` is the first line of the function's docstring.

    A hard rule's check returns the rows it rejects (with ``reason``); a soft rule's check
    receives the accepted rows and returns a :class:`Finding`.
    """

    name: str
    check: Check
    description: str
    soft: bool = False


#: The rules :func:`apply_rules` runs by default, in order.
RULES: list[Rule] = []


def rule(name: str, *, soft: bool = False) -> Callable[[Check], Check]:
    """Register the decorated function as the rule ``name`` (appended to :data:`RULES`)."""

    def register(check: Check) -> Check:
        if any(r.name == name for r in RULES):
            raise FundPipelineError(f"validation rule {name!r} is defined twice")
        doc = (check.__doc__ or name).strip().splitlines()[0]
        RULES.append(Rule(name, check, doc, soft))
        return check

    return register


@dataclasses.dataclass(frozen=True)
class ValidationResult:
    """Outcome of :func:`apply_rules`: accepted rows, rejected rows (+ ``rule``, ``reason``).

    ``counts`` maps every hard rule that ran to the rows it rejected; ``findings`` every soft
    rule to its :class:`Finding`.
    """

    rows_in: int
    counts: dict[str, int]
    accepted: pd.DataFrame = dataclasses.field(repr=False)
    rejected: pd.DataFrame = dataclasses.field(repr=False)
    findings: dict[str, Finding] = dataclasses.field(default_factory=dict)

    @property
    def passed(self) -> list[str]:
        """Rules that rejected nothing (hard) or did not warn (soft)."""
        return [n for n, c in self.counts.items() if c == 0] + [n for n, f in self.findings.items() if f.ok]

    @property
    def failed(self) -> dict[str, int]:
        """Hard rules that rejected rows, with how many."""
        return {name: n for name, n in self.counts.items() if n}

    @property
    def warnings(self) -> list[str]:
        """One line per soft rule that warned: ``"<rule>: <message>"``."""
        return [f"{name}: {f.message}" for name, f in self.findings.items() if not f.ok]

    @property
    def reject_share(self) -> float:
        """Rejected rows as a share of the input (0 for an empty input)."""
        return len(self.rejected) / self.rows_in if self.rows_in else 0.0

    @property
    def is_valid(self) -> bool:
        """At most :data:`MAX_REJECT_SHARE` of the rows rejected and no soft-rule warning."""
        return self.reject_share <= MAX_REJECT_SHARE and not self.warnings


def apply_rules(
    rows: pd.DataFrame, context: RuleContext, rules: Sequence[Rule] | None = None
) -> ValidationResult:
    """Run ``rules`` (default :data:`RULES`) over ``rows``; each row ends in one place.

    Hard rules run in order, each on the rows no earlier one rejected; soft rules then look
    at the accepted rows. Raise :class:`FundPipelineError` naming the rule if a check returns
    rows it was not given or no ``reason`` column, or a soft rule returns no :class:`Finding`.
    """
    context = dataclasses.replace(context, cache={})
    remaining = rows
    rejected: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    soft: list[Rule] = []
    for r in RULES if rules is None else rules:
        if r.soft:
            soft.append(r)
            continue
        bad = r.check(remaining, context)
        if len(bad) and ("reason" not in bad.columns or not bad.index.isin(remaining.index).all()):
            raise FundPipelineError(
                f"validation rule {r.name!r} must return a subset of its input rows with a 'reason' column"
            )
        counts[r.name] = len(bad)
        if len(bad):
            rejected.append(bad.assign(rule=r.name))
            remaining = remaining.drop(index=bad.index)
    findings: dict[str, Finding] = {}
    for r in soft:
        finding = r.check(remaining, context)
        if not isinstance(finding, Finding):
            raise FundPipelineError(f"soft validation rule {r.name!r} must return a Finding")
        findings[r.name] = finding
    columns = [*rows.columns, "reason", "rule"]
    rejected_frame = pd.concat(rejected).sort_index() if rejected else pd.DataFrame(columns=columns)
    return ValidationResult(len(rows), counts, remaining, rejected_frame, findings)
