"""ALERT_URLS through apprise, against local receivers: json:// and form:// bodies, several URLs,
a failing one logged masked while the others still receive, DingTalk's signing (加签) on a local
robot, bad entries as configuration problems, and the keys of service URLs never printed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from fund_scheduler import logsetup
from fund_scheduler.alerts import (
    Alert,
    AppriseChannel,
    ChannelError,
    Notifier,
    apprise_url_problems,
    channels_from,
)
from fund_scheduler.errors import ConfigError
from fund_scheduler.settings import Settings
from tests.support.webhook import Hook

TOKEN, SECRET = "dTok3nRobotAccess", "SEC9f8e7d6c5b4a3"
SERVICE_URLS = {
    "dingtalk": f"dingtalk://{SECRET}@{TOKEN}/",  # 加签: the secret is the user part
    "wecombot": "wecombot://WeComB0tKey123",
    "tgram": "tgram://123456789:AAHtelegramBotTok/987654321",
    "feishu": "feishu://FeishuTok3n456",
}
SERVICE_SECRETS = [TOKEN, SECRET, "WeComB0tKey123", "AAHtelegramBotTok", "FeishuTok3n456"]


@pytest.fixture
def receivers() -> Iterator[tuple[Hook, Hook]]:
    pair = (Hook(), Hook())
    yield pair
    for receiver in pair:
        receiver.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def failed_alert() -> Alert:
    return Alert(
        job_id="daily_collection",
        kind="failed",
        status="failed",
        execution_id=42,
        scheduled_run_time=datetime(2026, 5, 6, 11, 0, tzinfo=UTC),
        trigger="schedule",
        error="disk full on /data",
        log_path="/srv/fs/logs/jobs/daily_collection.log",
        host="box1",
    )


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"SCHEDULER_HOME": str(tmp_path), **env})


def test_json_and_form_urls_both_receive_the_title_and_the_text(tmp_path: Path, receivers) -> None:
    json_hook, form_hook = receivers
    s = settings(
        tmp_path,
        ALERT_URLS=f"json://127.0.0.1:{json_hook.port}/alerts, form://127.0.0.1:{form_hook.port}/in",
    )
    assert s.alerts.enabled
    notifier = Notifier(channels_from(s))
    try:
        alert = failed_alert()
        assert notifier.deliver(alert) and notifier.failed == 0
        text = alert.text(s.timezone)
        (posted,) = json_hook.wait(1)
        assert posted["path"] == "/alerts" and "json" in posted["type"]
        assert posted["body"]["title"] == alert.title and posted["body"]["type"] == "failure"
        assert "disk full on /data" in posted["body"]["message"] and posted["body"]["message"] == text
        (form,) = form_hook.wait(1)
        assert form["path"] == "/in" and "x-www-form-urlencoded" in form["type"]
        assert form["body"]["title"] == alert.title and form["body"]["message"] == text
    finally:
        notifier.close()


def test_a_failing_url_is_a_channel_failure_logged_masked_and_the_other_still_receives(
    tmp_path: Path, receivers
) -> None:
    hook = receivers[0]
    port = closed_port()
    dead = f"json://ops:pw-S3cret@127.0.0.1:{port}/hook/LongPathKey123"
    s = settings(tmp_path, ALERT_URLS=f"{dead}\njson://127.0.0.1:{hook.port}/ok")
    logsetup.configure(s, console=False)  # the daemon's formatter and secret filter
    try:
        notifier = Notifier(channels_from(s))
        assert notifier.deliver(failed_alert())
        notifier.close()
    finally:
        logsetup.configure(settings(tmp_path), console=False, to_file=False)
    assert notifier.failed == 1 and notifier.sent == 1
    assert hook.wait(1)[0]["path"] == "/ok"
    log = s.scheduler_log.read_text()
    assert f"not sent to apprise json://ops:***@127.0.0.1:{port}/hook/*** after" in log
    assert f"sent to apprise json://127.0.0.1:{hook.port}/ok" in log
    assert "pw-S3cret" not in log and "LongPathKey123" not in log


def test_dingtalk_signing_reaches_a_local_robot_and_its_keys_are_never_printed(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    """加签: the robot gets ``timestamp`` and ``sign`` = base64(HMAC-SHA256(secret, "ts\\nsecret"))."""
    from apprise.plugins.dingtalk import NotifyDingTalk

    hook = Hook()
    try:
        base = hook.url.split("/robot/")[0]
        monkeypatch.setattr(NotifyDingTalk, "notify_url", f"{base}/robot/send?access_token={{token}}")
        channel = AppriseChannel(SERVICE_URLS["dingtalk"])
        assert channel.target == "apprise dingtalk://***"
        plugin = channel.plugin()
        assert (plugin.token, plugin.secret) == (TOKEN, SECRET)
        assert SECRET not in plugin.url(privacy=True)
        alert = failed_alert()
        with caplog.at_level(logging.DEBUG):
            channel.send(alert)
        (posted,) = hook.wait(1)
        query = parse_qs(urlsplit(posted["path"]).query)
        assert query["access_token"] == [TOKEN]
        signed = f"{query['timestamp'][0]}\n{SECRET}".encode()
        expected = base64.b64encode(hmac.new(SECRET.encode(), signed, hashlib.sha256).digest()).decode()
        assert unquote(query["sign"][0]) == expected
        assert posted["json"]["msgtype"] == "markdown"
        assert posted["json"]["markdown"]["title"] == alert.title
        text = posted["json"]["markdown"]["text"]
        assert "disk full on /data" in text and text.count("job daily") == 1, text

        hook.reply = (400, {"errcode": 310000, "errmsg": f"sign not match for {TOKEN}"})
        with pytest.raises(ChannelError) as refused:
            channel.send(alert)
        assert TOKEN not in str(refused.value) and SECRET not in str(refused.value)
    finally:
        hook.close()


def test_service_url_keys_never_appear_in_describe_logs_or_errors(tmp_path: Path, monkeypatch) -> None:
    from apprise.plugins.dingtalk import NotifyDingTalk

    urls = " ".join(SERVICE_URLS.values())
    s = settings(tmp_path, ALERT_URLS=urls)
    assert s.alerts.urls == tuple(SERVICE_URLS.values())
    described = s.describe()
    assert described["ALERT_URLS"] == "dingtalk://*** wecombot://*** tgram://*** feishu://***"
    assert not any(secret in value for secret in SERVICE_SECRETS for value in described.values())
    assert SECRET not in repr(s)
    assert apprise_url_problems(s.alerts.urls) == []  # apprise 2.x knows all four

    # A failed send (the DingTalk robot's port closed) logged through the daemon's filter.
    monkeypatch.setattr(
        NotifyDingTalk, "notify_url", f"http://127.0.0.1:{closed_port()}/send?access_token={{token}}"
    )
    logsetup.configure(s, console=False)
    try:
        notifier = Notifier([AppriseChannel(SERVICE_URLS["dingtalk"], timeout=2)])
        assert not notifier.deliver(failed_alert())
        notifier.close()
        logging.getLogger("scheduler.test").error("echo of the setting: %s", urls)
    finally:
        logsetup.configure(settings(tmp_path), console=False, to_file=False)
    log = s.scheduler_log.read_text()
    assert "not sent to apprise dingtalk://*** after" in log
    assert not [secret for secret in SERVICE_SECRETS if secret in log], log

    # Configuration problems name the entry by position and masked form, never its keys.
    with pytest.raises(ConfigError) as bad:
        settings(tmp_path, ALERT_URLS=f"{SERVICE_URLS['wecombot']},dingtalk:/{TOKEN}/{SECRET}")
    assert "ALERT_URLS entry 2 ('***') is not an apprise URL" in str(bad.value)
    assert TOKEN not in str(bad.value) and SECRET not in str(bad.value)
    problems = apprise_url_problems([SERVICE_URLS["feishu"], f"nosuchservice://{TOKEN}/{SECRET}"])
    assert problems == [
        "ALERT_URLS entry 2 ('nosuchservice://***'): apprise does not understand it "
        "(unknown scheme or missing parts)"
    ]


def test_urls_file_adds_its_lines_and_its_keys_are_secrets_too(tmp_path: Path) -> None:
    listed = tmp_path / "alert-urls"
    listed.write_text(f"# robots\n{SERVICE_URLS['dingtalk']}\n\n{SERVICE_URLS['tgram']}\n")
    s = settings(tmp_path, ALERT_URLS=SERVICE_URLS["feishu"], ALERT_URLS_FILE=str(listed))
    assert s.alerts.urls == (SERVICE_URLS["feishu"], SERVICE_URLS["dingtalk"], SERVICE_URLS["tgram"])
    assert s.describe()["ALERT_URLS_FILE"] == str(listed)
    secrets = logsetup.secrets_of(s)
    assert {TOKEN, SECRET, "AAHtelegramBotTok", "FeishuTok3n456"} <= set(secrets)
    assert "987654321" in secrets and "123456789" in secrets  # the chat and the bot's id: kept out too
    with pytest.raises(ConfigError, match="ALERT_URLS_FILE='.*missing' cannot be read"):
        settings(tmp_path, ALERT_URLS_FILE=str(tmp_path / "missing"))
    assert not settings(tmp_path).alerts.enabled


def test_the_idle_daemon_does_not_import_apprise(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from fund_scheduler.settings import Settings\n"
        "from fund_scheduler.alerts import Notifier\n"
        "from fund_scheduler import logsetup\n"
        f"env = {{'SCHEDULER_HOME': {str(tmp_path)!r}, 'ALERT_URLS': {SERVICE_URLS['dingtalk']!r}}}\n"
        "s = Settings.from_env(env)\n"
        "n = Notifier.from_settings(s, None)\n"
        "assert n.enabled and len(n.channels) == 1, n.channels\n"
        "logsetup.secrets_of(s); s.describe()\n"
        "n.close()\n"
        "print('apprise' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False", done.stderr
