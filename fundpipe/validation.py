"""Named data-quality rules for staged NAV rows, and the result of applying them.

A rule is one function ``check(rows, context) -> DataFrame`` registered with :func:`rule`: it
receives the rows no earlier rule rejected (a DataFrame of staging rows, in staging order)
and returns the ones it rejects, with a ``reason`` column saying why. Rules run in
registration order, so every row is either accepted or rejected by exactly one rule (the
first that objects). Adding a rule is writing one decorated function here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fundpipe.errors import FundPipelineError
from fundpipe.schema import CODE_LENGTH

__all__ = [
    "RULES",
    "Rule",
    "RuleContext",
    "ValidationResult",
    "apply_rules",
    "fund_code_length",
    "no_duplicate_key",
    "not_null",
    "positive_nav",
    "rule",
]

KEY = ["fund_code", "nav_date"]


@dataclasses.dataclass(frozen=True)
class RuleContext:
    """What a rule may consult besides the rows: the day being validated, settings, database."""

    as_of: dt.date
    settings: Any = None
    conn: Any = None  # a SQLAlchemy Connection, for rules that compare with stored data


Check = Callable[[pd.DataFrame, RuleContext], pd.DataFrame]


@dataclasses.dataclass(frozen=True)
class Rule:
    """A named check; ``description`` is the first line of the function's docstring."""

    name: str
    check: Check
    description: str


#: The rules :func:`apply_rules` runs by default, in order.
RULES: list[Rule] = []


def rule(name: str) -> Callable[[Check], Check]:
    """Register the decorated function as the rule ``name`` (appended to :data:`RULES`)."""

    def register(check: Check) -> Check:
        if any(r.name == name for r in RULES):
            raise FundPipelineError(f"validation rule {name!r} is defined twice")
        doc = (check.__doc__ or name).strip().splitlines()[0]
        RULES.append(Rule(name, check, doc))
        return check

    return register


def _rejected(rows: pd.DataFrame, mask: Any, reasons: Any) -> pd.DataFrame:
    """The rows selected by ``mask`` with a ``reason`` column (``reasons`` aligned to them)."""
    mask = np.asarray(mask, dtype=bool)
    out = rows.loc[mask].copy()
    out["reason"] = list(reasons) if not isinstance(reasons, str) else reasons
    return out


def _missing(values: pd.Series, *, blank_text: bool = False) -> np.ndarray:
    """True where a value is missing (or, with ``blank_text``, only whitespace)."""
    missing = values.isna().to_numpy(copy=True)
    if blank_text:
        missing |= values.astype(str).str.strip().eq("").to_numpy()
    return missing


@rule("not_null")
def not_null(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """fund_code, nav_date and unit_nav must be present (a blank code counts as missing)."""
    columns = ["fund_code", "nav_date", "unit_nav"]
    missing = (
        np.column_stack([_missing(rows[c], blank_text=c == "fund_code") for c in columns])
        if len(rows)
        else None
    )
    if missing is None or not missing.any():
        return _rejected(rows, np.zeros(len(rows), bool), [])
    bad = missing.any(axis=1)
    reasons = [
        "missing " + ", ".join(c for c, m in zip(columns, row, strict=True) if m) for row in missing[bad]
    ]
    return _rejected(rows, bad, reasons)


@rule("fund_code_length")
def fund_code_length(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """fund_code must fit fund_nav's column (at most CODE_LENGTH characters)."""
    lengths = rows["fund_code"].astype(str).str.len().to_numpy()
    bad = lengths > CODE_LENGTH
    reasons = [
        f"fund_code {code[:40]!r}... has {len(code)} characters (at most {CODE_LENGTH})"
        for code in rows["fund_code"].astype(str)[bad]
    ]
    return _rejected(rows, bad, reasons)


@rule("positive_nav")
def positive_nav(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """unit_nav, and accum_nav when given, must be positive finite numbers."""
    unit = rows["unit_nav"].to_numpy(dtype=float)
    accum = rows["accum_nav"].to_numpy(dtype=float)
    bad_unit = ~(np.isfinite(unit) & (unit > 0))
    bad_accum = ~np.isnan(accum) & ~(np.isfinite(accum) & (accum > 0))
    bad = bad_unit | bad_accum
    reasons = [
        f"unit_nav={u!r} is not positive" if bu else f"accum_nav={a!r} is not positive"
        for u, a, bu in zip(unit[bad].tolist(), accum[bad].tolist(), bad_unit[bad], strict=True)
    ]
    return _rejected(rows, bad, reasons)


@rule("no_duplicate_key")
def no_duplicate_key(rows: pd.DataFrame, context: RuleContext) -> pd.DataFrame:
    """A (fund_code, nav_date) may occur once per batch: the first row is kept, later ones go."""
    keys = (["batch_id"] if "batch_id" in rows.columns else []) + KEY
    dup = rows.duplicated(subset=keys, keep="first").to_numpy()
    if not dup.any():
        return _rejected(rows, dup, [])
    ids = rows["id"] if "id" in rows.columns else pd.Series(rows.index, index=rows.index)
    first = ids.groupby([rows[k] for k in keys], sort=False, dropna=False).transform("first")
    reasons = [
        f"duplicate of staging row {f} (fund_code={c!r}, nav_date={d}); the first is kept"
        for f, c, d in zip(first[dup], rows["fund_code"][dup], rows["nav_date"][dup], strict=True)
    ]
    return _rejected(rows, dup, reasons)


@dataclasses.dataclass(frozen=True)
class ValidationResult:
    """Outcome of :func:`apply_rules`: accepted rows, rejected rows (+ ``rule``, ``reason``)."""

    rows_in: int
    counts: dict[str, int]  # every rule that ran -> rows it rejected
    accepted: pd.DataFrame = dataclasses.field(repr=False)
    rejected: pd.DataFrame = dataclasses.field(repr=False)

    @property
    def passed(self) -> list[str]:
        """Rules that rejected nothing."""
        return [name for name, n in self.counts.items() if n == 0]

    @property
    def failed(self) -> dict[str, int]:
        """Rules that rejected rows, with how many."""
        return {name: n for name, n in self.counts.items() if n}

    @property
    def is_valid(self) -> bool:
        """True when every rule passed."""
        return not self.failed


def apply_rules(
    rows: pd.DataFrame, context: RuleContext, rules: Sequence[Rule] | None = None
) -> ValidationResult:
    """Run ``rules`` (default :data:`RULES`) in order over ``rows``; each row ends in one place.

    Raise :class:`FundPipelineError` naming the rule if a check returns rows it was not given
    or no ``reason`` column.
    """
    remaining = rows
    rejected: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    for r in RULES if rules is None else rules:
        bad = r.check(remaining, context)
        if len(bad) and ("reason" not in bad.columns or not bad.index.isin(remaining.index).all()):
            raise FundPipelineError(
                f"validation rule {r.name!r} must return a subset of its input rows with a 'reason' column"
            )
        counts[r.name] = len(bad)
        if len(bad):
            rejected.append(bad.assign(rule=r.name))
            remaining = remaining.drop(index=bad.index)
    columns = [*rows.columns, "reason", "rule"]
    rejected_frame = pd.concat(rejected).sort_index() if rejected else pd.DataFrame(columns=columns)
    return ValidationResult(len(rows), counts, remaining, rejected_frame)
