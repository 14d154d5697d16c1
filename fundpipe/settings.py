"""Settings of the fund pipeline, read from ``FUND_*`` environment variables.

Cheap to import (no pandas, no numpy) so the daemon's ``check-config`` can validate them.
An unset or empty variable takes its default.

* ``FUND_SOURCE`` (``demo``): where NAVs come from; only ``demo`` for now.
* ``FUND_DEMO_FUNDS`` (``300``): number of synthetic funds of the demo source (1-100000).
* ``FUND_DEMO_HISTORY_DAYS`` (``180``): business days backfilled on a fresh database (>= 61).
* ``FUND_RISK_FREE_RATE`` (``0.0``): annual risk-free rate for Sharpe, as a fraction.
* ``FUND_METRICS_MIN_OBS`` (``60``): funds with fewer daily returns in the window are skipped.
* ``FUND_STAGING_RETENTION_DAYS`` (``30``): processed staging rows older than this are purged
  by the weekly run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from fundpipe.errors import FundConfigError

__all__ = ["KNOWN_SOURCES", "FundConfigError", "FundSettings", "config_problems"]

#: Source names accepted by ``FUND_SOURCE``; kept in step with :func:`fundpipe.sources.get_source`.
KNOWN_SOURCES = ("demo",)

MAX_DEMO_FUNDS = 100_000
MIN_DEMO_HISTORY_DAYS = 61

# field name -> environment variable
ENV_NAMES = {
    "source": "FUND_SOURCE",
    "demo_funds": "FUND_DEMO_FUNDS",
    "demo_history_days": "FUND_DEMO_HISTORY_DAYS",
    "risk_free_rate": "FUND_RISK_FREE_RATE",
    "min_observations": "FUND_METRICS_MIN_OBS",
    "staging_retention_days": "FUND_STAGING_RETENTION_DAYS",
}


@dataclass(frozen=True)
class FundSettings:
    """Validated pipeline settings; constructing an invalid one raises :class:`FundConfigError`."""

    source: str = "demo"
    demo_funds: int = 300
    demo_history_days: int = 180
    risk_free_rate: float = 0.0
    min_observations: int = 60
    staging_retention_days: int = 30

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise FundConfigError(problems)

    def problems(self) -> list[str]:
        """One line per invalid field, naming its variable and value; ``[]`` when valid."""
        return _check(asdict(self))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> FundSettings:
        """Read the ``FUND_*`` variables of ``environ``; raise :class:`FundConfigError` if invalid."""
        problems = config_problems(environ)
        if problems:
            raise FundConfigError(problems)
        return cls(**_parse(environ)[0])


def config_problems(environ: Mapping[str, str]) -> list[str]:
    """One line per problem with the ``FUND_*`` variables of ``environ``; ``[]`` when valid."""
    values, problems = _parse(environ)
    defaults = {f.name: f.default for f in fields(FundSettings)}
    return problems + _check({**defaults, **values})


def _check(values: dict[str, Any]) -> list[str]:
    out: list[str] = []

    def bad(field: str, why: str) -> None:
        out.append(f"{ENV_NAMES[field]}={values[field]!r} {why}")

    if values["source"] not in KNOWN_SOURCES:
        bad("source", f"is not a known source (choose from: {', '.join(KNOWN_SOURCES)})")
    if not 1 <= values["demo_funds"] <= MAX_DEMO_FUNDS:
        bad("demo_funds", f"must be an integer from 1 to {MAX_DEMO_FUNDS}")
    if values["demo_history_days"] < MIN_DEMO_HISTORY_DAYS:
        bad("demo_history_days", f"must be an integer >= {MIN_DEMO_HISTORY_DAYS}")
    rate = values["risk_free_rate"]
    if not (math.isfinite(rate) and -1.0 < rate < 1.0):
        bad("risk_free_rate", "must be an annual rate between -1 and 1 (e.g. 0.02 for 2 %)")
    if values["min_observations"] < 2:
        bad("min_observations", "must be an integer >= 2")
    if values["staging_retention_days"] < 1:
        bad("staging_retention_days", "must be an integer >= 1")
    history, min_obs = values["demo_history_days"], values["min_observations"]
    if not out and values["source"] == "demo" and history - 1 < min_obs:
        out.append(
            f"FUND_DEMO_HISTORY_DAYS={history} gives {history - 1} daily returns, fewer than "
            f"FUND_METRICS_MIN_OBS={min_obs}: every fund would be skipped"
        )
    return out


def _parse(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    converters: dict[str, Callable[[str], Any]] = {
        f.name: {"str": str, "int": int, "float": float}[str(f.type)] for f in fields(FundSettings)
    }
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, env in ENV_NAMES.items():
        raw = environ.get(env)
        if raw is None or not raw.strip():
            continue
        convert = converters[name]
        try:
            values[name] = convert(raw.strip())
        except ValueError:
            kind = "an integer" if convert is int else "a number"
            problems.append(f"{env}={raw!r} is not {kind}")
    return values, problems
