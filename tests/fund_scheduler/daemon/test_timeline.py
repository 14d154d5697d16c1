"""The timeline's computation (:func:`fund_scheduler.daemon.timeline.build_timeline`) at a fixed
now: runs overlapping the past 24 h as bars, rows that never ran as marks at their fire time,
fire times of the next 24 h as ticks (deadlines for a dependent), capped with the rest counted,
paused, disabled and removed jobs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fund_common import i18n
from fund_scheduler.daemon.timeline import COUNT_LIMIT, MAX_RUNS, MAX_TICKS, build_timeline
from fund_scheduler.jobs.triggers import build_cron, build_interval, crontab_to_fields

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai


def job(job_id: str, **fields: Any) -> dict[str, Any]:
    row = {"id": job_id, "name": job_id.title(), "schedule": "daily", "state": "active", "enabled": True}
    row.update(paused=False, after=[], disabled_reason=None)
    return {**row, **fields}


def run(
    execution_id: int,
    job_id: str,
    status: str,
    started: datetime,
    finished: datetime | None,
    scheduled: datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "id": execution_id,
        "job_id": job_id,
        "status": status,
        "started_at": started,
        "finished_at": finished,
        "scheduled_run_time": scheduled,
        "trigger": "schedule",
        "run_date": date(2026, 12, 3),
        "duration": None if finished is None else (finished - started).total_seconds(),
        "error": None,
        **fields,
    }


def cron(expr: str):
    return build_cron(crontab_to_fields(expr), SHANGHAI)


def lane(timeline: dict[str, Any], job_id: str) -> dict[str, Any]:
    return next(lane for lane in timeline["lanes"] if lane["id"] == job_id)


def test_the_window_spans_hours_either_side_of_now() -> None:
    timeline = build_timeline([job("a")], [], NOW, hours=6)
    assert timeline["window"] == {
        "start": NOW - timedelta(hours=6),
        "now": NOW,
        "end": NOW + timedelta(hours=6),
        "hours": 6,
    }
    assert [lane["id"] for lane in timeline["lanes"]] == ["a"]
    for bad in (0, 73):
        with pytest.raises(ValueError, match="hours"):
            build_timeline([], [], NOW, hours=bad)


def test_runs_overlapping_the_past_are_bars_and_the_others_are_left_out() -> None:
    h = timedelta(hours=1)
    runs = [
        run(1, "a", "success", NOW - 30 * h, NOW - 29 * h),  # ended before the window
        run(2, "a", "failed", NOW - 25 * h, NOW - 23 * h),  # started before it, ended inside
        run(3, "a", "success", NOW - 2 * h, NOW - h),
        run(4, "a", "running", NOW - 26 * h, None),  # running since before the window
        run(5, "a", "cancelled", NOW - 3 * h, NOW - 3 * h + timedelta(seconds=5)),
    ]
    timeline = build_timeline([job("a")], runs, NOW)
    items = lane(timeline, "a")["runs"]
    assert [i["execution_id"] for i in items] == [4, 2, 5, 3]  # by start
    by_id = {i["execution_id"]: i for i in items}
    assert {i["kind"] for i in items} == {"bar"}
    assert by_id[4]["end"] is None and by_id[4]["tone"] == "run" and by_id[4]["status"] == "running"
    assert by_id[2]["start"] == NOW - 25 * h and by_id[2]["end"] == NOW - 23 * h
    assert by_id[2]["tone"] == "bad" and by_id[3]["tone"] == "ok" and by_id[5]["tone"] == "warn"
    assert by_id[3]["duration"] == 3600 and by_id[3]["run_date"] == date(2026, 12, 3)
    assert by_id[3]["label"] == "success"


def test_rows_that_never_ran_are_marks_at_their_fire_time() -> None:
    h = timedelta(hours=1)
    late_stamp = NOW - h  # recorded when the daemon came back
    runs = [
        run(1, "a", "missed", late_stamp, late_stamp, scheduled=NOW - 5 * h),
        run(
            2,
            "b",
            "blocked",
            NOW - 2 * h,
            NOW - 2 * h,
            scheduled=NOW - 2 * h,
            error="waiting for a: " + "x" * 400,
        ),
        run(3, "b", "coalesced", NOW - 3 * h, NOW - 3 * h, scheduled=NOW - 3 * h),
        run(4, "a", "skipped", NOW - 4 * h, NOW - 4 * h, scheduled=NOW - 4 * h),
        run(5, "a", "missed", late_stamp, late_stamp, scheduled=NOW - 30 * h),  # its fire time is too old
    ]
    timeline = build_timeline([job("a"), job("b", after=["a"])], runs, NOW)
    a, b = lane(timeline, "a")["runs"], lane(timeline, "b")["runs"]
    assert [(i["execution_id"], i["kind"], i["at"]) for i in a] == [
        (1, "mark", NOW - 5 * h),
        (4, "mark", NOW - 4 * h),
    ]
    assert [(i["status"], i["tone"]) for i in b] == [("coalesced", "ok"), ("blocked", "warn")]
    blocked = b[1]
    assert blocked["error"].startswith("waiting for a: ") and len(blocked["error"]) == 300


def test_future_fire_times_are_ticks_and_a_dependents_are_deadlines() -> None:
    jobs = [job("collect"), job("validate", after=["collect"]), job("paused", paused=True, state="paused")]
    triggers = {"collect": cron("0 19 * * *"), "validate": cron("30 19 * * *")}
    timeline = build_timeline(jobs, [], NOW, triggers=triggers)
    collect, validate, paused = (lane(timeline, j) for j in ("collect", "validate", "paused"))
    # 20:00 in Shanghai now: the next 19:00 is tomorrow's, 23 h away.
    assert collect["upcoming"] == [{"at": datetime(2026, 12, 4, 11, 0, tzinfo=UTC), "kind": "run"}]
    assert validate["upcoming"] == [{"at": datetime(2026, 12, 4, 11, 30, tzinfo=UTC), "kind": "deadline"}]
    assert validate["after"] == ["collect"]
    assert paused["upcoming"] == [] and paused["paused"] is True and paused["state"] == "paused"
    assert collect["upcoming_more"] == 0 and collect["upcoming_more_at_least"] is False
    assert build_timeline(jobs, [], NOW, hours=1, triggers=triggers)["lanes"][0]["upcoming"] == []


def test_an_every_minute_job_shows_the_first_ticks_and_counts_the_rest() -> None:
    timeline = build_timeline([job("often")], [], NOW, triggers={"often": cron("* * * * *")})
    often = lane(timeline, "often")
    assert len(often["upcoming"]) == MAX_TICKS
    assert often["upcoming"][0]["at"] == NOW + timedelta(minutes=1)
    assert often["upcoming_more"] == 24 * 60 - MAX_TICKS and often["upcoming_more_at_least"] is False
    every_second = build_timeline([job("s")], [], NOW, triggers={"s": build_interval(1, SHANGHAI, NOW)})
    s = lane(every_second, "s")
    assert len(s["upcoming"]) == MAX_TICKS and s["upcoming_more_at_least"] is True
    assert s["upcoming_more"] >= COUNT_LIMIT - MAX_TICKS


def test_many_runs_keep_the_newest_and_count_the_rest() -> None:
    runs = [
        run(
            i,
            "often",
            "success",
            NOW - timedelta(minutes=i),
            NOW - timedelta(minutes=i) + timedelta(seconds=3),
        )
        for i in range(1, MAX_RUNS + 101)
    ]
    often = lane(build_timeline([job("often")], runs, NOW), "often")
    assert len(often["runs"]) == MAX_RUNS and often["runs_more"] == 100
    assert often["runs"][-1]["execution_id"] == 1  # the newest kept, oldest first


def test_disabled_and_removed_jobs_have_lanes_saying_so() -> None:
    jobs = [job("off", enabled=False, state="disabled", disabled_reason="no command")]
    runs = [run(7, "gone", "failed", NOW - timedelta(hours=1), NOW - timedelta(minutes=50))]
    timeline = build_timeline(jobs, runs, NOW)
    assert [lane["id"] for lane in timeline["lanes"]] == ["off", "gone"]
    off, gone = timeline["lanes"]
    assert off["enabled"] is False and off["state"] == "disabled" and off["disabled_reason"] == "no command"
    assert gone["removed"] is True and gone["state"] == "removed" and gone["name"] == "gone"
    assert [i["execution_id"] for i in gone["runs"]] == [7]


def test_naive_times_are_utc_and_the_answer_is_json() -> None:
    naive = datetime(2026, 12, 3, 11, 0)
    timeline = build_timeline([job("a")], [run(1, "a", "success", naive, naive + timedelta(minutes=1))], NOW)
    (item,) = lane(timeline, "a")["runs"]
    assert item["start"] == datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    json.dumps(timeline, default=str)


def test_status_labels_follow_the_language_in_effect() -> None:
    runs = [run(1, "a", "failed", NOW - timedelta(hours=1), NOW)]
    with i18n.use("zh_CN"):
        (item,) = lane(build_timeline([job("a")], runs, NOW), "a")["runs"]
    assert item["label"] == "失败" and item["status"] == "failed"
