"""End to end: a real daemon posts failure and recovery alerts to a local webhook receiver."""

from __future__ import annotations

import pytest

from tests.support.harness import FAR_AWAY, PY, SchedulerHome
from tests.support.webhook import SECRET, Hook

pytestmark = pytest.mark.e2e


def test_a_failed_run_alerts_once_and_the_next_success_alerts_recovered(hook: Hook, database_url) -> None:
    with SchedulerHome.create(
        database_url=database_url,
        extra_env={
            "ALERT_WEBHOOK_URL": hook.url,
            "ALERT_WEBHOOK_FORMAT": "json",
            "ALERT_TIMEOUT": "5",
            "SCHEDULER_HTTP_PORT": "0",
        },
    ) as home:
        fixed = home.root / "fixed"
        home.write_jobs(f"""
            [jobs.broken]
            cron = "{FAR_AWAY}"
            command = ["{PY}", "-c", "import os, sys; print('working'); os.path.exists('{fixed}') or sys.exit('disk full on /data')"]
        """)  # noqa: E501
        started = home.cli("start")
        assert started.returncode == 0, started.stdout + started.stderr

        failed = home.cli("run-job", "broken", "--wait")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        [post] = hook.wait(1)
        row = home.history("--job", "broken")[0]
        body = post["json"]
        assert (body["job"], body["status"], body["kind"]) == ("broken", "failed", "failed")
        assert body["error"] == "disk full on /data"
        assert body["execution_id"] == row["id"]
        assert body["log_path"] == str(home.job_log("broken").resolve())
        assert body["scheduled_run_time"] is None and "Scheduled: none (manual run)" in body["text"]
        assert body["suppressed"] == 0

        fixed.touch()
        ok = home.cli("run-job", "broken", "--wait")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        posts = hook.wait(2)
        recovered = posts[1]["json"]
        assert (recovered["job"], recovered["status"], recovered["kind"]) == (
            "broken",
            "success",
            "recovered",
        )
        assert recovered["previous_status"] == "failed"

        assert home.cli("stop").returncode == 0
        assert len(hook.posts) == 2  # a success after a success is no news; nothing else was sent
        log = home.scheduler_log.read_text()
        port = hook.server.server_address[1]
        assert f"alerts to webhook http://127.0.0.1:{port}/robot/send?key=*** (json)" in log
        assert f"alert job=broken execution={row['id']} failed sent to webhook" in log
        assert "recovered sent to webhook" in log
        assert SECRET not in log

        # No daemon: run-job runs the job in its own process and alerts the same way.
        fixed.unlink()
        alone = home.cli("run-job", "broken")
        assert alone.returncode == 1 and "no daemon running" in alone.stdout, alone.stdout + alone.stderr
        failed_alone = hook.wait(3)[2]["json"]
        assert (failed_alone["kind"], failed_alone["error"]) == ("failed", "disk full on /data")
        fixed.touch()
        assert home.cli("run-job", "broken").returncode == 0
        assert hook.wait(4)[3]["json"]["kind"] == "recovered"
        assert home.cli("run-job", "broken").returncode == 0
        assert len(hook.posts) == 4 and SECRET not in alone.stdout + alone.stderr
