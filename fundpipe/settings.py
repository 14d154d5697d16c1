"""Settings of the fund pipeline, read from ``FUND_*`` environment variables.

Cheap to import (no pandas, no numpy) so the daemon's ``check-config`` can validate them.
An unset or empty variable takes its default. The variables are read by the shared
:class:`~fund_common.envreader.EnvReader` (a value that is not a number is reported as such),
then every value is checked; every problem is reported, one line each.

* ``FUND_SOURCE`` (``demo``): where NAVs come from: ``demo`` (synthetic), ``csv`` (an inbox
  folder) or ``http`` (a JSON endpoint); see :mod:`fundpipe.sources`.
* ``FUND_CSV_INBOX`` (``$SCHEDULER_HOME/data/inbox``): the ``csv`` source's inbox; processed
  files go to ``archive/<date>/`` and unreadable ones to ``rejected/`` beside it. ``~`` is
  expanded; a relative path is taken relative to ``SCHEDULER_HOME``.
* ``FUND_HTTP_URL`` (none; required by ``http``): URL template of the ``http`` source;
  ``{date}`` is replaced by the ISO date (``2024-06-03``). Shown masked in every message (the
  password, query values and key-like path segments as ``***``: the one rule of
  :func:`fund_common.redaction.mask_url`).
* ``FUND_HTTP_TIMEOUT`` (``30``): seconds the ``http`` source waits to connect, for each read
  and for the whole answer (more than 0, at most 600).
* ``FUND_DEMO_FUNDS`` (``300``): number of synthetic funds of the demo source (1-100000).
* ``FUND_DEMO_HISTORY_DAYS`` (``180``): business days backfilled on a fresh database (>= 61).
* ``FUND_RISK_FREE_RATE`` (``0.0``): annual risk-free rate for Sharpe, as a fraction.
* ``FUND_METRICS_MIN_OBS`` (``60``): funds with fewer daily returns in the window are skipped.
* ``FUND_METRICS_CHUNK_FUNDS`` (``5000``): funds whose NAV window the metrics run reads and
  computes at a time (1-30000); memory grows with it (about 60 MB of NAVs per 5,000 funds),
  not with the number of funds; the results do not depend on it.
* ``FUND_STAGING_RETENTION_DAYS`` (``30``): processed staging rows older than this are purged
  by the weekly run.
* ``FUND_REPORT_DIR`` (``$SCHEDULER_HOME/reports``; ``SCHEDULER_HOME`` defaults to the project
  folder): where the weekly run writes ``weekly-<ISO year>-W<ISO week>.html``. ``~`` is
  expanded; a relative path is taken relative to ``SCHEDULER_HOME``.
* ``FUND_CALENDAR`` (``XSHG``): the exchange whose sessions are the trading days (the
  ``exchange_calendars`` name: ``XSHG`` Shanghai, ``XSHE`` Shenzhen; see :mod:`fundpipe.calendar`).
* ``SCHEDULER_CALENDARS_FILE`` (``$SCHEDULER_HOME/config/calendars.toml``): the operator's
  calendar file (closures and extra sessions laid over the exchange's), shared with the
  scheduler; resolved like ``FUND_REPORT_DIR``. A missing file is no error.

Validation (see :mod:`fundpipe.validation`):

* ``FUND_RETURN_BOUND`` (``10``): largest |daily_return| accepted, in percent (> 0).
* ``FUND_RETURN_BOUNDS_BY_TYPE`` (``bond=5,money_market=1``): per ``fund_info.fund_type``
  overrides of that bound, ``type=percent`` separated by commas (types compared
  case-insensitively); ``none`` for no override.
* ``FUND_MAX_JUMP`` (``0.3``): largest move of unit_nav against the fund's previous NAV, as a
  fraction (0.3 = 30 %; > 0, at most 10).
* ``FUND_MIN_COVERAGE`` (``0.9``): share of active funds that should have a NAV for the day;
  below it validation warns (0 to 1).
* ``FUND_RETURN_TOLERANCE`` (``0.01``): absolute part, in percentage points, of the tolerance
  between daily_return and the NAV change (0 to 10).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fund_common.envreader import EnvReader
from fund_common.redaction import mask_url
from fundpipe.errors import FundConfigError

__all__ = [
    "KNOWN_SOURCES",
    "FundConfigError",
    "FundSettings",
    "config_problems",
    "parse_type_bounds",
]

#: Source names accepted by ``FUND_SOURCE``; kept in step with :func:`fundpipe.sources.get_source`.
KNOWN_SOURCES = ("demo", "csv", "http")
MAX_HTTP_TIMEOUT = 600.0

MAX_DEMO_FUNDS = 100_000
PROJECT_DIR = Path(__file__).resolve().parent.parent
MIN_DEMO_HISTORY_DAYS = 61
DEFAULT_METRICS_CHUNK_FUNDS = 5_000
#: A chunk's fund codes travel as one IN list: SQLite allows 32,766 bound values a statement.
MAX_METRICS_CHUNK_FUNDS = 30_000

# field name -> environment variable
ENV_NAMES = {
    "source": "FUND_SOURCE",
    "demo_funds": "FUND_DEMO_FUNDS",
    "demo_history_days": "FUND_DEMO_HISTORY_DAYS",
    "risk_free_rate": "FUND_RISK_FREE_RATE",
    "min_observations": "FUND_METRICS_MIN_OBS",
    "staging_retention_days": "FUND_STAGING_RETENTION_DAYS",
    "report_dir": "FUND_REPORT_DIR",
    "csv_inbox": "FUND_CSV_INBOX",
    "http_url": "FUND_HTTP_URL",
    "http_timeout": "FUND_HTTP_TIMEOUT",
    "return_bound": "FUND_RETURN_BOUND",
    "return_bounds_by_type": "FUND_RETURN_BOUNDS_BY_TYPE",
    "max_jump": "FUND_MAX_JUMP",
    "min_coverage": "FUND_MIN_COVERAGE",
    "return_tolerance": "FUND_RETURN_TOLERANCE",
    "calendar": "FUND_CALENDAR",
    "calendars_file": "SCHEDULER_CALENDARS_FILE",
    "metrics_chunk_funds": "FUND_METRICS_CHUNK_FUNDS",
}

#: What ``FUND_CALENDAR`` may look like (an ``exchange_calendars`` name such as ``XSHG``).
_CALENDAR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_/-]{0,39}")


@dataclass(frozen=True)
class FundSettings:
    """Validated pipeline settings; constructing an invalid one raises :class:`FundConfigError`."""

    source: str = "demo"
    demo_funds: int = 300
    demo_history_days: int = 180
    risk_free_rate: float = 0.0
    min_observations: int = 60
    staging_retention_days: int = 30
    report_dir: str = str(PROJECT_DIR / "reports")
    csv_inbox: str = str(PROJECT_DIR / "data" / "inbox")
    http_url: str = field(default="", repr=False)  # may hold credentials: print mask_url() of it
    http_timeout: float = 30.0
    return_bound: float = 10.0
    return_bounds_by_type: str = "bond=5,money_market=1"
    max_jump: float = 0.3
    min_coverage: float = 0.9
    return_tolerance: float = 0.01
    calendar: str = "XSHG"
    calendars_file: str = str(PROJECT_DIR / "config" / "calendars.toml")
    metrics_chunk_funds: int = DEFAULT_METRICS_CHUNK_FUNDS

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

    def type_return_bounds(self) -> dict[str, float]:
        """``FUND_RETURN_BOUNDS_BY_TYPE`` parsed: casefolded fund type -> bound in percent."""
        return parse_type_bounds(self.return_bounds_by_type)[0]


def parse_type_bounds(text: str) -> tuple[dict[str, float], list[str]]:
    """``"bond=5, money_market=1"`` -> ({type: percent}, problems); ``none`` or blank -> {}."""
    bounds: dict[str, float] = {}
    problems: list[str] = []
    if text.strip().lower() in ("", "none"):
        return bounds, problems
    for item in text.split(","):
        kind, eq, raw = (part.strip() for part in item.partition("="))
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not kind or not eq:
            problems.append(f"has {item.strip()!r}: expected type=percent (e.g. bond=5)")
        elif not (math.isfinite(value) and value > 0):
            problems.append(f"has {item.strip()!r}: the bound must be a percentage > 0")
        elif kind.casefold() in bounds:
            problems.append(f"names type {kind!r} twice")
        else:
            bounds[kind.casefold()] = value
    return bounds, problems


def _url_problems(url: str) -> list[str]:
    shown = mask_url(url)
    out = []
    if "{date}" not in url:
        out.append(f"FUND_HTTP_URL={shown!r} must contain {{date}} (replaced by the day, e.g. 2024-06-03)")
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        out.append(f"FUND_HTTP_URL={shown!r} must be an http:// or https:// URL with a host")
    return out


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
    elif values["source"] == "http" and not values["http_url"]:
        out.append("FUND_SOURCE=http needs FUND_HTTP_URL (a URL template with {date})")
    if values["http_url"]:
        out.extend(_url_problems(values["http_url"]))
    timeout = values["http_timeout"]
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_HTTP_TIMEOUT):
        bad("http_timeout", f"must be a number of seconds > 0 and <= {MAX_HTTP_TIMEOUT:g}")
    if values["source"] == "csv" and Path(values["csv_inbox"]).is_file():
        bad("csv_inbox", "is a file: it must name the inbox folder")
    if not 1 <= values["demo_funds"] <= MAX_DEMO_FUNDS:
        bad("demo_funds", f"must be an integer from 1 to {MAX_DEMO_FUNDS}")
    if values["demo_history_days"] < MIN_DEMO_HISTORY_DAYS:
        bad("demo_history_days", f"must be an integer >= {MIN_DEMO_HISTORY_DAYS}")
    rate = values["risk_free_rate"]
    if not (math.isfinite(rate) and -1.0 < rate < 1.0):
        bad("risk_free_rate", "must be an annual rate between -1 and 1 (e.g. 0.02 for 2 %)")
    if values["min_observations"] < 2:
        bad("min_observations", "must be an integer >= 2")
    if not 1 <= values["metrics_chunk_funds"] <= MAX_METRICS_CHUNK_FUNDS:
        bad("metrics_chunk_funds", f"must be an integer from 1 to {MAX_METRICS_CHUNK_FUNDS}")
    if values["staging_retention_days"] < 1:
        bad("staging_retention_days", "must be an integer >= 1")
    _validation_problems(values, bad)
    if not _CALENDAR_NAME.fullmatch(values["calendar"]):
        bad("calendar", "is not a calendar name (an exchange code such as XSHG or XSHE)")
    if Path(values["calendars_file"]).is_dir():
        bad("calendars_file", "is a folder: it must name the calendars file (calendars.toml)")
    history, min_obs = values["demo_history_days"], values["min_observations"]
    if not out and values["source"] == "demo" and history - 1 < min_obs:
        out.append(
            f"FUND_DEMO_HISTORY_DAYS={history} gives {history - 1} daily returns, fewer than "
            f"FUND_METRICS_MIN_OBS={min_obs}: every fund would be skipped"
        )
    return out


def _validation_problems(values: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    if not (math.isfinite(values["return_bound"]) and values["return_bound"] > 0):
        bad("return_bound", "must be a percentage > 0 (10 for ±10 %)")
    for problem in parse_type_bounds(values["return_bounds_by_type"])[1]:
        bad("return_bounds_by_type", problem)
    if not (math.isfinite(values["max_jump"]) and 0 < values["max_jump"] <= 10):
        bad("max_jump", "must be a fraction > 0 and <= 10 (0.3 for 30 %)")
    if not (math.isfinite(values["min_coverage"]) and 0 <= values["min_coverage"] <= 1):
        bad("min_coverage", "must be a share from 0 to 1 (0.9 for 90 %)")
    if not (math.isfinite(values["return_tolerance"]) and 0 <= values["return_tolerance"] <= 10):
        bad("return_tolerance", "must be percentage points from 0 to 10")


def _parse(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Every field read from its ``FUND_*`` variable (unset or blank: the default), and one line
    per value that does not convert (that field then keeps its default). Paths are resolved:
    ``FUND_REPORT_DIR`` (default ``reports``), ``FUND_CSV_INBOX`` (default ``data/inbox``) and
    ``SCHEDULER_CALENDARS_FILE`` (default ``config/calendars.toml``) relative to
    ``SCHEDULER_HOME`` (default the project folder), ``~`` expanded."""
    env = EnvReader(environ)
    readers: dict[str, Callable[[str, Any], Any]] = {"str": env.text, "int": env.integer, "float": env.number}
    values = {
        f.name: readers[str(f.type)](ENV_NAMES[f.name], f.default)
        for f in fields(FundSettings)
        if f.name not in _PATHS
    }
    home = env.path("SCHEDULER_HOME", PROJECT_DIR).resolve()
    for key, default in _PATHS.items():
        values[key] = str(env.path(ENV_NAMES[key], default, base=home))
    return values, env.problems


#: The path settings and their defaults, relative to ``SCHEDULER_HOME``.
_PATHS = {
    "report_dir": Path("reports"),
    "csv_inbox": Path("data", "inbox"),
    "calendars_file": Path("config", "calendars.toml"),
}
