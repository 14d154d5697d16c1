"""The dependency decisions of :mod:`fund_scheduler.daemon.chain`, on rows made up in the test."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fund_scheduler.alerts.messages import Alert
from fund_scheduler.daemon.chain import at_deadline, chain_order, chain_steps, dependents_due, upstream_state
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.jobs.triggers import build_cron, crontab_to_fields

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2030, 3, 5)


def spec(job_id: str, cron: str = "0 19 * * mon-fri", **kw) -> JobSpec:
    return JobSpec(id=job_id, name=job_id, schedule=crontab_to_fields(cron), command=("true",), **kw)


def row(execution_id: int, status: str, hour: int = 19, minute: int = 2) -> dict:
    moment = datetime(2030, 3, 5, hour, minute, tzinfo=ZONE)
    finished = None if status == "running" else moment
    return {"id": execution_id, "status": status, "started_at": moment, "finished_at": finished}


VALIDATE = spec("validate", "30 19 * * mon-fri", after=("collect",))


def test_the_last_state_of_an_upstream_in_words() -> None:
    assert upstream_state([], DAY, ZONE) == "not run yet for 2030-03-05"
    assert upstream_state([row(812, "failed")], DAY, ZONE) == "failed at 19:02 (execution 812)"
    assert upstream_state([row(9, "running", 19, 0), row(8, "failed")], DAY, ZONE) == "running since 19:00"


def test_the_deadline_runs_blocks_or_coalesces() -> None:
    assert at_deadline(VALIDATE, [], {"collect": [row(1, "success")]}, DAY, ZONE) is None
    blocked = at_deadline(VALIDATE, [], {"collect": [row(812, "failed")]}, DAY, ZONE)
    assert blocked == ("blocked", "waiting for collect: failed at 19:02 (execution 812)")
    assert at_deadline(VALIDATE, [], {}, DAY, ZONE) == (
        "blocked",
        "waiting for collect: not run yet for 2030-03-05",
    )
    for status in ("success", "running"):
        covered = at_deadline(VALIDATE, [row(5, status)], {"collect": [row(1, "success")]}, DAY, ZONE)
        assert covered == ("coalesced", "covered by execution 5")
    # An earlier failed run of the dependent itself does not cover the date: it runs again.
    assert at_deadline(VALIDATE, [row(5, "failed")], {"collect": [row(1, "success")]}, DAY, ZONE) is None


def test_after_mode_any_and_all_at_the_deadline() -> None:
    upstreams = {"a": [row(1, "failed")], "b": [row(2, "success")]}
    either = spec("either", after=("a", "b"), after_mode="any")
    both = spec("both", after=("a", "b"))
    assert at_deadline(either, [], upstreams, DAY, ZONE) is None
    assert at_deadline(both, [], upstreams, DAY, ZONE) == (
        "blocked",
        "waiting for a: failed at 19:02 (execution 1)",
    )
    nothing = at_deadline(either, [], {"a": [row(1, "failed")]}, DAY, ZONE)
    assert nothing == (
        "blocked",
        "waiting for any of a: failed at 19:02 (execution 1); b: not run yet for 2030-03-05",
    )


def test_which_dependents_an_upstream_success_starts() -> None:
    late_skip = spec("report", after=("collect",), on_late="skip")
    off = spec("off", after=("collect",), enabled=False)
    specs = [spec("collect"), VALIDATE, late_skip, off]
    done = {"collect": [row(3, "success")]}
    assert [(s.job_id, s.start) for s in dependents_due(specs, "collect", done)] == [
        ("report", True),
        ("validate", True),
    ]
    blocked = {**done, "validate": [row(2, "blocked")], "report": [row(4, "blocked")]}
    decisions = {s.job_id: s for s in dependents_due(specs, "collect", blocked)}
    assert decisions["validate"].start and decisions["validate"].why == "late upstream, on_late = run"
    assert not decisions["report"].start and "on_late = skip" in decisions["report"].why
    ran = {**done, "validate": [row(7, "success")], "report": [row(8, "running")]}
    assert not any(s.start for s in dependents_due(specs, "collect", ran))


def test_the_chain_in_order_with_today_s_state() -> None:
    collect = spec("collect")
    metrics = spec("metrics", "30 20 * * mon-fri", after=("validate",))
    alone = spec("alone")
    specs = [metrics, alone, VALIDATE, collect]
    assert [s.id for s in chain_order(specs)] == ["collect", "validate", "metrics"]
    other = [spec("b_down", after=("a_up",)), spec("a_up"), spec("z_last", after=("collect", "b_down"))]
    # z_last joins the two into one chain: its roots first, then each depth.
    assert [s.id for s in chain_order([*specs, *other])] == [
        "a_up",
        "collect",
        "b_down",
        "validate",
        "metrics",
        "z_last",
    ]
    separate = [spec("b_down", after=("a_up",)), spec("a_up")]
    assert [s.id for s in chain_order([*specs, *separate])] == [
        "a_up",
        "b_down",
        "collect",
        "validate",
        "metrics",
    ]
    triggers = {s.id: build_cron(s.schedule, ZONE) for s in specs}
    zones = {s.id: ZONE for s in specs}
    steps = chain_steps(specs, triggers, zones, {"collect": [row(1, "success")]}, DAY)
    assert [(s["job"], s["state"], s["text"]) for s in steps] == [
        ("collect", "succeeded", "succeeded at 19:02 (execution 1)"),
        ("validate", "not_run", "not run yet (deadline 19:30)"),
        ("metrics", "waiting", "waiting for validate (deadline 20:30)"),
    ]
    assert steps[0]["dependents"] == ["validate"] and steps[2]["after"] == ["validate"]
    assert steps[1]["deadline"] == datetime(2030, 3, 5, 19, 30, tzinfo=ZONE)
    saturday = chain_steps(specs, triggers, zones, {}, date(2030, 3, 9))
    assert [s["state"] for s in saturday] == ["no_session", "no_session", "no_session"]
    assert saturday[0]["text"] == "not scheduled today" and saturday[1]["deadline"] is None
    blocked = chain_steps(specs, triggers, zones, {"validate": [row(4, "blocked", 19, 30)]}, DAY)
    assert blocked[1]["state"] == "blocked"


def test_the_blocked_alert_reads_well() -> None:
    alert = Alert(
        job_id="daily_validation",
        kind="blocked",
        status="blocked",
        error="waiting for daily_collection: failed at 19:02 (execution 812)",
    )
    assert (
        alert.title == "fund-scheduler: job daily_validation blocked: waiting for daily_collection (failed)"
    )
    assert ("Error", "waiting for daily_collection: failed at 19:02 (execution 812)") in alert.fields()
