"""The page's language: the switch (?lang=, remembered in a cookie), the browser's
Accept-Language, the daemon's default; the scripts' catalogue in the page as data (the CSP holds:
nothing inline runs); the API's words (status labels) in the request's language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fund_scheduler.api.app import PAGE_CSP, create_app
from fund_scheduler.api.language import COOKIE
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine


class StatusOps:
    """The little of Operations that / and /api/status ask for."""

    def __init__(self, root: Path):
        self.engine = make_engine(f"sqlite:///{root / 'history.db'}")
        history.metadata.create_all(self.engine)
        self.reports_dir = root / "reports"

    def status(self) -> dict:
        return {"pid": 1, "jobs": 0, "running_executions": 0}

    def run_stats(self, days: int) -> dict:
        return {}


@pytest.fixture
def ops(tmp_path: Path) -> StatusOps:
    return StatusOps(tmp_path)


def page_language(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)" data-lang="([^"]+)"', html)
    assert match, html[:200]
    return match.group(2)


def catalogue(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="i18n-catalogue">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def test_the_browser_language_picks_the_page_language(ops: StatusOps) -> None:
    client = create_app(ops, "token").test_client()
    zh = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).get_data(as_text=True)
    assert page_language(zh) == "zh_CN"
    assert '<html lang="zh-CN"' in zh
    assert "<h2>任务</h2>" in zh and "<h2>健康状况</h2>" in zh and "<h2>执行记录</h2>" in zh
    assert catalogue(zh)["Run now"] == "立即运行"
    en = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert page_language(en) == "en" and "<h2>Jobs</h2>" in en and catalogue(en) == {}
    # A browser asking only for languages without a catalogue gets the daemon's.
    other = create_app(ops, "token", language="zh_CN").test_client()
    french = other.get("/", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    assert page_language(french) == "zh_CN"
    assert page_language(other.get("/").get_data(as_text=True)) == "zh_CN"


def test_the_switch_is_remembered_over_the_browser_language(ops: StatusOps) -> None:
    client = create_app(ops, "token").test_client()
    answer = client.get("/?lang=zh_CN", headers={"Accept-Language": "en"})
    assert page_language(answer.get_data(as_text=True)) == "zh_CN"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=zh_CN") and "SameSite=Lax" in cookie and "HttpOnly" in cookie
    again = client.get("/", headers={"Accept-Language": "en"})
    assert page_language(again.get_data(as_text=True)) == "zh_CN"
    assert "Set-Cookie" not in again.headers
    back = client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})
    assert page_language(back.get_data(as_text=True)) == "en"
    assert page_language(client.get("/").get_data(as_text=True)) == "en"
    # A language without a catalogue in the switch changes nothing and sets no cookie.
    odd = client.get("/?lang=fr")
    assert page_language(odd.get_data(as_text=True)) == "en" and "Set-Cookie" not in odd.headers


def test_the_page_links_both_languages_and_keeps_its_csp(ops: StatusOps) -> None:
    client = create_app(ops, "token").test_client()
    answer = client.get("/", headers={"Accept-Language": "zh-CN"})
    html = answer.get_data(as_text=True)
    assert answer.headers["Content-Security-Policy"] == PAGE_CSP
    assert 'href="?lang=en"' in html and 'href="?lang=zh_CN"' in html
    assert re.search(r'<a href="\?lang=zh_CN"[^>]*aria-current="true">中文</a>', html)
    # Every script is a file of this server, but for the catalogue, which is data (never run).
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    for attrs, body in scripts:
        if 'type="application/json"' in attrs:
            assert "</" not in body  # the JSON cannot close its element
        else:
            assert re.search(r'src="/static/[a-z0-9]+\.js"', attrs) and not body.strip()
    assert "Accept-Language" in answer.headers["Vary"]


def test_status_words_follow_the_request_language(ops: StatusOps) -> None:
    client = create_app(ops, "token").test_client()
    zh = client.get("/api/status", headers={"Accept-Language": "zh-CN"}).get_json()
    assert zh["statuses"]["failed"]["label"] == "失败"
    assert zh["statuses"]["failed"]["tone"] == "bad"  # the data stays the same
    en = client.get("/api/status", headers={"Accept-Language": "en"}).get_json()
    assert en["statuses"]["failed"]["label"] == "failed"
