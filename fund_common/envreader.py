"""Typed settings from environment variables, with every problem reported at once.

:class:`EnvReader` reads one variable per call and converts it; an unset or blank variable takes
the default. A value that does not convert (or is out of range) records one line naming the
variable and the value (``SCHEDULER_HTTP_PORT='http' is not a whole number``) and the call returns
the default, so reading goes on and the caller sees every problem, then raises once::

    env = EnvReader(os.environ)
    port = env.integer("SCHEDULER_HTTP_PORT", 5000, minimum=0, maximum=65535)
    zone = env.timezone("SCHEDULER_TIMEZONE", "Asia/Shanghai")
    env.raise_problems(ConfigError)   # ConfigError("line 1\\nline 2") when any

Reading has no side effects: no file is opened, no directory made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["EnvReader", "parse_timezone"]

T = TypeVar("T")
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def parse_timezone(value: str) -> ZoneInfo:
    """The IANA zone ``value``; ``ValueError`` when there is none by that name."""
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{value!r} is not a known IANA timezone") from None


class EnvReader:
    """Reads typed values from ``environ``; :attr:`problems` collects one line per bad value."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        self.problems: list[str] = []

    # -- raw access ------------------------------------------------------------------------------
    def raw(self, name: str) -> str | None:
        """The value with surrounding blanks removed; None when unset or blank."""
        value = self.environ.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def problem(self, line: str) -> None:
        """Record a problem found by the caller's own checks."""
        self.problems.append(line)

    def raise_problems(self, error: Callable[[str], Exception]) -> None:
        """Raise ``error`` with every problem, one per line, when there is any."""
        if self.problems:
            raise error("\n".join(self.problems))

    # -- typed values ----------------------------------------------------------------------------
    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        return default if value is None else value

    def integer(
        self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        """A whole number, optionally at least ``minimum`` and at most ``maximum``."""
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            return self._bad(name, raw, "is not a whole number", default)
        return self._in_range(name, raw, value, default, minimum, maximum)

    def number(
        self,
        name: str,
        default: float,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        above: float | None = None,
    ) -> float:
        """A finite number, optionally at least ``minimum``, above ``above``, at most ``maximum``."""
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            return self._bad(name, raw, "is not a number", default)
        if not math.isfinite(value):
            return self._bad(name, raw, "is not a finite number", default)
        if above is not None and not value > above:
            return self._bad(name, raw, f"must be above {above:g}", default)
        return self._in_range(name, raw, value, default, minimum, maximum)

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.raw(name)
        if raw is None:
            return default
        if raw.lower() in TRUE:
            return True
        if raw.lower() in FALSE:
            return False
        return self._bad(name, raw, "is not a boolean (use true or false)", default)

    def choice(self, name: str, default: str, choices: Iterable[str]) -> str:
        """One of ``choices``, compared case-insensitively; returned in lower case."""
        raw = self.raw(name)
        if raw is None:
            return default
        allowed = tuple(choices)
        if raw.lower() not in allowed:
            return self._bad(name, raw, f"is not one of {', '.join(allowed)}", default)
        return raw.lower()

    def words(self, name: str, default: Iterable[str] = (), *, sep: str = ",") -> tuple[str, ...]:
        """A ``sep``-separated list, blanks dropped."""
        raw = self.raw(name)
        if raw is None:
            return tuple(default)
        return tuple(w.strip() for w in raw.split(sep) if w.strip())

    def path(self, name: str, default: Path, *, base: Path | None = None) -> Path:
        """A path with ``~`` expanded; a relative one is taken relative to ``base`` when given."""
        raw = self.raw(name)
        path = default if raw is None else Path(raw).expanduser()
        return base / path if base is not None and not path.is_absolute() else path

    def timezone(self, name: str, default: str) -> ZoneInfo:
        raw = self.raw(name) or default
        try:
            return parse_timezone(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a known IANA timezone")
            return ZoneInfo("UTC")

    # -- helpers ---------------------------------------------------------------------------------
    def _bad(self, name: str, raw: str, why: str, default: T) -> T:
        self.problems.append(f"{name}={raw!r} {why}")
        return default

    def _in_range(self, name, raw, value, default, minimum, maximum):
        if minimum is not None and maximum is not None and not minimum <= value <= maximum:
            return self._bad(name, raw, f"must be from {minimum:g} to {maximum:g}", default)
        if minimum is not None and value < minimum:
            return self._bad(name, raw, f"must be at least {minimum:g}", default)
        if maximum is not None and value > maximum:
            return self._bad(name, raw, f"must be at most {maximum:g}", default)
        return value
