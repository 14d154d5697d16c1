"""Secrets out of everything printed: one rule for what in a URL is a secret, and a scrubber for
free text (log lines, exception messages, HTTP answers).

The rule (:func:`url_secrets`). In a URL these parts are secrets:

1. the password of the user info (the user name is not);
2. every query value, except a ``{placeholder}`` of a template, an ISO date (``2024-06-03``) and
   the value of a key in :data:`HARMLESS_QUERY_KEYS` (``charset``);
3. in an ``http``/``https`` URL, every path segment after the first one that is at least
   :data:`MIN_PATH_SECRET` characters long and holds no ``{placeholder}``: webhook services put
   their key there (Slack's ``/services/T…/B…/<key>``), while ``webhook`` or ``send`` stay
   readable. The path of a database URL (a file or a database name) is never a secret.

:func:`mask_url` shows a URL with exactly those parts as ``***``; :class:`Redactor` replaces every
occurrence of given secrets in any text. :func:`environ_secrets` names the secrets an environment
holds, by the variable's name alone, so no layer needs to know another's variables::

    >>> mask_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6")
    'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***'
    >>> mask_url("mysql+pymysql://fund:hunter2@db:3306/funds?charset=utf8mb4")
    'mysql+pymysql://fund:***@db:3306/funds?charset=utf8mb4'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

__all__ = [
    "HARMLESS_QUERY_KEYS",
    "MASK",
    "MIN_PATH_SECRET",
    "MIN_SCRUBBED",
    "Redactor",
    "environ_secrets",
    "mask_url",
    "url_secrets",
]

MASK = "***"
#: Path segments after the first, at least this long, are keys (http and https URLs only).
MIN_PATH_SECRET = 8
#: Secrets shorter than this are never scrubbed from free text: replacing them would mangle
#: every line, and nothing that short is a credential.
MIN_SCRUBBED = 3
#: Query keys whose value is never a credential.
HARMLESS_QUERY_KEYS = frozenset({"charset"})
#: Environment variables named ``*_URL`` are URLs whose :func:`url_secrets` are secret; the whole
#: value of a variable with one of these suffixes is a secret.
SECRET_SUFFIXES = ("_PASSWORD", "_TOKEN", "_SECRET", "_KEY")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _secret_query_value(key: str, value: str) -> bool:
    if not value or key.lower() in HARMLESS_QUERY_KEYS:
        return False
    return not ("{" in value or _ISO_DATE.fullmatch(value))


def _secret_path_segment(scheme: str, index: int, segment: str) -> bool:
    """``index`` counts the segments of an absolute path from 1."""
    return (
        scheme.lower() in ("http", "https")
        and index >= 2
        and len(segment) >= MIN_PATH_SECRET
        and "{" not in segment
    )


def url_secrets(url: str) -> list[str]:
    """The secret parts of ``url`` (see the module's rule), in order; ``[]`` when it does not parse."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = [password or ""]
    for item in parts.query.split("&") if parts.query else []:
        key, _, value = item.partition("=")
        if _secret_query_value(key, value):
            found.append(value)
    for index, segment in enumerate(parts.path.split("/")[1:], start=1):
        if _secret_path_segment(parts.scheme, index, segment):
            found.append(segment)
    return [s for s in found if s]


def mask_url(url: str) -> str:
    """``url`` fit for a log line: each of its :func:`url_secrets` shown as ``***``.

    Text that is not a URL is returned as it is; a URL-like text that does not parse has the
    password before its host and its whole query masked.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a broken IPv6 host: mask by the text alone
        return _mask_text(url)
    if not parts.scheme:
        return _mask_text(url)
    if not (parts.netloc or parts.query):
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{userinfo}@{hostport}"
    segments = parts.path.split("/")
    path = "/".join(
        MASK if i and _secret_path_segment(parts.scheme, i, s) else s for i, s in enumerate(segments)
    )
    query = []
    for item in parts.query.split("&") if parts.query else []:
        key, eq, value = item.partition("=")
        query.append(f"{key}={MASK}" if eq and _secret_query_value(key, value) else item)
    text = f"{parts.scheme}://{netloc}{path}"
    if query:
        text += "?" + "&".join(query)
    if parts.fragment:
        text += "#" + MASK
    return text


def _mask_text(raw: str) -> str:
    """Mask a URL-like text that does not parse: the password before the last ``@`` of what
    follows ``://``, and the whole query."""
    scheme, sep, rest = raw.partition("://")
    if not sep:
        return raw
    rest, question, _query = rest.partition("?")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user, colon, _password = creds.partition(":")
        rest = f"{user}:{MASK}@{host}" if colon else f"{creds}@{host}"
    return f"{scheme}://{rest}" + (f"?{MASK}" if question else "")


def environ_secrets(environ: Mapping[str, str]) -> list[str]:
    """The secrets an environment holds, told by the variables' names alone.

    ``*_URL``: the URL's :func:`url_secrets`; ``*_PASSWORD``, ``*_TOKEN``, ``*_SECRET``, ``*_KEY``:
    the whole value.
    """
    found: list[str] = []
    for name, value in environ.items():
        if not value or not name.isupper():
            continue
        if name.endswith("_URL"):
            found += url_secrets(value.strip())
        elif name.endswith(SECRET_SUFFIXES):
            found.append(value.strip())
    return [s for s in found if s]


class Redactor:
    """Replaces every occurrence of known secrets in a text by ``***`` (longest first)."""

    def __init__(self, secrets: Iterable[str] = ()):
        unique = {s for s in secrets if s and len(s) >= MIN_SCRUBBED}
        self.secrets = sorted(unique, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    @classmethod
    def for_url(cls, url: str) -> Redactor:
        """A redactor of ``url``'s secrets (for the errors of a client that prints its URL)."""
        return cls(url_secrets(url))
