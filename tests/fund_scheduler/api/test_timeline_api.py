"""``GET /api/timeline`` (Flask test client) over the real Operations of a composed daemon on a
temporary SQLite: a lane per job, the runs of the last hours from the history (bars and marks),
the fire times of the next hours (deadlines for the dependents, none for a paused job), the
window asked for, and a bad ``hours`` refused naming it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from fund_common.clock import utcnow
from fund_scheduler.api.app import create_app
from fund_scheduler.store import history
from tests.support.inprocess import InProcessDaemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory) -> Iterator[InProcessDaemon]:
    home = tmp_path_factory.mktemp("timeline-home")
    with InProcessDaemon(home) as d:
        yield d


@pytest.fixture(scope="module")
def client(daemon):
    return create_app(daemon.ops, "token-for-the-timeline-test").test_client()


def add_run(daemon, job_id: str, status: str, started: datetime, finished: datetime | None, **values) -> int:
    row = dict(
        job_id=job_id,
        status=status,
        trigger="schedule",
        started_at=started.astimezone(UTC).replace(tzinfo=None),
        finished_at=None if finished is None else finished.astimezone(UTC).replace(tzinfo=None),
        **values,
    )
    with daemon.daemon.engine.begin() as conn:
        return conn.execute(insert(history.job_executions).values(**row)).inserted_primary_key[0]


def lanes_of(answer) -> dict[str, dict]:
    assert answer.status_code == 200, answer.get_json()
    return {lane["id"]: lane for lane in answer.get_json()["lanes"]}


def test_the_timeline_has_a_lane_per_job_with_its_runs_and_fire_times(daemon, client) -> None:
    now = utcnow()
    ok = add_run(daemon, "tick", "success", now - timedelta(hours=2), now - timedelta(hours=2, seconds=-40))
    running = add_run(daemon, "tick", "running", now - timedelta(hours=30), None)
    old = add_run(daemon, "tick", "failed", now - timedelta(hours=40), now - timedelta(hours=39))
    fired = now - timedelta(hours=3)
    blocked = add_run(
        daemon,
        "daily_validation",
        "blocked",
        fired,
        fired,
        scheduled_run_time=fired.replace(tzinfo=None),
        error="waiting for daily_collection: not run yet for 2026-12-03",
    )
    answer = client.get("/api/timeline")
    lanes = lanes_of(answer)
    window = answer.get_json()["window"]
    assert window["hours"] == 24
    start, end = datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"])
    assert end - start == timedelta(hours=48)
    assert set(daemon.ops.job_ids()) <= set(lanes)
    tick = lanes["tick"]
    assert [(r["execution_id"], r["kind"], r["status"]) for r in tick["runs"]] == [
        (running, "bar", "running"),
        (ok, "bar", "success"),
    ]
    assert old not in {r["execution_id"] for r in tick["runs"]}
    assert tick["runs"][0]["end"] is None and tick["runs"][1]["tone"] == "ok"
    assert tick["upcoming"] == []  # its cron fires on 1 January at 03:00 only
    (mark,) = lanes["daily_validation"]["runs"]
    assert (mark["execution_id"], mark["kind"], mark["status"], mark["tone"]) == (
        blocked,
        "mark",
        "blocked",
        "warn",
    )
    assert datetime.fromisoformat(mark["at"]) == fired
    assert mark["error"].startswith("waiting for daily_collection")
    # The freshness checks fire every 10 minutes: 144 ticks in 24 h, each a run.
    checks = lanes["fund_nav_freshness"]["upcoming"]
    assert len(checks) == 144 and {t["kind"] for t in checks} == {"run"}
    # A dependent's own cron times are deadlines.
    assert lanes["daily_validation"]["after"] == ["daily_collection"]
    assert {t["kind"] for t in lanes["daily_validation"]["upcoming"]} <= {"deadline"}
    assert lanes["weekly_pipeline"]["enabled"] is False and lanes["weekly_pipeline"]["upcoming"] == []


def test_a_paused_job_has_no_fire_times_and_says_so(daemon, client) -> None:
    daemon.ops.pause("fund_metrics_freshness")
    try:
        lane = lanes_of(client.get("/api/timeline?hours=2"))["fund_metrics_freshness"]
        assert lane["paused"] is True and lane["state"] == "paused" and lane["upcoming"] == []
        assert len(lanes_of(client.get("/api/timeline?hours=2"))["fund_nav_freshness"]["upcoming"]) == 12
    finally:
        daemon.ops.resume("fund_metrics_freshness")


def test_operations_timeline_takes_the_window_and_now(daemon) -> None:
    now = utcnow() + timedelta(days=3)
    timeline = daemon.ops.timeline(hours=1, now=now)
    assert timeline["window"] == {
        "start": now - timedelta(hours=1),
        "now": now,
        "end": now + timedelta(hours=1),
        "hours": 1,
    }
    # Three days on, only a run still running overlaps the window.
    assert all(r["status"] == "running" for lane in timeline["lanes"] for r in lane["runs"])


@pytest.mark.parametrize("raw", ["0", "73", "abc", "-1", "1.5", "9999", "２４"])
def test_a_bad_hours_is_400_naming_it(client, raw: str) -> None:
    answer = client.get("/api/timeline", query_string={"hours": raw})
    assert answer.status_code == 400
    assert answer.get_json()["error"] == f"hours={raw!r} must be a whole number from 1 to 72"


def test_hours_from_1_to_72_are_answered(client) -> None:
    for hours in (1, 72):
        answer = client.get(f"/api/timeline?hours={hours}")
        assert answer.status_code == 200 and answer.get_json()["window"]["hours"] == hours


def test_the_labels_are_in_the_requests_language(daemon, client) -> None:
    now = utcnow()
    add_run(daemon, "tick", "failed", now - timedelta(minutes=5), now - timedelta(minutes=4))
    lanes = lanes_of(client.get("/api/timeline?lang=zh_CN"))
    labels = {r["status"]: r["label"] for r in lanes["tick"]["runs"]}
    assert labels["failed"] == "失败"


def test_the_api_and_the_timeline_agree_on_the_widest_window() -> None:
    from fund_scheduler.api import timeline_routes
    from fund_scheduler.daemon import timeline

    assert timeline_routes.HOURS_MAX == timeline.HOURS_MAX
