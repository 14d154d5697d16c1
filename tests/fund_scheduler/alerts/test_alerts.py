"""Alerts against real local servers: a webhook (http.server in a thread) and SMTP (aiosmtpd).

The rate limit runs on an injected clock; nothing sleeps to wait for the future. Waiting for the
notifier's worker thread is ``Notifier.flush`` (bounded), never a sleep.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy.engine import Engine

from fund_scheduler.alerts import (
    Alert,
    EmailChannel,
    Notifier,
    WebhookChannel,
    alert_for,
    channels_from,
)
from fund_scheduler.errors import ConfigError
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from tests.support.schema import create_scheduler_tables
from tests.support.webhook import SECRET, Hook

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCHEDULED = datetime(2026, 5, 6, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai


# -- real local servers ------------------------------------------------------------------------
@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A port that accepts TCP connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook?key={SECRET}"
    sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtpd() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"alerts" and auth_data.password == b"mail-pw"
        return AuthResult(success=ok)

    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield controller, mailbox
    controller.stop()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/history.db")
    create_scheduler_tables(engine)
    yield engine
    engine.dispose()


def failed_alert(**kw) -> Alert:
    values = {
        "job_id": "daily_collection",
        "kind": "failed",
        "status": "failed",
        "execution_id": 42,
        "scheduled_run_time": SCHEDULED,
        "trigger": "schedule",
        "error": "disk full on /data",
        "log_path": "/srv/fs/logs/jobs/daily_collection.log",
        "host": "box1",
    }
    return Alert(**{**values, **kw})


_FIRE_TIMES = itertools.count(1)


def finished(engine: Engine, job_id: str, status: str, error: str | None = None) -> dict:
    """A finished history row, as the runner or the daemon leaves it (each its own fire time:
    ``job_executions`` holds one row per job and scheduled run time)."""
    scheduled = SCHEDULED + timedelta(minutes=next(_FIRE_TIMES))
    if status in ("missed", "skipped"):
        execution_id = history.record(engine, job_id, status, scheduled_run_time=scheduled, error=error)
    else:
        execution_id = history.start(engine, job_id, scheduled_run_time=scheduled, trigger="schedule")
        history.finish(engine, execution_id, status, exit_code=0 if status == "success" else 1, error=error)
    return history.get(engine, execution_id)


# -- message shapes ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "wecom", "dingtalk", "slack"])
def test_each_webhook_format_posts_its_shape_with_job_status_time_error_and_log(hook: Hook, fmt: str) -> None:
    WebhookChannel(hook.url, fmt, timeout=5, timezone=SHANGHAI).send(failed_alert(suppressed=3))
    [post] = hook.wait(1)
    body = post["json"]
    assert post["path"] == f"/robot/send?key={SECRET}"
    if fmt == "json":
        assert {
            k: body[k]
            for k in (
                "job",
                "status",
                "kind",
                "scheduled_run_time",
                "error",
                "log_path",
                "execution_id",
                "host",
                "suppressed",
            )
        } == {
            "job": "daily_collection",
            "status": "failed",
            "kind": "failed",
            "scheduled_run_time": "2026-05-06T19:00:00+08:00",
            "error": "disk full on /data",
            "log_path": "/srv/fs/logs/jobs/daily_collection.log",
            "execution_id": 42,
            "host": "box1",
            "suppressed": 3,
        }
        text = body["text"]
    elif fmt == "wecom":
        assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"content"}
        text = body["markdown"]["content"]
    elif fmt == "dingtalk":
        assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
        assert body["markdown"]["title"] == "fund-scheduler: job daily_collection failed"
        text = body["markdown"]["text"]
    else:
        assert set(body) == {"text"}
        text = body["text"]
    for part in (
        "daily",
        "failed",
        "2026-05-06 19:00:00 CST",
        "disk full on /data",
        "/srv/fs/logs/jobs/daily_collection.log",
        "3 earlier failed alert(s)",
    ):
        assert part in text, (part, text)


def test_email_has_subject_recipients_and_the_facts_and_logs_in(smtpd) -> None:
    controller, mailbox = smtpd
    channel = EmailChannel(
        "127.0.0.1",
        controller.port,
        to=["ops@example.com", "oncall@example.com"],
        sender="scheduler@example.com",
        user="alerts",
        password="mail-pw",
        starttls=False,
        timeout=5,
        timezone=SHANGHAI,
    )
    channel.send(failed_alert(kind="timeout", status="timeout", error="timed out after 60s"))
    [envelope] = mailbox.envelopes
    assert envelope.mail_from == "scheduler@example.com"
    assert envelope.rcpt_tos == ["ops@example.com", "oncall@example.com"]
    mail = envelope.content.decode()
    assert "Subject: fund-scheduler: job daily_collection timeout" in mail
    for part in ("Status: timeout", "Scheduled: 2026-05-06 19:00:00 CST", "Error: timed out after 60s"):
        assert part in mail
    assert "Log: /srv/fs/logs/jobs/daily_collection.log" in mail
    assert "mail-pw" not in mail
    assert "mail-pw" not in repr(channel) and "mail-pw" not in channel.target


def test_a_robot_refusal_with_http_200_counts_as_a_failed_send(hook: Hook, caplog) -> None:
    hook.reply = (200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    notifier = Notifier([WebhookChannel(hook.url, "wecom", timeout=5)])
    try:
        with caplog.at_level(logging.INFO, "scheduler.alerts"):
            notifier.notify(failed_alert())
            assert notifier.flush(10)
        assert (notifier.sent, notifier.failed) == (0, 1)
        assert "errcode 93000: invalid webhook url" in caplog.text
    finally:
        notifier.close()


# -- deciding from the history table -------------------------------------------------------------
def test_failures_alert_and_the_first_success_after_one_is_a_recovery(engine: Engine, tmp_path: Path) -> None:
    logs = tmp_path / "logs" / "jobs"
    assert alert_for(engine, finished(engine, "j", "success")) is None
    for status in ("failed", "timeout", "missed", "interrupted"):
        alert = alert_for(engine, finished(engine, "j", status, error="Traceback\n  ...\nValueError: bad"))
        assert (alert.kind, alert.status) == (status, status)
        assert alert.error == "ValueError: bad"
        recovered = alert_for(engine, finished(engine, "j", "success"), log_dir=logs)
        assert (recovered.kind, recovered.status, recovered.previous_status) == (
            "recovered",
            "success",
            status,
        )
        assert recovered.log_path == str(logs / "j" / f"{recovered.execution_id}.log")
        assert recovered.title == f"fund-scheduler: job j recovered (success after {status})"
    assert alert_for(engine, finished(engine, "j", "success")) is None  # only the first success
    finished(engine, "other", "failed")  # another job's failure is not this job's
    assert alert_for(engine, finished(engine, "j", "success")) is None


def test_skipped_alerts_from_the_second_in_a_row_and_its_end_is_a_recovery(engine: Engine) -> None:
    finished(engine, "j", "success")
    history.start(engine, "j", scheduled_run_time=SCHEDULED, trigger="schedule")  # the long run, still going
    assert alert_for(engine, finished(engine, "j", "skipped"), skipped_after=2) is None
    second = alert_for(engine, finished(engine, "j", "skipped"), skipped_after=2)
    assert (second.kind, second.in_a_row) == ("skipped", 2)
    assert second.title == "fund-scheduler: job j skipped 2 times in a row"
    third = alert_for(engine, finished(engine, "j", "skipped"), skipped_after=2)
    assert third.in_a_row == 3
    back = alert_for(engine, finished(engine, "j", "success"), skipped_after=2)
    assert (back.kind, back.previous_status) == ("recovered", "3 skipped runs")
    # a single skip between successes is no news, nor is its end
    assert alert_for(engine, finished(engine, "j", "skipped"), skipped_after=2) is None
    assert alert_for(engine, finished(engine, "j", "success"), skipped_after=2) is None
    # a threshold of 1 alerts on every skip
    assert alert_for(engine, finished(engine, "j", "skipped"), skipped_after=1).in_a_row == 1


def test_recovery_survives_a_restart_because_it_reads_the_history(engine: Engine, hook: Hook) -> None:
    before = Notifier([WebhookChannel(hook.url, timeout=5)], engine=engine)
    before.observe(finished(engine, "j", "failed", error="boom"))
    assert before.flush(10)
    before.close()
    after = Notifier([WebhookChannel(hook.url, timeout=5)], engine=engine)  # a new daemon, empty memory
    try:
        after.observe(finished(engine, "j", "success"))
        assert after.flush(10)
    finally:
        after.close()
    posts = hook.wait(2)
    assert [(p["json"]["kind"], p["json"]["status"]) for p in posts] == [
        ("failed", "failed"),
        ("recovered", "success"),
    ]
    assert posts[1]["json"]["previous_status"] == "failed"


# -- rate limit ----------------------------------------------------------------------------------
def test_one_alert_per_job_and_kind_per_interval_then_the_count_of_suppressed(hook: Hook, caplog) -> None:
    clock = FakeClock()
    notifier = Notifier([WebhookChannel(hook.url, timeout=5)], min_interval=1800, clock=clock)
    try:
        with caplog.at_level(logging.DEBUG, "scheduler.alerts"):
            notifier.notify(failed_alert(execution_id=1))  # t=0: sent
            clock.now += 60
            notifier.notify(failed_alert(execution_id=2))  # suppressed
            notifier.notify(failed_alert(execution_id=3, job_id="daily_metrics"))  # other job: sent
            notifier.notify(failed_alert(execution_id=4, kind="timeout", status="timeout"))  # other kind
            clock.now += 60
            notifier.notify(
                failed_alert(execution_id=5, kind="recovered", status="success", previous_status="failed")
            )  # recovered is its own kind: never held back by the failure limit
            clock.now += 1000
            notifier.notify(failed_alert(execution_id=6))  # still inside 1800 s: suppressed
            clock.now += 700  # 1820 s after the first
            notifier.notify(failed_alert(execution_id=7))  # sent, saying 2 were suppressed
            assert notifier.flush(10)
        posts = [p["json"] for p in hook.wait(5)]
        assert [(p["job"], p["kind"], p["execution_id"], p["suppressed"]) for p in posts] == [
            ("daily_collection", "failed", 1, 0),
            ("daily_metrics", "failed", 3, 0),
            ("daily_collection", "timeout", 4, 0),
            ("daily_collection", "recovered", 5, 0),
            ("daily_collection", "failed", 7, 2),
        ]
        assert "2 earlier failed alert(s) of this job (rate limit)" in posts[-1]["text"]
        assert (notifier.sent, notifier.suppressed) == (5, 2)
        assert "alert job=daily_collection execution=6 failed suppressed" in caplog.text
    finally:
        notifier.close()


# -- channels that fail --------------------------------------------------------------------------
def test_a_hanging_channel_times_out_off_the_callers_thread_and_the_others_still_get_it(
    hanging_url: str, hook: Hook, caplog
) -> None:
    notifier = Notifier(
        [WebhookChannel(hanging_url, "json", timeout=0.5), WebhookChannel(hook.url, "slack", timeout=5)],
        min_interval=0,
    )
    try:
        with caplog.at_level(logging.INFO, "scheduler.alerts"):
            started = time.monotonic()
            notifier.notify(failed_alert())
            returned = time.monotonic() - started

            # the caller (the scheduler's thread in the daemon) goes on meanwhile
            ticks = []
            worker = threading.Thread(target=lambda: ticks.extend(range(1000)))
            worker.start()
            worker.join(1)
            assert len(ticks) == 1000

            assert notifier.flush(10)
            took = time.monotonic() - started
        assert returned < 0.05
        assert 0.4 < took < 5  # the send gave up after its timeout
        assert (notifier.sent, notifier.failed) == (1, 1)
        assert hook.wait(1)[0]["json"]["text"].startswith("fund-scheduler: job daily_collection failed")
        port = hanging_url.split(":")[2].split("/")[0]
        assert f"not sent to webhook http://127.0.0.1:{port}/hook?key=*** (json)" in caplog.text
        assert "Timeout" in caplog.text
        assert SECRET not in caplog.text
    finally:
        notifier.close()


def test_a_full_queue_drops_and_counts_and_close_gives_up_after_the_drain_time(
    hanging_url: str, caplog
) -> None:
    notifier = Notifier(
        [WebhookChannel(hanging_url, timeout=3)], min_interval=0, queue_size=2, drain_seconds=0.5
    )
    with caplog.at_level(logging.WARNING, "scheduler.alerts"):
        started = time.monotonic()
        accepted = [notifier.notify(failed_alert(execution_id=i)) for i in range(6)]
        assert time.monotonic() - started < 0.1
        assert accepted[:2] == [True, True] and accepted.count(False) >= 3
        assert notifier.dropped == accepted.count(False)
        started = time.monotonic()
        notifier.close()
        assert time.monotonic() - started < 1.5
    assert "alert queue full" in caplog.text
    assert "still queued at shutdown" in caplog.text
    assert not notifier.notify(failed_alert())  # closed


def test_refused_connections_are_logged_with_the_masked_target(caplog) -> None:
    port = free_port()  # nothing listens there any more
    notifier = Notifier(
        [
            WebhookChannel(f"http://127.0.0.1:{port}/robot/send?key={SECRET}", "dingtalk", timeout=2),
            EmailChannel("127.0.0.1", port, to=["ops@example.com"], starttls=False, timeout=2),
        ]
    )
    try:
        with caplog.at_level(logging.WARNING, "scheduler.alerts"):
            notifier.notify(failed_alert())
            assert notifier.flush(10)
        assert (notifier.sent, notifier.failed) == (0, 2)
        assert f"not sent to webhook http://127.0.0.1:{port}/robot/send?key=*** (dingtalk)" in caplog.text
        assert "ConnectionError" in caplog.text
        assert f"not sent to smtp 127.0.0.1:{port} to ops@example.com" in caplog.text
        assert "ConnectionRefusedError" in caplog.text
        assert SECRET not in caplog.text
    finally:
        notifier.close()


# -- settings ------------------------------------------------------------------------------------
def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"SCHEDULER_HOME": str(tmp_path), **env})


def test_alert_settings_defaults_and_disabled_notifier(tmp_path: Path, engine: Engine, caplog) -> None:
    s = settings(tmp_path)
    a = s.alerts
    assert not a.enabled
    assert (a.webhook_format, a.smtp_port, a.smtp_starttls) == ("json", 587, True)
    assert (a.min_interval, a.skipped_after, a.timeout) == (1800, 2, 10.0)
    with caplog.at_level(logging.INFO, "scheduler.alerts"):
        notifier = Notifier.from_settings(s, engine)
    assert not notifier.enabled and notifier._thread is None
    notifier.observe(finished(engine, "j", "failed"))
    assert not notifier.notify(failed_alert())
    notifier.close()
    assert [r.getMessage() for r in caplog.records] == [
        "alerts disabled: set ALERT_WEBHOOK_URL, ALERT_SMTP_HOST and/or ALERT_URLS to enable them"
    ]


def test_alert_settings_build_both_channels_and_describe_hides_secrets(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        ALERT_WEBHOOK_URL=f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={SECRET}",
        ALERT_WEBHOOK_FORMAT="WeCom",
        ALERT_SMTP_HOST="smtp.example.com",
        ALERT_SMTP_PORT="2525",
        ALERT_SMTP_USER="alerts@example.com",
        ALERT_SMTP_PASSWORD="mail-pw",
        ALERT_SMTP_TO="ops@example.com, oncall@example.com",
        ALERT_SMTP_STARTTLS="false",
        ALERT_MIN_INTERVAL="600",
        ALERT_SKIPPED_AFTER="3",
        ALERT_TIMEOUT="2.5",
    )
    webhook, email = channels_from(s)
    assert webhook.format == "wecom" and webhook.timeout == 2.5
    assert webhook.target == "webhook https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=*** (wecom)"
    assert email.to == ("ops@example.com", "oncall@example.com") and email.port == 2525
    assert email.sender == "alerts@example.com" and email.starttls is False
    shown = s.describe()
    assert shown["ALERT_WEBHOOK_URL"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"
    assert shown["ALERT_SMTP_PASSWORD"] == "***"
    assert (shown["ALERT_MIN_INTERVAL"], shown["ALERT_SKIPPED_AFTER"], shown["ALERT_TIMEOUT"]) == (
        "600",
        "3",
        "2.5",
    )
    assert SECRET not in repr(s) and "mail-pw" not in repr(s) and "mail-pw" not in str(shown)
    # Slack ids this short are no keys by the one rule (8+ characters); the key is masked
    slack = settings(tmp_path, ALERT_WEBHOOK_URL="https://hooks.slack.com/services/T0/B0/XYZsecret")
    assert slack.alerts.masked_webhook_url == "https://hooks.slack.com/services/T0/B0/***"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"ALERT_WEBHOOK_URL": "https://x.example/h", "ALERT_WEBHOOK_FORMAT": "teams"},
            "ALERT_WEBHOOK_FORMAT='teams'",
        ),
        (
            {"ALERT_WEBHOOK_URL": f"ftp://x.example/h?key={SECRET}"},
            "ALERT_WEBHOOK_URL='ftp://x.example/h?key=***'",
        ),
        ({"ALERT_WEBHOOK_URL": "not a url"}, "ALERT_WEBHOOK_URL="),
        ({"ALERT_SMTP_HOST": "smtp.example.com"}, "ALERT_SMTP_HOST is set but ALERT_SMTP_TO is not"),
        ({"ALERT_SMTP_TO": "ops@example.com"}, "ALERT_SMTP_TO is set but ALERT_SMTP_HOST is not"),
        (
            {"ALERT_SMTP_HOST": "h", "ALERT_SMTP_TO": "ops@example.com", "ALERT_SMTP_PORT": "smtp"},
            "ALERT_SMTP_PORT",
        ),
        (
            {"ALERT_SMTP_HOST": "h", "ALERT_SMTP_TO": "ops@example.com", "ALERT_SMTP_PORT": "70000"},
            "ALERT_SMTP_PORT",
        ),
        ({"ALERT_SMTP_HOST": "h", "ALERT_SMTP_TO": "ops"}, "ALERT_SMTP_TO: 'ops' is not an email address"),
        ({"ALERT_SMTP_HOST": "h", "ALERT_SMTP_TO": "a@b", "ALERT_SMTP_FROM": "me"}, "ALERT_SMTP_FROM='me'"),
        (
            {"ALERT_SMTP_HOST": "h", "ALERT_SMTP_TO": "a@b", "ALERT_SMTP_PASSWORD": "pw"},
            "ALERT_SMTP_PASSWORD is set but ALERT_SMTP_USER is not",
        ),
        (
            {"ALERT_SMTP_HOST": "h", "ALERT_SMTP_TO": "a@b", "ALERT_SMTP_STARTTLS": "maybe"},
            "ALERT_SMTP_STARTTLS",
        ),
        ({"ALERT_MIN_INTERVAL": "-1"}, "ALERT_MIN_INTERVAL='-1' must be at least 0"),
        ({"ALERT_SKIPPED_AFTER": "0"}, "ALERT_SKIPPED_AFTER='0' must be at least 1"),
        ({"ALERT_TIMEOUT": "0"}, "ALERT_TIMEOUT='0' must be above 0"),
        ({"ALERT_TIMEOUT": "soon"}, "ALERT_TIMEOUT='soon' is not a number"),
    ],
)
def test_bad_alert_settings_name_the_variable(tmp_path: Path, env: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings(tmp_path, **env)
    assert message in str(info.value)
    assert SECRET not in str(info.value)


def test_alert_for_ignores_running_rows_and_unknown_statuses(engine: Engine) -> None:
    execution_id = history.start(engine, "j", scheduled_run_time=None, trigger="manual")
    assert alert_for(engine, history.get(engine, execution_id)) is None
    row = finished(engine, "j", "failed", error="x")
    alert = alert_for(engine, {**row, "scheduled_run_time": None, "trigger": "manual"})
    assert "Scheduled: none (manual run)" in alert.text()
    assert alert.scheduled_run_time is None


def test_a_broken_row_is_logged_and_the_worker_goes_on(engine: Engine, hook: Hook, caplog) -> None:
    notifier = Notifier([WebhookChannel(hook.url, timeout=5)], engine=engine)
    try:
        with caplog.at_level(logging.INFO, "scheduler.alerts"):
            notifier.observe({"id": object(), "job_id": "bad", "status": "skipped"})  # the query fails
            notifier.observe(finished(engine, "j", "failed", error="boom"))
            assert notifier.flush(10)
        assert "alert job=bad execution=<object object" in caplog.text
        assert "could not be handled" in caplog.text
        assert [p["json"]["job"] for p in hook.wait(1)] == ["j"]
    finally:
        notifier.close()
