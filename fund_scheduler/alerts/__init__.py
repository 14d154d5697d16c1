"""Alerts: failure, timeout, missed, skipped and recovered notices, a check job's
stale_data / fresh_again, and calendar_ending (an exchange calendar's known range ends within 60
days; sent by the daemon's calendar keeper once per calendar per day), rate-limited, sent to a
webhook (JSON, WeCom, DingTalk, Slack), by mail and/or to ALERT_URLS through apprise, on a
worker thread of their own.

``messages`` (what an alert says), ``decide`` (which run deserves one; the rate limit),
``checks`` (which change of a check's state deserves one),
``channels`` (where they go), ``notifier`` (the queue and worker that tie them together).
"""

from fund_scheduler.alerts.channels import (
    AppriseChannel,
    Channel,
    ChannelError,
    EmailChannel,
    WebhookChannel,
    apprise_url_problems,
    channels_from,
)
from fund_scheduler.alerts.checks import check_alert
from fund_scheduler.alerts.decide import RateLimiter, alert_for
from fund_scheduler.alerts.messages import Alert
from fund_scheduler.alerts.notifier import Notifier

__all__ = [
    "Alert",
    "AppriseChannel",
    "Channel",
    "ChannelError",
    "EmailChannel",
    "Notifier",
    "RateLimiter",
    "WebhookChannel",
    "alert_for",
    "apprise_url_problems",
    "channels_from",
    "check_alert",
]
