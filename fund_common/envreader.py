"""Typed settings from environment variables, with every problem reported at once.

:class:`EnvReader` reads one variable per call and converts it; an unset or blank variable takes
the default. A value that does not convert (or is out of range) records one line naming the
variable and the value (``SCHEDULER_HTTP_PORT='http' is not a whole number``) and the call returns
the default, so reading goes on and the caller sees every problem, then raises once::

    env = EnvReader(os.environ)
    port = env.integer("SCHEDULER_HTTP_PORT", 5000, minimum=0, maximum=65535)
    zone = env.timezone("SCHEDULER_TIMEZONE", "Asia/Shanghai")
    env.raise_problems(ConfigError)   # ConfigError("line 1\\nline 2") when any

Each problem is a :class:`Message`: a ``str`` holding the English line (logs, ``str(exc)``) that
also keeps its ``N_``-marked template and values, so :func:`shown` gives it in the language in
effect (the CLI's ``error:`` lines, API answers). Reading has no side effects: no file is opened,
no directory made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fund_common.i18n import N_, gettext

__all__ = ["EnvReader", "Lines", "Message", "parse_timezone", "shown"]

T = TypeVar("T")
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def parse_timezone(value: str) -> ZoneInfo:
    """The IANA zone ``value``; ``ValueError`` when there is none by that name."""
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{value!r} is not a known IANA timezone") from None


class Message(str):
    """English text made from an ``N_``-marked ``template`` and its ``values`` (``str.format``);
    :meth:`shown` is the same text in the language in effect, the values kept. Without values the
    template is the text as it is (braces in it are not placeholders)."""

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, /, **values: object) -> Message:
        self = super().__new__(cls, template.format(**values) if values else template)
        self.template = str(template)
        self.values = values
        return self

    def __reduce__(self):  # a pickled or copied Message stays one
        return (_message, (self.template, self.values))

    def shown(self) -> str:
        """The text in the language in effect (a template without a translation: English)."""
        if not self.template:
            return ""
        text = gettext(self.template)
        if not self.values:
            return text
        # A value that is itself a message (an inner error) is shown in the same language.
        values = {k: _shown_value(v) for k, v in self.values.items()}
        return text.format(**values)


def _shown_value(value: object) -> object:
    show = getattr(value, "shown", None)
    return show() if callable(show) else value


def _message(template: str, values: dict[str, object]) -> Message:
    return Message(template, **values)


class Lines(str):
    """Lines joined by ``sep``; :meth:`shown` shows each (see :func:`shown`) and joins them again."""

    parts: tuple[str, ...]
    sep: str

    def __new__(cls, parts: Iterable[str], sep: str = "\n") -> Lines:
        parts = tuple(parts)
        self = super().__new__(cls, sep.join(parts))
        self.parts, self.sep = parts, sep
        return self

    def __reduce__(self):
        return (Lines, (self.parts, self.sep))

    def shown(self) -> str:
        return self.sep.join(shown(part) for part in self.parts)


def shown(text: object) -> str:
    """``text`` for a person: a :class:`Message` or :class:`Lines` in the language in effect,
    anything else as ``str()`` gives it."""
    if isinstance(text, Message | Lines):
        return text.shown()
    return str(text)


class EnvReader:
    """Reads typed values from ``environ``; :attr:`problems` collects one line per bad value."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        self.problems: list[str] = []  # English lines; Message ones can be shown translated

    # -- raw access ------------------------------------------------------------------------------
    def raw(self, name: str) -> str | None:
        """The value with surrounding blanks removed; None when unset or blank."""
        value = self.environ.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def problem(self, line: str, /, **values: object) -> None:
        """Record a problem found by the caller's own checks: a plain line, or an ``N_`` template
        and its values (a :class:`Message`, shown translated)."""
        self.problems.append(line if isinstance(line, Message) else Message(line, **values))

    def raise_problems(self, error: Callable[[str], Exception]) -> None:
        """Raise ``error`` with every problem, one per line (a :class:`Lines`), when there is any."""
        if self.problems:
            raise error(Lines(self.problems))

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
            return self._bad(name, raw, N_("{name}={raw!r} is not a whole number"), default)
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
            return self._bad(name, raw, N_("{name}={raw!r} is not a number"), default)
        if not math.isfinite(value):
            return self._bad(name, raw, N_("{name}={raw!r} is not a finite number"), default)
        if above is not None and not value > above:
            return self._bad(name, raw, N_("{name}={raw!r} must be above {above:g}"), default, above=above)
        return self._in_range(name, raw, value, default, minimum, maximum)

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.raw(name)
        if raw is None:
            return default
        if raw.lower() in TRUE:
            return True
        if raw.lower() in FALSE:
            return False
        return self._bad(name, raw, N_("{name}={raw!r} is not a boolean (use true or false)"), default)

    def choice(self, name: str, default: str, choices: Iterable[str]) -> str:
        """One of ``choices``, compared case-insensitively; returned in lower case."""
        raw = self.raw(name)
        if raw is None:
            return default
        allowed = tuple(choices)
        if raw.lower() not in allowed:
            return self._bad(
                name, raw, N_("{name}={raw!r} is not one of {choices}"), default, choices=", ".join(allowed)
            )
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
            self.problem(N_("{name}={raw!r} is not a known IANA timezone"), name=name, raw=raw)
            return ZoneInfo("UTC")

    # -- helpers ---------------------------------------------------------------------------------
    def _bad(self, name: str, raw: str, template: str, default: T, **values: object) -> T:
        self.problem(template, name=name, raw=raw, **values)
        return default

    def _in_range(self, name, raw, value, default, minimum, maximum):
        if minimum is not None and maximum is not None and not minimum <= value <= maximum:
            return self._bad(
                name,
                raw,
                N_("{name}={raw!r} must be from {minimum:g} to {maximum:g}"),
                default,
                minimum=minimum,
                maximum=maximum,
            )
        if minimum is not None and value < minimum:
            return self._bad(
                name, raw, N_("{name}={raw!r} must be at least {minimum:g}"), default, minimum=minimum
            )
        if maximum is not None and value > maximum:
            return self._bad(
                name, raw, N_("{name}={raw!r} must be at most {maximum:g}"), default, maximum=maximum
            )
        return value
