"""Where alerts go: a webhook (generic JSON, WeCom, DingTalk, Slack), SMTP mail, and each of
ALERT_URLS through apprise (DingTalk with signing, Feishu/Lark, WeCom, Telegram, json://...).

A channel has a printable ``target`` (no secret in it) and ``send(alert)``, which delivers or
raises. Errors of the HTTP client, which print the URL, are scrubbed of the webhook's secrets
(:mod:`fund_common.redaction`) before they reach a log line.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

from fund_common.redaction import HTTP_LIKE_SCHEMES, Redactor, mask_service_url, mask_url, service_url_secrets
from fund_scheduler.alerts.messages import PRODUCT, Alert
from fund_scheduler.settings import WEBHOOK_FORMATS, Settings

if TYPE_CHECKING:
    from email.message import EmailMessage

# requests, smtplib, email and apprise are imported by the first alert that needs them, not at
# start: an idle daemon that never alerts does not hold them (about 6 MiB; apprise 0.1 s).

__all__ = [
    "AppriseChannel",
    "Channel",
    "ChannelError",
    "EmailChannel",
    "WebhookChannel",
    "apprise_url_problems",
    "channels_from",
]

#: Alert kinds apprise is told are good news (its SUCCESS type); the others are failures,
#: except these warnings.
_SUCCESS_KINDS = frozenset({"recovered", "fresh_again"})
_WARNING_KINDS = frozenset({"skipped", "calendar_ending"})


class Channel(Protocol):
    target: str  # printable, no secret

    def send(self, alert: Alert) -> None:
        """Deliver ``alert`` or raise."""


class ChannelError(Exception):
    """A channel answered, but not with success."""


class WebhookChannel:
    """POSTs the alert as JSON in one of the WEBHOOK_FORMATS."""

    def __init__(self, url: str, fmt: str = "json", *, timeout: float = 10.0, timezone: tzinfo = UTC):
        if fmt not in WEBHOOK_FORMATS:
            raise ValueError(f"webhook format {fmt!r} is not one of {', '.join(WEBHOOK_FORMATS)}")
        self.url = url
        self.format = fmt
        self.timeout = timeout
        self.timezone = timezone
        self.target = f"webhook {mask_url(url)} ({fmt})"
        self._redactor = Redactor.for_url(url)

    def __repr__(self) -> str:
        return f"WebhookChannel({self.target!r})"

    def body(self, alert: Alert) -> dict[str, Any]:
        tz = self.timezone
        if self.format == "wecom":
            return {"msgtype": "markdown", "markdown": {"content": alert.markdown(tz)}}
        if self.format == "dingtalk":
            return {"msgtype": "markdown", "markdown": {"title": alert.title, "text": alert.markdown(tz)}}
        if self.format == "slack":
            return {"text": alert.text(tz)}
        return alert.as_json(tz)

    def scrub(self, text: str) -> str:
        return self._redactor.scrub(text)

    def send(self, alert: Alert) -> None:
        import requests

        try:
            response = requests.post(self.url, json=self.body(alert), timeout=(self.timeout, self.timeout))
        except requests.RequestException as exc:
            # requests puts the URL (and so the key) into its messages: never let it through.
            raise ChannelError(self.scrub(f"{type(exc).__name__}: {exc}")) from None
        if response.status_code >= 300:
            raise ChannelError(f"HTTP {response.status_code}: {self.scrub(response.text[:200])}")
        if self.format in ("wecom", "dingtalk"):
            # Both robots answer 200 with {"errcode": N, "errmsg": ...}; N != 0 is a refusal.
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
                raise ChannelError(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")


class EmailChannel:
    """Sends the alert as a plain-text mail through SMTP (STARTTLS and login when configured)."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        to: Sequence[str],
        sender: str | None = None,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
        timezone: tzinfo = UTC,
    ):
        self.host, self.port = host, port
        self.to = tuple(to)
        self.sender = sender or user or f"{PRODUCT}@{socket.gethostname()}"
        if "@" not in self.sender:
            self.sender = f"{self.sender}@{host}"
        self.user, self.password = user, password
        self.starttls = starttls
        self.timeout = timeout
        self.timezone = timezone
        self.target = f"smtp {host}:{port} to {', '.join(self.to)}"

    def __repr__(self) -> str:
        return f"EmailChannel({self.target!r})"

    def message(self, alert: Alert) -> EmailMessage:
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid

        msg = EmailMessage()
        msg["Subject"] = alert.title
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=socket.gethostname())
        msg.set_content(alert.text(self.timezone) + "\n")
        return msg

    def send(self, alert: Alert) -> None:
        import smtplib
        import ssl

        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(self.message(alert))


class AppriseChannel:
    """Sends the alert to one apprise URL: the title, and the markdown form of the text when the
    service takes markdown (DingTalk, Feishu, Telegram...), else (and to the generic ``json://``,
    ``form://``, ``xml://`` of :data:`HTTP_LIKE_SCHEMES`) the plain text. ALERT_TIMEOUT is
    apprise's connect and read timeout; no retry and no throttling (the notifier rate-limits).
    A refusal raises :class:`ChannelError` with apprise's reason, the URL's keys scrubbed."""

    def __init__(self, url: str, *, timeout: float = 10.0, timezone: tzinfo = UTC):
        self.url = url
        self.timeout = timeout
        self.timezone = timezone
        self.target = f"apprise {mask_service_url(url)}"
        self._redactor = Redactor(service_url_secrets(url))

    def __repr__(self) -> str:
        return f"AppriseChannel({self.target!r})"

    def scrub(self, text: str) -> str:
        return self._redactor.scrub(text)

    def body(self, alert: Alert, markdown: bool) -> str:
        """The text, or the markdown without its bold title line (apprise heads it with the title)."""
        if markdown:
            return alert.markdown(self.timezone).partition("\n\n")[2]
        return alert.text(self.timezone)

    def plugin(self) -> Any:
        """apprise's notifier object of the URL (imports apprise); ChannelError if not understood."""
        import apprise

        plugin = apprise.Apprise.instantiate(self.url, suppress_exceptions=True)
        if not plugin:
            raise ChannelError("apprise does not understand the URL (unknown scheme or missing parts)")
        plugin.socket_connect_timeout = plugin.socket_read_timeout = self.timeout
        plugin.request_rate_per_sec = 0
        return plugin

    def send(self, alert: Alert) -> None:
        from apprise import LogCapture, NotifyFormat, NotifyType

        plugin = self.plugin()
        formats = plugin.notify_format
        formats = formats if isinstance(formats, tuple) else (formats,)
        generic = self.url.partition("://")[0].lower() in HTTP_LIKE_SCHEMES
        markdown = NotifyFormat.MARKDOWN in formats and not generic
        kind = (
            NotifyType.SUCCESS
            if alert.kind in _SUCCESS_KINDS
            else NotifyType.WARNING
            if alert.kind in _WARNING_KINDS
            else NotifyType.FAILURE
        )
        try:
            with LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
                ok = plugin.notify(
                    body=self.body(alert, markdown),
                    title=alert.title,
                    notify_type=kind,
                    body_format=NotifyFormat.MARKDOWN if markdown else NotifyFormat.TEXT,
                )
        except Exception as exc:  # noqa: BLE001 - a plugin's error may print its URL: scrubbed
            raise ChannelError(self.scrub(f"{type(exc).__name__}: {exc}")) from None
        if not ok:
            lines = [line for line in captured.getvalue().splitlines() if line.strip()]
            raise ChannelError(self.scrub("; ".join(lines[-2:]) or "apprise reported a failure"))


def apprise_url_problems(urls: Sequence[str]) -> list[str]:
    """One line per ALERT_URLS entry apprise does not understand, naming its position and masked
    form (imports apprise: for ``check-config`` and the daemon's start)."""
    import apprise

    return [
        f"ALERT_URLS entry {position} ({mask_service_url(url)!r}): apprise does not understand it "
        "(unknown scheme or missing parts)"
        for position, url in enumerate(urls, start=1)
        if not apprise.Apprise().add(url)
    ]


def channels_from(settings: Settings) -> list[Channel]:
    """The channels the ALERT_* settings configure (none: alerts disabled)."""
    config = settings.alerts
    channels: list[Channel] = []
    if config.webhook_url:
        channels.append(
            WebhookChannel(
                config.webhook_url,
                config.webhook_format,
                timeout=config.timeout,
                timezone=settings.timezone,
            )
        )
    if config.smtp_host:
        channels.append(
            EmailChannel(
                config.smtp_host,
                config.smtp_port,
                to=config.smtp_to,
                sender=config.smtp_from,
                user=config.smtp_user,
                password=config.smtp_password,
                starttls=config.smtp_starttls,
                timeout=config.timeout,
                timezone=settings.timezone,
            )
        )
    channels += [
        AppriseChannel(url, timeout=config.timeout, timezone=settings.timezone) for url in config.urls
    ]
    return channels
