"""The one rule for secrets in URLs (fund_common.redaction), and scrubbing them from text."""

from __future__ import annotations

import pytest

from fund_common.redaction import Redactor, environ_secrets, mask_url, url_secrets

SLACK = "https://hooks.slack.com/services/T0ABCDEFG/B0HIJKLMN/abcdefghijklmnopqrstuvwx"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xyz"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"),
        (SLACK, "https://hooks.slack.com/services/***/***/***"),
        (
            "https://oapi.dingtalk.com/robot/send?access_token=abc123def&timestamp=1&sign=zz%2B",
            "https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=***&sign=***",
        ),
        # a database URL: the password only; the user, the database and charset stay readable
        (
            "mysql+pymysql://fund:hunter2@db:3306/funds?charset=utf8mb4",
            "mysql+pymysql://fund:***@db:3306/funds?charset=utf8mb4",
        ),
        ("mysql://u:p@ss@host/db", "mysql://u:***@host/db"),  # '@' inside the password
        ("mysql+pymysql://fund:hunter2@db:notaport/funds", "mysql+pymysql://fund:***@db:notaport/funds"),
        (
            "sqlite:////var/lib/fund-scheduler/data/scheduler.db",
            "sqlite:////var/lib/fund-scheduler/data/scheduler.db",
        ),
        # a template: placeholders and ISO dates are not secrets; the fragment is
        (
            "https://user:pw@feed.example/nav?date={date}&d=2024-06-03&token=s3cret#frag",
            "https://user:***@feed.example/nav?date={date}&d=2024-06-03&token=***#***",
        ),
        ("https://feed.example/{date}/navs-of-the-day.json", "https://feed.example/{date}/***"),
        ("no scheme here", "no scheme here"),
        ("://fund:hunter2@db", "://fund:***@db"),  # no scheme: masked by the text
        ("mysql+pymysql://fund:hunter2@[::1/funds", "mysql+pymysql://fund:***@[::1/funds"),  # broken host
    ],
)
def test_mask_url_shows_every_secret_part_as_stars(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    for secret in url_secrets(url):
        assert secret not in shown


def test_url_secrets_follow_the_same_rule() -> None:
    assert url_secrets(WECOM) == ["693a91f6-7xyz"]  # "webhook" and "send" are no keys
    assert url_secrets(SLACK) == ["T0ABCDEFG", "B0HIJKLMN", "abcdefghijklmnopqrstuvwx"]
    assert url_secrets("mysql+pymysql://fund:hunter2@db/funds?charset=utf8mb4") == ["hunter2"]
    assert url_secrets("http://[::1") == []  # does not parse: nothing to name


def test_environ_secrets_go_by_the_variable_name_alone() -> None:
    environ = {
        "DATABASE_URL": "mysql+pymysql://fund:dbpass1@db/funds",
        "ALERT_WEBHOOK_URL": WECOM,
        "FUND_HTTP_URL": "https://feed.example/nav?date={date}&key=feedkey9",
        "MYSQL_PASSWORD": "mysqlpass",
        "SCHEDULER_API_TOKEN": "tok-123",
        "SOME_SECRET": "xyzzy",
        "PATH": "/usr/bin",
        "SCHEDULER_HOME": "/srv/fund",
    }
    assert set(environ_secrets(environ)) == {
        "dbpass1",
        "693a91f6-7xyz",
        "feedkey9",
        "mysqlpass",
        "tok-123",
        "xyzzy",
    }


def test_redactor_scrubs_longest_first_and_ignores_tiny_strings() -> None:
    redactor = Redactor(["abcdef", "abcdefgh", "ab", ""])
    assert redactor.secrets == ["abcdefgh", "abcdef"]
    assert redactor.scrub("x abcdefgh y abcdef z ab") == "x *** y *** z ab"
    assert not Redactor([])
    assert Redactor.for_url(WECOM).scrub(f"POST {WECOM} failed") == (
        "POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=*** failed"
    )


PASSWORD_FORMS = [
    # (url, what must never show, what it shows)
    ("mysql+pymysql://fs:Kp9-AT@tail@db/funds", ["Kp9-AT", "tail"], "mysql+pymysql://fs:***@db/funds"),
    ("mysql+pymysql://fs:Kp9/AT?tail#x@db/funds", ["Kp9", "tail"], "mysql+pymysql://fs:***@db/funds"),
    (
        "mysql+pymysql://fs@db/funds?passwd=Kp9-AT@tail",
        ["Kp9-AT", "tail"],
        "mysql+pymysql://fs@db/funds?passwd=***",
    ),
    ("mysql+pymysql://fs@db/funds?charset=utf8mb4&password=Kp9#tail", ["Kp9", "tail"], None),
    (
        "mysql+pymysql://fs@db/funds?passwd=2024-06-03",
        ["2024-06-03"],
        "mysql+pymysql://fs@db/funds?passwd=***",
    ),
    ("mysql+pymysql://fs@db/funds?password=Kp9%26tail+x", ["Kp9", "tail"], None),
    (
        "https://bot:Kp9-AT@tail@hooks.example/x?a=1",
        ["Kp9-AT", "tail"],
        "https://bot:***@hooks.example/x?a=***",
    ),
]


@pytest.mark.parametrize(("url", "hidden", "shown"), PASSWORD_FORMS)
def test_a_password_never_shows_whatever_its_form(url: str, hidden: list[str], shown: str | None) -> None:
    masked = mask_url(url)
    if shown is not None:
        assert masked == shown
    redactor = Redactor(url_secrets(url))
    decoded = url.replace("%26", "&").replace("+", " ")
    for text in (masked, redactor.scrub(f"connect {url} failed"), redactor.scrub(f"bad {decoded}")):
        for part in hidden:
            assert part not in text, text


def test_credentials_of_any_url_in_free_text_are_masked() -> None:
    text = (
        "cannot reach mysql+pymysql://fs:Kp9-AT@tail@db/funds (and 'https://u:pw12345@h/x?passwd=abc&d=1'),"
        " see https://docs.example/page?id=7"
    )
    assert Redactor().scrub(text) == (
        "cannot reach mysql+pymysql://fs:***@db/funds (and 'https://u:***@h/x?passwd=***&d=1'),"
        " see https://docs.example/page?id=7"
    )
    assert Redactor().scrub("GET https://h/x?token=abc: 429 (https://h/y?key=k1).") == (
        "GET https://h/x?token=***: 429 (https://h/y?key=***)."
    )
