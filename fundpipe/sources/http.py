"""The ``http`` source: one GET of a JSON endpoint per collection (``FUND_HTTP_URL``).

Request. ``{date}`` in the URL template is replaced by the ISO day (``2024-06-03``); the
request is ``GET`` with ``Accept: application/json`` through :mod:`requests` (so the usual
``HTTPS_PROXY`` / ``NO_PROXY`` / ``REQUESTS_CA_BUNDLE`` variables apply). ``FUND_HTTP_TIMEOUT``
bounds the connection, each read, and the whole answer.

Answer. Either a JSON list of objects or an object whose ``"data"`` member is that list,
each object with ``fund_code, nav_date, unit_nav`` and optionally ``accum_nav,
daily_return`` (percent); numbers may be JSON numbers or strings, other members are
ignored. A missing or unreadable value in an object is staged as such and quarantined by
validation; an empty list is a day without NAVs.

Errors. Connection errors, timeouts, HTTP 429 and 5xx are transient: up to
:data:`ATTEMPTS` attempts, waiting ``backoff * 2**(n-1)`` seconds after attempt ``n``
(1 s, 2 s by default; a ``Retry-After`` of up to 60 s is honoured when longer). Anything
else fails at once: another HTTP error (404, 401, ...), a body that is not JSON, JSON of
another shape, an answer larger than :data:`MAX_BYTES`. Each raises
:class:`~fundpipe.errors.SourceError` naming the URL masked (the password, query values and
key-like path segments ``***``: :func:`fund_common.redaction.mask_url`), the HTTP status and the
first bytes of the body. Every message and log line is also scrubbed of the URL's secrets
(:meth:`fund_common.redaction.Redactor.for_url`), wherever they occur in it: in the text of a
:mod:`requests` error, or in a body that echoes the request. The source is read before the
staging transaction opens, so a failed fetch writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import requests

from fund_common.redaction import Redactor, mask_url
from fundpipe.errors import SourceError
from fundpipe.sources import NAV_COLUMNS, Delivery, empty_funds, staging_frame

__all__ = ["ATTEMPTS", "MAX_BYTES", "HttpSource"]

logger = logging.getLogger("fundpipe")

ATTEMPTS = 3
MAX_BYTES = 64 * 1024 * 1024
MAX_RETRY_AFTER = 60.0
_SNIPPET = 120  # bytes of a bad body quoted in an error


class _Transient(Exception):
    """An attempt failed in a way worth retrying; the message says how."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class HttpSource:
    """NAV rows for a day from a JSON endpoint (see the module docstring)."""

    name = "http"

    def __init__(
        self,
        url_template: str,
        *,
        timeout: float = 30.0,
        attempts: int = ATTEMPTS,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if "{date}" not in url_template:
            raise SourceError(f"http source: URL {mask_url(url_template)!r} must contain {{date}}")
        if attempts < 1:
            raise ValueError(f"attempts={attempts!r} must be at least 1")
        self.url_template = url_template
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"HttpSource({mask_url(self.url_template)!r}, timeout={self.timeout:g})"

    def funds(self) -> pd.DataFrame:
        """The HTTP source carries no fund master data."""
        return empty_funds()

    def fetch(self, as_of: dt.date) -> pd.DataFrame:
        """The endpoint's NAV rows for ``as_of``, as delivered (raw values)."""
        return self._get(as_of)[0]

    def deliver(self, as_of: dt.date) -> Delivery:
        """The rows in staging form, with the masked URL, attempts and status as details."""
        frame, details = self._get(as_of)
        try:
            rows = staging_frame(frame, self.name)
        except SourceError as exc:
            raise SourceError(f"http source: {details['url']}: {exc}") from None
        return _HttpDelivery(rows, {**details, "rows": len(rows)})

    def _get(self, as_of: dt.date) -> tuple[pd.DataFrame, dict[str, Any]]:
        url = self.url_template.replace("{date}", as_of.isoformat())
        shown = mask_url(url)
        secrets = Redactor.for_url(url)
        try:
            return self._fetch(url, shown, secrets)
        except SourceError as exc:
            raise SourceError(secrets.scrub(str(exc))) from None

    def _fetch(self, url: str, shown: str, secrets: Redactor) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The attempts of :meth:`_get`; messages may quote the server and requests verbatim."""
        with requests.Session() as session:
            for attempt in range(1, self.attempts + 1):
                try:
                    status, body = self._attempt(session, url, shown)
                except _Transient as exc:
                    if attempt == self.attempts:
                        raise SourceError(
                            f"http source: {shown}: {exc} (gave up after {attempt} attempt(s))"
                        ) from None
                    delay = self.backoff * 2 ** (attempt - 1)
                    if exc.retry_after is not None:
                        delay = max(delay, min(exc.retry_after, MAX_RETRY_AFTER))
                    logger.warning(
                        "http source: %s: %s; attempt %d of %d, retrying in %.1f s",
                        shown,
                        secrets.scrub(str(exc)),
                        attempt,
                        self.attempts,
                        delay,
                    )
                    self.sleep(delay)
                    continue
                frame = _frame(_items(body, status, shown))
                return frame, {"url": shown, "attempts": attempt, "status": status}
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, session: requests.Session, url: str, shown: str) -> tuple[int, bytes]:
        """One GET: (status, body) of a 2xx answer; raise _Transient or SourceError otherwise."""
        deadline = time.monotonic() + self.timeout
        try:
            with session.get(
                url,
                timeout=(self.timeout, self.timeout),
                stream=True,
                headers={"Accept": "application/json", "User-Agent": "fund-scheduler"},
            ) as response:
                status = response.status_code
                if status == 429 or 500 <= status <= 599:
                    raise _Transient(f"HTTP {status} {response.reason}", _retry_after(response))
                body = _read(response, deadline, self.timeout, shown)
        except requests.Timeout:
            raise _Transient(f"no answer within {self.timeout:g} s") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Transient(f"connection failed ({_why(exc)})") from None
        except requests.RequestException as exc:
            raise SourceError(f"http source: {shown}: request failed ({type(exc).__name__})") from None
        if not 200 <= status <= 299:
            raise SourceError(
                f"http source: {shown} answered HTTP {status} {response.reason}; "
                f"first bytes: {body[:_SNIPPET]!r}"
            )
        return status, body


def _read(response: requests.Response, deadline: float, timeout: float, shown: str) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_BYTES:
            raise SourceError(f"http source: {shown}: answer larger than {MAX_BYTES} bytes")
        if time.monotonic() > deadline:
            raise requests.Timeout(f"whole answer not received within {timeout:g} s")
    return bytes(body)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if re.fullmatch(r"\d+(\.\d+)?", value) else None


def _why(exc: Exception) -> str:
    """A short reason without the URL (requests' messages repeat the full URL, query and all)."""
    text = str(exc)
    match = re.search(
        r"\[Errno -?\d+\][^)'\"]*|Connection refused|Connection reset|timed out|"
        r"Name or service not known|Remote end closed connection[^)'\"]*",
        text,
    )
    return match.group(0).strip() if match else type(exc).__name__


def _items(body: bytes, status: int, shown: str) -> list[dict[str, Any]]:
    """The list of NAV objects in ``body``; raise SourceError naming what is wrong."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise SourceError(
            f"http source: {shown} answered HTTP {status} with a body that is not JSON ({why}); "
            f"first bytes: {body[:_SNIPPET]!r}"
        ) from None
    items = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        got = (
            f"an object with keys {', '.join(map(repr, list(payload)[:8])) or 'none'}"
            if isinstance(payload, dict)
            else f"a JSON {type(payload).__name__}"
        )
        raise SourceError(
            f"http source: {shown} answered HTTP {status} with {got}; expected a list of NAV "
            f'objects or {{"data": [...]}}; first bytes: {body[:_SNIPPET]!r}'
        )
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise SourceError(
                f"http source: {shown}: item {i} is a JSON {type(item).__name__} ({item!r:.60}), "
                f"expected an object with {', '.join(NAV_COLUMNS[:3])}"
            )
    return items


def _frame(items: list[dict[str, Any]]) -> pd.DataFrame:
    if not items:
        return pd.DataFrame(columns=list(NAV_COLUMNS))
    present = [c for c in NAV_COLUMNS if any(c in item for item in items)]
    return pd.DataFrame({c: [item.get(c) for item in items] for c in present}, dtype=object)


class _HttpDelivery(Delivery):
    def note(self) -> str:
        d = self.details
        return f"http: {d['url']} answered {d['status']} after {d['attempts']} attempt(s)"
