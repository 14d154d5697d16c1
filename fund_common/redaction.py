"""Secrets out of everything printed: one rule for what in a URL is a secret, and a scrubber for
free text (log lines, exception messages, HTTP answers).

The rule (:func:`url_secrets`). In a URL these parts are secrets:

1. the password of the user info (the user name is not), however it is written: unencoded
   ``@`` ``/`` ``?`` ``#`` in it never show a part of it (:func:`_split_userinfo`);
2. every query value (up to the next ``&``, a ``#`` included), except a ``{placeholder}`` of a
   template, the value of a key in :data:`HARMLESS_QUERY_KEYS` (``charset``) and an ISO date
   (``2024-06-03``) unless the key names a credential (``password``, ``passwd``, ``token``...);
3. in an ``http``/``https`` URL, every path segment after the first one that is at least
   :data:`MIN_PATH_SECRET` characters long and holds no ``{placeholder}``: webhook services put
   their key there (Slack's ``/services/T…/B…/<key>``), while ``webhook`` or ``send`` stay
   readable. The path of a database URL (a file or a database name) is never a secret.

:func:`url_secrets` lists each also percent-decoded. :func:`mask_url` shows a URL with exactly
those parts as ``***``; :class:`Redactor` replaces every occurrence of given secrets in any text,
then masks the credentials of every URL it finds there (:func:`mask_urls_in`: the password and
the values of credential keys), so a URL no setting names is covered too.
A notification service URL (apprise's ``dingtalk://token/secret``, ``tgram://bot/chat``) keeps
its keys in the host and the path: :func:`service_url_secrets` and :func:`mask_service_url`
treat everything after its scheme as secret, unless the scheme is an HTTP one
(:data:`HTTP_LIKE_SCHEMES`: ``json://host/path`` follows the rule above).
:func:`environ_secrets` names the secrets an environment holds, by the variable's name alone, so
no layer needs to know another's variables::

    >>> mask_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6")
    'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***'
    >>> mask_url("mysql+pymysql://fund:hunter2@db:3306/funds?charset=utf8mb4")
    'mysql+pymysql://fund:***@db:3306/funds?charset=utf8mb4'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, unquote_plus, urlsplit

__all__ = [
    "HARMLESS_QUERY_KEYS",
    "MASK",
    "MIN_PATH_SECRET",
    "MIN_SCRUBBED",
    "Redactor",
    "environ_secrets",
    "mask_service_url",
    "mask_url",
    "mask_urls_in",
    "service_url_secrets",
    "split_urls",
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
#: Schemes whose host is a host and whose path is read as an http(s) URL's (apprise's generic
#: ``json://``, ``form://``, ``xml://`` and their TLS forms).
HTTP_LIKE_SCHEMES = frozenset({"http", "https", "json", "jsons", "form", "forms", "xml", "xmls"})
#: How the entries of a list of URLs (``ALERT_URLS``) are separated.
URL_LIST_SEPARATORS = re.compile(r"[\s,]+")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Query keys naming a credential: their value is a secret whatever it looks like.
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|key|sign|auth", re.IGNORECASE)
#: A URL in free text: a scheme, ``://`` and everything up to a blank or a quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
_SECRET_QUERY_ITEM = re.compile(
    r"([?&;][^=&#\s]*(?:pass|pwd|secret|token|key|sign|auth)[^=&#\s]*=)[^&\s]*", re.IGNORECASE
)


def _secret_query_value(key: str, value: str) -> bool:
    if not value or key.lower() in HARMLESS_QUERY_KEYS:
        return False
    if "{" in value:
        return False
    return _secret_key(key) or not _ISO_DATE.fullmatch(value)


def _secret_path_segment(scheme: str, index: int, segment: str) -> bool:
    """``index`` counts the segments of an absolute path from 1."""
    return (
        scheme.lower() in HTTP_LIKE_SCHEMES
        and index >= 2
        and len(segment) >= MIN_PATH_SECRET
        and "{" not in segment
    )


def _split_userinfo(url: str, widest: bool = False) -> tuple[str | None, str | None, str] | None:
    """``(user, password, rest)`` of ``scheme://user:password@rest``; None without ``://``.

    A password may hold ``@`` ``/`` ``?`` ``#`` unencoded, and clients read such a URL
    differently: urllib (and so an http client) ends the user info at the last ``@`` before
    the first ``/``, ``?`` or ``#``; SQLAlchemy ends the password at the first ``@`` after
    ``user:``. For an http(s) URL urllib's reading is taken; for any other (a database URL)
    whichever of the two ends later, so neither reading shows a part of the password (``widest``:
    for any URL, as free text is masked). ``user`` and ``password`` are None when absent
    (``rest`` then starts after ``scheme://``).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    authority = _authority(rest)
    end = authority.rfind("@")
    user = re.match(r"[^:/?#@]*", rest)
    assert user is not None  # the pattern matches the empty string
    if (widest or scheme.lower() not in ("http", "https")) and rest.startswith(":", user.end()):
        first = rest.find("@", user.end())
        end = max(end, first)
    if end < 0:
        return None, None, rest
    name, colon, password = rest[:end].partition(":")
    return name, password if colon else None, rest[end + 1 :]


def _authority(rest: str) -> str:
    """What urllib reads as the host part of ``rest`` (up to the first ``/``, ``?`` or ``#``)."""
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _secret_key(key: str) -> bool:
    """A query key naming a credential (``password``, ``passwd``, ``pwd``, ``*token*``, ...)."""
    return bool(_SECRET_KEY.search(key))


def url_secrets(url: str) -> list[str]:
    """The secret parts of ``url`` (see the module's rule), in order, each also percent-decoded
    when that differs; ``[]`` when it does not parse. A query value runs to the next ``&``,
    ``#`` included (``?password=a#b``)."""
    split = _split_userinfo(url)
    if split is None:
        return []
    _user, password, rest = split
    found = [password or ""]
    try:
        parts = urlsplit(f"x://{rest}")
    except ValueError:
        return _with_decoded(found)
    query = rest.partition("?")[2] if "?" in rest.partition("#")[0] else ""  # none in a fragment
    for item in query.split("&") if query else []:
        key, _, value = item.partition("=")
        if _secret_query_value(key, value):
            found += [value.partition("#")[0], value]
    scheme = url.partition("://")[0]
    for index, segment in enumerate(parts.path.split("/")[1:], start=1):
        if _secret_path_segment(scheme, index, segment):
            found.append(segment)
    return _with_decoded(found)


def _with_decoded(found: list[str]) -> list[str]:
    out: list[str] = []
    for secret in found:
        for form in (secret, unquote(secret), unquote_plus(secret)):
            if form and form not in out:
                out.append(form)
    return out


def mask_url(url: str) -> str:
    """``url`` fit for a log line: each of its :func:`url_secrets` shown as ``***``.

    Text that is not a URL is returned as it is; a URL-like text that does not parse has the
    password before its host and its whole query masked.
    """
    split = _split_userinfo(url)
    if split is None or not url.partition("://")[0]:
        return _mask_text(url)
    scheme = url.partition("://")[0]
    user, password, rest = split
    try:
        parts = urlsplit(f"{scheme}://{rest}")
    except ValueError:  # e.g. a broken IPv6 host: mask by the text alone
        return _mask_text(url)
    if not (parts.netloc or parts.query) and user is None:
        return url
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}:{MASK}@{netloc}" if password is not None else f"{user}@{netloc}"
    segments = parts.path.split("/")
    path = "/".join(
        MASK if i and _secret_path_segment(parts.scheme, i, s) else s for i, s in enumerate(segments)
    )
    query = []
    for item in parts.query.split("&") if parts.query else []:
        key, eq, value = item.partition("=")
        query.append(f"{key}={MASK}" if eq and _secret_query_value(key, value) else item)
    text = f"{scheme}://{netloc}{path}"
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


def mask_urls_in(text: str) -> str:
    """``text`` with the credentials of every URL in it masked: the password of its user info
    and the value of each query key naming a credential (``password``, ``passwd``, ``token``,
    ...). The safety net for URLs no setting names (a job's message, a driver's error)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    """A URL found in text, the punctuation that ends a sentence or a clause left after it."""
    url = match.group()
    tail = len(url) - len(url.rstrip(".,;:!?)]}"))
    return _mask_credentials(url[: len(url) - tail]) + url[len(url) - tail :]


def _mask_credentials(url: str) -> str:
    split = _split_userinfo(url, widest=True)
    if split is None:
        return url
    user, password, rest = split
    head = url.partition("://")[0] + "://"
    if password is not None:
        head += f"{user}:{MASK}@"
    elif user is not None:
        head += f"{user}@"
    return head + _SECRET_QUERY_ITEM.sub(lambda m: m.group(1) + MASK, rest)


def service_url_secrets(url: str) -> list[str]:
    """The secret parts of a notification service URL: :func:`url_secrets` for a scheme of
    :data:`HTTP_LIKE_SCHEMES`; for any other, everything between ``://`` and the query (whole,
    each ``/`` segment and each of its ``:`` ``@`` pieces, except numbers shorter than
    :data:`MIN_PATH_SECRET`: ports) and every query value by :func:`url_secrets`' rule."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return []
    if scheme.lower() in HTTP_LIKE_SCHEMES:
        return url_secrets(url.strip())
    head, _, query = rest.partition("#")[0].partition("?")
    found = [head.strip("/")]
    for segment in head.split("/"):
        found.append(segment)
        found += re.split(r"[:@]", segment)
    found = [s for s in found if not (s.isdigit() and len(s) < MIN_PATH_SECRET)]
    for item in query.split("&") if query else []:
        key, _, value = item.partition("=")
        if _secret_query_value(key, value):
            found.append(value)
    return _with_decoded([s for s in found if s])


def mask_service_url(url: str) -> str:
    """A notification service URL fit for a log line: :func:`mask_url` for a scheme of
    :data:`HTTP_LIKE_SCHEMES`, else only the scheme (``dingtalk://***``)."""
    scheme, sep, _rest = url.strip().partition("://")
    if not sep:
        return MASK
    if scheme.lower() in HTTP_LIKE_SCHEMES:
        return mask_url(url.strip())
    return f"{scheme}://{MASK}"


def split_urls(text: str) -> list[str]:
    """The entries of a list of URLs separated by blanks, commas or newlines."""
    return [u for u in URL_LIST_SEPARATORS.split(text) if u]


def environ_secrets(environ: Mapping[str, str]) -> list[str]:
    """The secrets an environment holds, told by the variables' names alone.

    ``*_URL``: the URL's :func:`url_secrets`; ``*_URLS``: each listed URL's
    :func:`service_url_secrets`; ``*_PASSWORD``, ``*_TOKEN``, ``*_SECRET``, ``*_KEY``: the whole
    value.
    """
    found: list[str] = []
    for name, value in environ.items():
        if not value or not name.isupper():
            continue
        if name.endswith("_URLS"):
            for url in split_urls(value):
                found += service_url_secrets(url)
        elif name.endswith("_URL"):
            found += url_secrets(value.strip())
        elif name.endswith(SECRET_SUFFIXES):
            found.append(value.strip())
    return [s for s in found if s]


class Redactor:
    """Replaces every occurrence of known secrets in a text by ``***`` (longest first), then
    the credentials of any URL in it (:func:`mask_urls_in`)."""

    def __init__(self, secrets: Iterable[str] = ()):
        unique = {s for s in secrets if s and len(s) >= MIN_SCRUBBED}
        self.secrets = sorted(unique, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return mask_urls_in(text)

    @classmethod
    def for_url(cls, url: str) -> Redactor:
        """A redactor of ``url``'s secrets (for the errors of a client that prints its URL)."""
        return cls(url_secrets(url))
