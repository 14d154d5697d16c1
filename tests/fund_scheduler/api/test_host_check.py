"""A foreign ``Host`` header is refused (DNS rebinding), against the served app over real HTTP."""

from __future__ import annotations

import http.client
import shutil
import tempfile
from pathlib import Path

import pytest

from fund_scheduler.api.app import host_name
from fund_scheduler.errors import ConfigError
from fund_scheduler.settings import Settings
from tests.support.inprocess import InProcessDaemon


@pytest.fixture
def tmp_home():
    root = Path(tempfile.mkdtemp(prefix="fsh-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def get(port: int, path: str, host: str | None) -> tuple[int, str]:
    """GET with exactly this Host header (None: none at all)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_only_the_configured_host_names_are_served(tmp_home, caplog):
    with InProcessDaemon(tmp_home, SCHEDULER_HTTP_ALLOWED_HOSTS="Fund.Example.com, 10.0.0.5") as d:
        port = d.port
        for host in (
            f"127.0.0.1:{port}",
            f"localhost:{port}",
            "LOCALHOST",
            f"[::1]:{port}",
            "fund.example.com:8443",
            "fund.example.com.",
            "10.0.0.5",
        ):
            status, _ = get(port, "/api/status", host)
            assert status == 200, host
        for host, path in (
            ("evil.example", "/api/status"),
            (f"evil.example:{port}", "/health"),
            ("127.0.0.1.evil.example", "/"),
            ("fund.example.com.evil", "/metrics"),
        ):
            status, body = get(port, path, host)
            assert status == 400, host
            assert f"Host {host!r} is not allowed" in body
            assert "SCHEDULER_HTTP_ALLOWED_HOSTS" in body
        assert "refused foreign Host 'evil.example'" in caplog.text


def test_host_name_strips_port_brackets_case_and_final_dot():
    assert host_name("[::1]:5000") == "::1"
    assert host_name("Fund.Example.:80") == "fund.example"
    assert host_name("127.0.0.1") == "127.0.0.1"
    assert host_name("::1") == "::1"


def test_allowed_hosts_setting(tmp_home):
    base = {"SCHEDULER_HOME": str(tmp_home)}
    assert Settings.from_env(base).allowed_hosts == ("127.0.0.1", "localhost", "::1")
    wide = Settings.from_env(
        {**base, "SCHEDULER_HTTP_HOST": "0.0.0.0", "SCHEDULER_HTTP_ALLOWED_HOSTS": "a.b,[::2]"}
    )
    assert wide.allowed_hosts == ("0.0.0.0", "localhost", "127.0.0.1", "::1", "a.b", "::2")
    assert wide.describe()["SCHEDULER_HTTP_ALLOWED_HOSTS"] == "0.0.0.0,localhost,127.0.0.1,::1,a.b,::2"
    for bad in ("http://a.b", "a.b:80", "a b", "a_b"):
        with pytest.raises(ConfigError, match=f"SCHEDULER_HTTP_ALLOWED_HOSTS: {bad!r} is not a host name"):
            Settings.from_env({**base, "SCHEDULER_HTTP_ALLOWED_HOSTS": bad})
