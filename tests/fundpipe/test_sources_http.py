"""The http source against a real local server: answers, retries, timeouts, bad bodies, settings."""

import contextlib
import datetime as dt
import json
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from fund_common.redaction import mask_url
from fundpipe import tasks
from fundpipe.errors import SourceError
from fundpipe.schema import data_update_log, fund_nav, fund_nav_staging
from fundpipe.settings import FundSettings, config_problems
from fundpipe.sources import get_source
from fundpipe.sources.http import HttpSource
from tests.support.schema import create_fund_tables

MONDAY = dt.date(2024, 6, 3)
SECRET = "s3cret-token"
NAVS = [
    {
        "fund_code": "000001",
        "nav_date": "2024-06-03",
        "unit_nav": 1.2345,
        "accum_nav": 1.5,
        "daily_return": 0.12,
    },
    {"fund_code": "000002", "nav_date": "2024-06-03", "unit_nav": "2.5000", "daily_return": "-0.40"},
]


class Server:
    """A scripted JSON endpoint on 127.0.0.1: each request takes the next (status, body, delay, headers,
    reason phrase)."""

    def __init__(self):
        self.script = deque()
        self.requests = []
        self.release = threading.Event()  # ends any delay at teardown
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                status, body, delay, headers, reason = (
                    server.script.popleft() if server.script else (404, b"", 0, {}, None)
                )
                if delay:
                    server.release.wait(delay)
                self.send_response(status, reason)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client may have given up (timeout)
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self.url = f"{self.base}/nav?date={{date}}&token={SECRET}"

    def answer(self, status=200, body=b"", *, delay=0.0, headers=None, reason=None):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.script.append((status, body, delay, headers or {}, reason))

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    s = Server()
    yield s
    s.close()


@pytest.fixture
def engine(tmp_path):
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    create_fund_tables(eng)
    yield eng
    eng.dispose()


def source(server, **kwargs):
    """An HttpSource whose backoff is recorded, not slept."""
    slept = []
    kwargs = {"timeout": 2.0, "backoff": 0.5, "sleep": slept.append, **kwargs}
    return HttpSource(server.url, **kwargs), slept


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_settings_name_the_http_problems_without_secrets():
    assert config_problems({"FUND_SOURCE": "http"}) == [
        "FUND_SOURCE=http needs FUND_HTTP_URL (a URL template with {date})"
    ]
    problems = config_problems({"FUND_SOURCE": "http", "FUND_HTTP_URL": f"ftp://u:pw@h/nav?key={SECRET}"})
    shown = "FUND_HTTP_URL='ftp://u:***@h/nav?key=***'"
    assert problems == [
        f"{shown} must contain {{date}} (replaced by the day, e.g. 2024-06-03)",
        f"{shown} must be an http:// or https:// URL with a host",
    ]
    assert not any(SECRET in p or ":pw@" in p for p in problems)
    assert config_problems({"FUND_HTTP_TIMEOUT": "0"}) == [
        "FUND_HTTP_TIMEOUT=0.0 must be a number of seconds > 0 and <= 600"
    ]
    assert config_problems({"FUND_HTTP_TIMEOUT": "soon"}) == ["FUND_HTTP_TIMEOUT='soon' is not a number"]
    settings = FundSettings.from_env(
        {"FUND_SOURCE": "http", "FUND_HTTP_URL": "https://h/nav/{date}.json", "FUND_HTTP_TIMEOUT": "5"}
    )
    assert (settings.http_url, settings.http_timeout) == ("https://h/nav/{date}.json", 5.0)
    assert FundSettings().http_timeout == 30.0
    assert SECRET not in repr(FundSettings(source="http", http_url=f"https://h/{{date}}?k={SECRET}"))
    assert isinstance(get_source(settings), HttpSource)
    assert (
        mask_url(f"https://h/x?date=2024-06-03&api_key={SECRET}&flag")
        == "https://h/x?date=2024-06-03&api_key=***&flag"
    )


def test_good_answer_end_to_end(engine, server):
    server.answer(200, NAVS)
    settings = FundSettings(source="http", http_url=server.url, http_timeout=5)
    collected = tasks.collect(engine, settings, MONDAY)
    assert server.requests == [f"/nav?date=2024-06-03&token={SECRET}"]
    assert collected["staged"] == 2 and collected["source"] == "http"
    assert collected["details"] == {
        "url": f"{server.base}/nav?date=2024-06-03&token=***",
        "attempts": 1,
        "status": 200,
        "rows": 2,
    }
    assert SECRET not in json.dumps(collected)
    validated = tasks.validate(engine, settings, MONDAY)
    assert (validated["loaded"], validated["quarantined"]) == (2, 0)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(
                fund_nav.c.fund_code, fund_nav.c.unit_nav, fund_nav.c.accum_nav, fund_nav.c.daily_return
            )
        ).all()
        message = conn.execute(sa.select(data_update_log.c.message)).scalars().first()
    assert sorted(stored) == [("000001", 1.2345, 1.5, 0.12), ("000002", 2.5, None, -0.4)]
    assert "answered 200 after 1 attempt(s)" in message and SECRET not in message


def test_data_envelope_and_empty_list_are_accepted(server):
    src, _ = source(server)
    server.answer(200, {"data": NAVS, "total": 2})
    assert src.fetch(MONDAY)["fund_code"].tolist() == ["000001", "000002"]
    server.answer(200, [])
    assert src.deliver(MONDAY).rows.empty


def test_500_then_200_is_retried_with_backoff(server):
    src, slept = source(server)
    server.answer(500, b"oops")
    server.answer(503, b"busy", headers={"Retry-After": "3"})
    server.answer(200, NAVS)
    delivery = src.deliver(MONDAY)
    assert len(delivery.rows) == 2 and delivery.details["attempts"] == 3
    assert slept == [0.5, 3.0]  # 0.5 * 2**0, then Retry-After (longer than 0.5 * 2**1)
    assert len(server.requests) == 3


def test_429_three_times_gives_up_naming_status_and_attempts(server):
    src, slept = source(server)
    for _ in range(3):
        server.answer(429, b"slow down")
    with pytest.raises(SourceError) as err:
        src.fetch(MONDAY)
    assert str(err.value) == (
        f"http source: {server.base}/nav?date=2024-06-03&token=***: HTTP 429 Too Many Requests "
        "(gave up after 3 attempt(s))"
    )
    assert slept == [0.5, 1.0]


def test_a_server_slower_than_the_timeout_fails_fast(server):
    src, slept = source(server, timeout=0.2, attempts=2)
    server.answer(200, NAVS, delay=1.0)
    server.answer(200, NAVS, delay=1.0)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"no answer within 0.2 s \(gave up after 2 attempt\(s\)\)") as err:
        src.fetch(MONDAY)
    assert time.monotonic() - started < 1.0
    assert SECRET not in str(err.value) and len(slept) == 1


def test_timeout_then_success(server):
    src, _ = source(server, timeout=0.2)
    server.answer(200, NAVS, delay=1.0)
    server.answer(200, NAVS)
    assert src.deliver(MONDAY).details["attempts"] == 2


def test_connection_refused_is_retried_then_fails_without_secrets():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    slept = []
    src = HttpSource(f"http://user:pw@127.0.0.1:{port}/nav?d={{date}}&key={SECRET}", sleep=slept.append)
    with pytest.raises(SourceError, match=r"connection failed \(.*\) \(gave up after 3 attempt") as err:
        src.fetch(MONDAY)
    assert f"http://user:***@127.0.0.1:{port}/nav?d=2024-06-03&key=***" in str(err.value)
    assert SECRET not in str(err.value) and "pw" not in str(err.value)
    assert slept == [1.0, 2.0]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, b"no such day", r"answered HTTP 404 Not Found; first bytes: b'no such day'"),
        (
            200,
            b"<html>maintenance</html>",
            r"answered HTTP 200 with a body that is not JSON \(Expecting value\); "
            r"first bytes: b'<html>maintenance</html>'",
        ),
        (
            200,
            b'{"rows": []}',
            r"answered HTTP 200 with an object with keys 'rows'; expected a list of NAV objects",
        ),
        (200, b'"hello"', r"answered HTTP 200 with a JSON str; expected a list"),
        (
            200,
            b"[1, 2]",
            r"item 0 is a JSON int \(1\), expected an object with fund_code, nav_date, unit_nav",
        ),
        (
            200,
            b'[{"code": "000001", "nav": 1.0}]',
            r"returned rows without column\(s\) fund_code, nav_date, unit_nav",
        ),
    ],
)
def test_bad_answers_fail_at_once_with_a_clear_message(server, status, body, expected):
    src, slept = source(server)
    server.answer(status, body)
    with pytest.raises(SourceError, match=expected) as err:
        src.deliver(MONDAY)
    assert str(err.value).startswith(f"http source: {server.base}/nav?date=2024-06-03&token=***")
    assert SECRET not in str(err.value)
    assert slept == [] and len(server.requests) == 1  # not retried


def test_a_failed_fetch_writes_nothing(engine, server):
    server.answer(200, b"garbage")
    settings = FundSettings(source="http", http_url=server.url)
    with pytest.raises(SourceError, match="not JSON"):
        tasks.collect(engine, settings, MONDAY)
    assert count(engine, fund_nav_staging) == 0
    with engine.connect() as conn:
        status, message = conn.execute(sa.select(data_update_log.c.status, data_update_log.c.message)).one()
    assert status == "failed" and message.startswith("SourceError: http source:") and SECRET not in message


def test_unreadable_values_are_staged_for_quarantine(server):
    src, _ = source(server)
    server.answer(
        200,
        [
            {"fund_code": "000001", "nav_date": "2024-06-03", "unit_nav": "n/a"},
            {"fund_code": 1, "nav_date": "03/06/2024", "unit_nav": True, "accum_nav": 1e999},
        ],
    )
    rows = src.deliver(MONDAY).rows
    assert rows["fund_code"].tolist() == ["000001", "1"]
    assert rows["parse_error"].tolist() == [
        None,
        "nav_date '03/06/2024' is not a date (YYYY-MM-DD); unit_nav True is not a number; "
        "accum_nav inf is not a number",
    ]
    assert rows["unit_nav"].isna().all() and rows["accum_nav"].isna().all()


def test_the_url_is_masked_by_the_shared_rule_in_repr_and_messages():
    template = f"https://reader:pa55word@h/api/{{date}}/nav?token={SECRET}&day={{date}}&charset=utf-8"
    src = HttpSource(template)
    assert repr(src) == (
        "HttpSource('https://reader:***@h/api/{date}/nav?token=***&day={date}&charset=utf-8', timeout=30)"
    )
    with pytest.raises(SourceError) as err:
        HttpSource(f"https://reader:pa55word@h/nav?token={SECRET}")
    assert str(err.value) == "http source: URL 'https://reader:***@h/nav?token=***' must contain {date}"
    for text in (repr(src), str(err.value)):
        assert SECRET not in text and "pa55word" not in text


def test_a_body_echoing_the_secret_is_scrubbed_from_the_error_and_the_log(server, caplog):
    """The server's own text is quoted in messages; the URL's secrets are scrubbed out of it."""
    src, _ = source(server)
    server.answer(503, b"", reason=f"Busy with token={SECRET}")
    server.answer(404, f"no such page: /nav?date=2024-06-03&token={SECRET}".encode())
    with pytest.raises(SourceError) as err:
        src.fetch(MONDAY)
    message = str(err.value)
    assert message.startswith(f"http source: {server.base}/nav?date=2024-06-03&token=***")
    assert "first bytes: b'no such page: /nav?date=2024-06-03&token=***'" in message
    assert "HTTP 503 Busy with token=***; attempt 1 of 3" in caplog.text
    assert SECRET not in message and SECRET not in caplog.text and len(server.requests) == 2
