"""The run statuses and their meaning, declared once (fund_common.runstatus)."""

from __future__ import annotations

from fund_common.runstatus import (
    ALERTED,
    DISPLAY_ORDER,
    FAILURES,
    FINAL,
    RAN,
    SEVERITY,
    RunStatus,
    Tone,
    success_rate,
    vocabulary,
    worst,
)


def test_the_sets() -> None:
    assert {s.value for s in RunStatus} == {
        "running",
        "success",
        "failed",
        "timeout",
        "interrupted",
        "missed",
        "skipped",
        "coalesced",
        "blocked",
        "cancelled",
        "queued",
    }
    assert RunStatus.RUNNING not in FINAL and RunStatus.QUEUED not in FINAL and len(FINAL) == 9
    # cancelled: an operator's choice, neither a success nor a failure
    assert {"failed", "timeout", "interrupted", "missed", "skipped", "blocked"} == FAILURES
    assert {
        "success",
        "failed",
        "timeout",
        "interrupted",
        "cancelled",
    } == RAN  # missed/skipped/blocked never started
    assert {"failed", "timeout", "missed", "interrupted", "blocked"} == ALERTED  # coalesced: covered
    assert RunStatus.COALESCED.final and not RunStatus.COALESCED.failure and not RunStatus.COALESCED.ran
    assert set(DISPLAY_ORDER) == set(SEVERITY) == set(RunStatus)


def test_tone_and_worst() -> None:
    assert [RunStatus(s).tone for s in ("success", "running", "skipped", "timeout")] == [
        Tone.OK,
        Tone.RUN,
        Tone.WARN,
        Tone.BAD,
    ]
    assert worst(["success", "missed", "running"]) == "missed"
    assert worst(["success", "interrupted", "failed"]) == "failed"
    assert worst([]) is None
    assert worst(["success", "martian"]) == "failed"  # unknown: the worst of all


def test_success_rate_counts_every_final_non_success_against() -> None:
    assert success_rate({"success": 3, "skipped": 1, "running": 5}) == 0.75
    assert success_rate({"running": 2}) is None
    assert success_rate({}) is None


def test_coalesced_fire_times_are_no_runs() -> None:
    assert success_rate({"success": 1, "coalesced": 40}) == 1.0
    assert success_rate({"coalesced": 3}) is None
    assert RunStatus.COALESCED.tone is Tone.OK
    assert worst(["coalesced", "success"]) == "success"
    assert vocabulary()["coalesced"] == {
        "final": True,
        "failure": False,
        "ran": False,
        "tone": "ok",
        "severity": 10,
        "label": "coalesced",
    }


def test_vocabulary_is_json_for_the_page() -> None:
    words = vocabulary()
    assert list(words) == [s.value for s in DISPLAY_ORDER]
    assert words["timeout"] == {
        "final": True,
        "failure": True,
        "ran": True,
        "tone": "bad",
        "severity": 1,
        "label": "timeout",
    }
    assert words["running"]["final"] is False


def test_status_words_follow_the_language() -> None:
    from fund_common import i18n
    from fund_common.runstatus import label

    with i18n.use("zh_CN"):
        assert vocabulary()["failed"]["label"] == "失败"
        assert RunStatus.BLOCKED.label == "阻塞"
        assert label("not-a-status") == "not-a-status"
    with i18n.use("en"):
        assert label("failed") == "failed"
