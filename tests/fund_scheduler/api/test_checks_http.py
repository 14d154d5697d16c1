"""A check job in the composed daemon (serve, in this process): /health degraded naming the breach
and healthy again after it, GET /api/checks, the /metrics gauges and the two alerts on a real local
webhook. The check's result is set per run (tests.support.checkjob); runs are started through
the operations facade and waited for."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support.checkjob import breach, ok, set_result
from tests.support.inprocess import InProcessDaemon
from tests.support.webhook import Hook

PACKAGE = """
from fund_scheduler.jobs import check
from tests.support.checkjob import stub_check


@check(id="nav_fresh", name="NAVs fresh", cron="0 3 1 1 *", executor="thread")
def nav_fresh(ctx):
    return stub_check(ctx)
"""
SUMMARY = "fund_nav has 2026-12-02 for 180/300 active funds (60 %), expected 2026-12-03 by 20:00"


@pytest.fixture
def daemon(tmp_path, monkeypatch, hook: Hook):
    packages = tmp_path / "packages"
    (packages / "freshness_checks").mkdir(parents=True)
    (packages / "freshness_checks" / "__init__.py").write_text("")
    (packages / "freshness_checks" / "nav.py").write_text(PACKAGE)
    monkeypatch.syspath_prepend(str(packages))
    home = tmp_path / "home"
    home.mkdir()
    with InProcessDaemon(home, SCHEDULER_JOBS_PACKAGES="freshness_checks", ALERT_WEBHOOK_URL=hook.url) as d:
        yield d, home


def metric(text: str, family: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.search(rf"^{family}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    return None if found is None else float(found.group(1))


def test_a_breach_degrades_health_with_its_summary_until_the_data_is_fresh_again(daemon, hook: Hook) -> None:
    d, home = daemon
    before = d.health()
    assert before.status_code == 200, before.text
    [never] = before.json()["checks"]
    assert (never["job_id"], never["state"], never["summary"]) == ("nav_fresh", None, "not checked yet")
    assert (
        metric(requests.get(d.base + "/metrics", timeout=10).text, "fund_scheduler_check_ok", job="nav_fresh")
        is None
    )

    set_result(home, breach(SUMMARY, expected="2026-12-03", found="2026-12-02", funds=180))
    assert d.ops.run("nav_fresh", wait=True)["status"] == "success"
    degraded = d.health()
    assert degraded.status_code == 503
    body = degraded.json()
    assert body["status"] == "degraded" and body["problems"] == [f"nav_fresh: {SUMMARY}"]
    [state] = requests.get(d.base + "/api/checks", timeout=10).json()["checks"]
    assert (state["state"], state["summary"], state["details"]["found"]) == ("breach", SUMMARY, "2026-12-02")
    scrape = requests.get(d.base + "/metrics", timeout=10).text
    assert metric(scrape, "fund_scheduler_check_ok", job="nav_fresh") == 0.0
    assert metric(scrape, "fund_scheduler_check_value", job="nav_fresh", name="coverage") == 0.6
    assert metric(scrape, "fund_scheduler_check_value", job="nav_fresh", name="funds") == 180.0
    assert metric(scrape, "fund_scheduler_check_value", job="nav_fresh", name="found") is None  # text
    assert 0 <= metric(scrape, "fund_scheduler_check_state_seconds", job="nav_fresh") < 60
    [stale] = hook.wait(1)
    assert (stale["json"]["kind"], stale["json"]["summary"]) == ("stale_data", SUMMARY)

    set_result(home, ok())
    assert d.ops.run("nav_fresh", wait=True)["status"] == "success"
    healthy = d.health()
    assert healthy.status_code == 200 and healthy.json()["problems"] == []
    assert healthy.json()["checks"][0]["state"] == "ok"
    scrape = requests.get(d.base + "/metrics", timeout=10).text
    assert metric(scrape, "fund_scheduler_check_ok", job="nav_fresh") == 1.0
    _, fresh = hook.wait(2)
    assert fresh["json"]["kind"] == "fresh_again" and fresh["json"]["breach_seconds"] >= 0
