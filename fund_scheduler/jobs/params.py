"""A job's declared run parameters, and the validation of the values a run is given.

A job declares its parameters (``params=[Param("fund_codes", "str", help="…")]`` in the
decorator); a run gets values from ``run-job --param key=value``, a JSON body of the HTTP API or a
backfill. Values are checked against the declaration before anything runs: an unknown name or a
value of the wrong type is a :class:`ParamError` naming the parameter (CLI exit status 2, HTTP 400).
The validated values (defaults filled in) are stored with the run (``job_executions.params``) and
reach the job through its context (``ctx.params``) or, for a command job, the environment
(``SCHEDULER_PARAMS``, a JSON object).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fund_common.i18n import N_
from fund_scheduler.errors import SchedulerError

__all__ = ["PARAM_TYPES", "Param", "ParamError", "check_run_date", "parse_assignments", "validate_params"]

#: The types a parameter may have, and the Python type of a validated value.
PARAM_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool, "date": date}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ParamError(SchedulerError, ValueError):
    """A run parameter is unknown or its value invalid; the message names the parameter
    (exit status 2 on the command line, HTTP 400)."""

    exit_code = 2


@dataclass(frozen=True)
class Param:
    """One run parameter a job accepts: name, type (:data:`PARAM_TYPES`), default (None: the
    parameter is optional and absent unless given; ``required``: it must be given) and help."""

    name: str
    type: str = "str"
    default: Any = None
    help: str = ""
    required: bool = False

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(
                f"param {self.name!r}: type {self.type!r} is not one of {', '.join(PARAM_TYPES)}"
            )
        if not self.name.isidentifier():
            raise ValueError(f"param name {self.name!r} must be an identifier")

    def convert(self, value: Any) -> Any:
        """``value`` (a string from the command line, or a JSON value) as this parameter's type."""
        try:
            return _convert(self.type, value)
        except (TypeError, ValueError):
            raise ParamError(
                N_("param {name!r} must be a {type}, got {value!r}"),
                name=self.name,
                type=self.type,
                value=value,
            ) from None

    def describe(self) -> dict[str, Any]:
        """JSON-able: name, type, default, help, required."""
        default = self.default.isoformat() if isinstance(self.default, date) else self.default
        return {
            "name": self.name,
            "type": self.type,
            "default": default,
            "help": self.help,
            "required": self.required,
        }


def _convert(kind: str, value: Any) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(value)
    if kind == "int":
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(value)
    if kind == "float":
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind == "date":
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(value)
    return str(value)


def validate_params(
    declared: Iterable[Param], given: Mapping[str, Any] | None, job_id: str
) -> dict[str, Any]:
    """The run's parameters: ``given`` checked against ``declared``, defaults filled in, as
    JSON-able values (a date as ``YYYY-MM-DD``). ParamError naming the job and the parameter when
    one is unknown, invalid or required and missing."""
    params = {p.name: p for p in declared}
    given = dict(given or {})
    unknown = sorted(set(given) - set(params))
    if unknown:
        known = ", ".join(params) or "none"
        raise ParamError(
            N_("job {job}: unknown param(s) {names} (declared: {known})"),
            job=job_id,
            names=", ".join(unknown),
            known=known,
        )
    values: dict[str, Any] = {}
    for name, param in params.items():
        if name in given:
            try:
                value = param.convert(given[name])
            except ParamError as exc:
                raise ParamError(N_("job {job}: {error}"), job=job_id, error=exc) from None
        elif param.required:
            raise ParamError(
                N_("job {job}: param {name!r} is required ({help})"),
                job=job_id,
                name=name,
                help=param.help or param.type,
            )
        elif param.default is not None:
            value = param.default
        else:
            continue
        values[name] = value.isoformat() if isinstance(value, date) else value
    return values


def check_run_date(job_id: str, run_date: date, today: date) -> None:
    """ParamError when ``run_date`` is after ``today`` (the job's local date): a run is for a
    business date that has begun."""
    if run_date > today:
        raise ParamError(
            N_("job {job}: run date {run_date} is in the future (today is {today})"),
            job=job_id,
            run_date=run_date,
            today=today,
        )


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` (``--param``) as a dict; ParamError for a pair without ``=``."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ParamError(N_("--param {pair!r} must be NAME=VALUE"), pair=pair)
        values[name.strip()] = value
    return values
