"""Named data-quality rules for staged NAV rows, and the result of applying them.

* :mod:`fundpipe.validation.engine`: the rule registry (:func:`rule`, :data:`RULES`), what a
  rule may consult (:class:`RuleContext`), applying the rules (:func:`apply_rules`) and the
  outcome (:class:`ValidationResult`, :class:`Finding`);
* :mod:`fundpipe.validation.rules`: the bundled rules, in the order they run;
* :mod:`fundpipe.validation.previous`: each row's previous known NAV and the return tolerance
  (:func:`return_tolerance`) the return rules use;
* :mod:`fundpipe.validation.columns`: staging columns read as numpy arrays.

Which days are trading days is :mod:`fundpipe.calendar`'s question. Importing this package
registers the bundled rules::

    from fundpipe.validation import RuleContext, apply_rules
    result = apply_rules(staged_rows, RuleContext(as_of=day, settings=settings, conn=conn))
"""

from fundpipe.validation.engine import (
    MAX_REJECT_SHARE,
    RULES,
    Finding,
    Rule,
    RuleContext,
    ValidationResult,
    apply_rules,
    rule,
)
from fundpipe.validation.previous import ANCHOR_ROWS, REFERENCE_LOOKBACK_DAYS, return_tolerance
from fundpipe.validation.rules import (
    coverage,
    date_not_future,
    fund_code_length,
    fund_code_printable,
    nav_jump,
    no_duplicate_key,
    not_null,
    parses,
    positive_nav,
    return_bounds,
    return_consistent,
    trading_day,
)

__all__ = [
    "ANCHOR_ROWS",
    "MAX_REJECT_SHARE",
    "REFERENCE_LOOKBACK_DAYS",
    "RULES",
    "Finding",
    "Rule",
    "RuleContext",
    "ValidationResult",
    "apply_rules",
    "coverage",
    "date_not_future",
    "fund_code_length",
    "fund_code_printable",
    "nav_jump",
    "no_duplicate_key",
    "not_null",
    "parses",
    "positive_nav",
    "return_bounds",
    "return_consistent",
    "return_tolerance",
    "rule",
    "trading_day",
]
