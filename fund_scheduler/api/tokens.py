"""Who may write over HTTP: the API's named tokens and their roles.

``SCHEDULER_API_TOKENS_FILE`` names a file of one token a line, ``name role token`` (role
``viewer`` or ``operator``; blank lines and ``#`` comments ignored), readable by its owner
only: a file that its group or others may read is refused, as is a bad line (named by its
number, never echoing the token). ``SCHEDULER_API_TOKEN``, when set, is one more operator token
named ``default``. A request's ``Authorization: Bearer <token>`` is compared in constant time
with every token; the match names who asks (``token:<name>`` in the audit log).
"""

from __future__ import annotations

import hmac
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fund_scheduler.errors import ConfigError
from fund_scheduler.store.audit import ROLES

__all__ = ["DEFAULT_TOKEN_NAME", "MIN_TOKEN_LENGTH", "ApiToken", "TokenBook", "read_tokens_file"]

DEFAULT_TOKEN_NAME = "default"  # noqa: S105 - the name of SCHEDULER_API_TOKEN, not a secret
MIN_TOKEN_LENGTH = 16
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class ApiToken:
    """One bearer token: its name (who holds it), role and secret (never shown)."""

    name: str
    role: str
    secret: str = field(repr=False)

    @property
    def may_write(self) -> bool:
        return self.role == "operator"


def read_tokens_file(path: Path) -> list[ApiToken]:
    """The tokens of ``path``; ConfigError naming the file (and the line) when it cannot be read,
    is readable by group or others, or a line is not ``name role token``."""
    what = f"SCHEDULER_API_TOKENS_FILE {path}"
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{what}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what}: not UTF-8 text") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{what}: mode {stat.S_IMODE(mode):04o} lets others read the tokens; chmod 600 {path}"
        )
    tokens: list[ApiToken] = []
    names: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{what} line {number}"
        if len(words) != 3:
            raise ConfigError(f"{where}: expected 'name role token', got {len(words)} field(s)")
        name, role, secret = words
        if not _NAME.fullmatch(name):
            raise ConfigError(f"{where}: name {name!r} must be letters, digits, '_', '.', '@' or '-'")
        if role not in ROLES:
            raise ConfigError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
        if len(secret) < MIN_TOKEN_LENGTH:
            raise ConfigError(f"{where}: the token of {name!r} is shorter than {MIN_TOKEN_LENGTH} characters")
        if name in names:
            raise ConfigError(f"{where}: name {name!r} is given twice")
        names.add(name)
        tokens.append(ApiToken(name, role, secret))
    return tokens


class TokenBook:
    """The tokens the HTTP API accepts."""

    def __init__(self, tokens: Iterable[ApiToken] = ()):
        self.tokens = tuple(tokens)

    @classmethod
    def of(cls, single: str | None = None, tokens_file: Path | None = None) -> TokenBook:
        """The tokens of ``tokens_file`` plus ``single`` (SCHEDULER_API_TOKEN) as the operator
        ``default``; ConfigError as :func:`read_tokens_file`."""
        tokens = read_tokens_file(tokens_file) if tokens_file is not None else []
        if single:
            if any(t.name == DEFAULT_TOKEN_NAME for t in tokens):
                raise ConfigError(
                    f"SCHEDULER_API_TOKENS_FILE names a token {DEFAULT_TOKEN_NAME!r}, the name of "
                    "SCHEDULER_API_TOKEN: rename it"
                )
            tokens.append(ApiToken(DEFAULT_TOKEN_NAME, "operator", single))
        return cls(tokens)

    def __bool__(self) -> bool:
        return bool(self.tokens)

    @property
    def writes_enabled(self) -> bool:
        return any(t.may_write for t in self.tokens)

    def find(self, given: str) -> ApiToken | None:
        """The token equal to ``given`` (every token compared, in constant time), or None."""
        found = None
        for token in self.tokens:
            if hmac.compare_digest(given.encode(), token.secret.encode()):
                found = token
        return found
