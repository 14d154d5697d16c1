"""The one job-row view (fund_scheduler.jobs.rows) every front-end shows."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from fund_scheduler.jobs import JobSpec
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.rows import job_rows, state_word
from fund_scheduler.jobs.triggers import build_cron, crontab_to_fields

SHANGHAI = ZoneInfo("Asia/Shanghai")


def spec(job_id: str, **kw) -> JobSpec:
    return JobSpec(id=job_id, name=job_id.title(), schedule=crontab_to_fields("0 19 * * mon-fri"), **kw)


def stored(job_id: str, next_run: datetime | None) -> SimpleNamespace:
    return SimpleNamespace(
        id=job_id,
        name=f"{job_id} (stored)",
        trigger=build_cron(crontab_to_fields("30 18 * * mon-fri"), SHANGHAI),
        next_run_time=next_run,
        max_instances=1,
    )


def test_stored_state_and_last_run_meet_the_spec() -> None:
    registry = Registry(
        {
            "a": spec("a", func="m:f", timeout=60.0),
            "b": spec("b", command=("true",)),
            "off": spec("off", command=("true",), enabled=False, disabled_reason="why not"),
        }
    )
    soon = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    last = {
        "a": {
            "id": 7,
            "job_id": "a",
            "status": "failed",
            "started_at": soon,
            "error": "boom",
            "output_tail": "x",
        }
    }
    rows = {
        r["id"]: r
        for r in job_rows(
            registry, [stored("a", soon), stored("b", None), stored("ghost", soon)], last, SHANGHAI
        )
    }
    assert list(rows) == ["a", "b", "ghost", "off"]
    a = rows["a"]
    assert (
        a["name"] == "a (stored)" and a["trigger"] == "cron 30 18 * * mon-fri (Asia/Shanghai)"
    )  # the daemon's view
    assert (a["next_run_time"], a["paused"], a["enabled"], a["target"], a["timeout"]) == (
        soon,
        False,
        True,
        "m:f",
        60.0,
    )
    assert a["last_execution"] == {
        "id": 7,
        "job_id": "a",
        "status": "failed",
        "started_at": soon,
        "error": "boom",
    }
    assert (a["last_status"], a["last_started_at"], a["last_error"]) == ("failed", soon, "boom")
    assert rows["b"]["paused"] and state_word(rows["b"]) == "paused"
    assert rows["ghost"]["enabled"] and rows["ghost"]["target"] is None  # stored, no spec any more
    off = rows["off"]
    assert (off["enabled"], off["disabled_reason"], off["next_run_time"]) == (False, "why not", None)
    assert state_word(off) == "disabled" and state_word(a) == "active"
    assert off["last_execution"] is None and off["last_status"] is None
