"""The page's Workers card in a real headless Chromium against a real daemon with a broker: each
worker (up, or silent past its lease) with its queues, heartbeat and runs held, each queue with
its waiting messages at the broker and the live workers taking it (a queue nobody takes marked);
a remote run in the executions table names its worker. Rows are written the way workers write
them (fund_scheduler.store); no Celery worker runs here (tests/e2e/test_remote_runs.py has them).
Skipped without Chromium unless ``BROWSER_REQUIRED=1``."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from fund_common.clock import utcnow
from fund_scheduler.store import claims, history, workers
from fund_scheduler.store.engine import make_engine
from tests.e2e.test_web_dashboard import ARTIFACTS, browser, served  # noqa: F401
from tests.support.harness import FAR_AWAY, wait_for

pytestmark = pytest.mark.e2e

with contextlib.suppress(ImportError):  # without selenium the browser fixture skips
    from selenium.webdriver.common.by import By

JOBS = f"""
    [jobs.remote_calc]
    cron = "{FAR_AWAY}"
    command = ["true"]
    executor = "celery"
    queue = "cpu"

    [jobs.remote_io]
    cron = "{FAR_AWAY}"
    command = ["true"]
    executor = "celery"
    queue = "io"
"""


def test_the_workers_card_lists_workers_and_queues(browser, redis_url):  # noqa: F811
    with served(JOBS, {"SCHEDULER_BROKER_URL": redis_url, "SCHEDULER_WORKER_LEASE": "60"}) as (base, home):
        engine = make_engine(home.database_url)
        now = utcnow()
        try:
            common = {"host": "host-b", "pid": 4242, "concurrency": 4, "version": "test"}
            workers.beat(engine, "cpu1@host-b", queues=["cpu"], now=now, starting=True, **common)
            workers.beat(engine, "old@host-c", queues=["cpu"], now=now - timedelta(minutes=10), **common)
            [execution_id] = history.start_many(
                engine, [{"job_id": "remote_calc", "trigger": "manual", "now": now, "queue": "cpu"}]
            )
            claims.claim(engine, execution_id, worker="cpu1@host-b", pid=4242, now=now)
        finally:
            engine.dispose()
        browser.get(base + "/")
        wait_for(lambda: browser.find_element(By.ID, "workers-section").is_displayed(), 20, "the card shows")
        rows = {
            r.get_attribute("data-worker"): r
            for r in browser.find_elements(By.CSS_SELECTOR, "#workers tbody tr[data-worker]")
        }
        assert set(rows) == {"cpu1@host-b", "old@host-c"}
        assert rows["cpu1@host-b"].get_attribute("data-alive") == "true"
        assert "up" in rows["cpu1@host-b"].text and "1/4" in rows["cpu1@host-b"].text
        assert "silent" in rows["old@host-c"].text
        queues = {
            r.get_attribute("data-queue"): r
            for r in browser.find_elements(By.CSS_SELECTOR, "#queues tbody tr")
        }
        assert set(queues) == {"cpu", "io"}
        assert "cpu1@host-b" in queues["cpu"].text
        assert "no worker" in queues["io"].text and queues["io"].get_attribute("data-workers") == "0"
        broker = browser.find_element(By.ID, "workers-broker").text
        password = str(urlsplit(redis_url).password)
        assert broker.startswith("redis://:***@127.0.0.1:") and password not in broker
        wait_for(
            lambda: (
                "cpu1@host-b"
                in browser.find_element(
                    By.CSS_SELECTOR, f'#executions tr[data-execution-id="{execution_id}"]'
                ).text
            ),
            20,
            "the remote run names its worker",
        )
        ARTIFACTS.mkdir(exist_ok=True)
        browser.find_element(By.ID, "workers-section").screenshot(str(ARTIFACTS / "workers-card.png"))
