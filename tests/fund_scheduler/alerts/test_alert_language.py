"""An alert in 中文 and in English: the title and labels in the language in effect, the status in
words, the data (job id, error, log path) as it is, the JSON body's keys and values unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fund_common import i18n
from fund_scheduler.alerts.messages import Alert

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAILED = Alert(
    job_id="daily_collection",
    kind="failed",
    status="failed",
    execution_id=42,
    scheduled_run_time=datetime(2026, 12, 3, 11, 0, tzinfo=UTC),
    error="RuntimeError: source answered 502",
    log_path="logs/jobs/daily_collection/42.log",
    host="fund-01",
    attempt=3,
)


def test_a_failure_reads_in_chinese() -> None:
    with i18n.use("zh_CN"):
        text = FAILED.text(SHANGHAI)
        markdown = FAILED.markdown(SHANGHAI)
        body = FAILED.as_json(SHANGHAI)
    assert text.splitlines() == [
        "fund-scheduler：任务 daily_collection 失败（共尝试 3 次）",
        "任务: daily_collection",
        "状态: 失败",
        "计划时间: 2026-12-03 19:00:00 CST",
        "错误: RuntimeError: source answered 502",
        "日志: logs/jobs/daily_collection/42.log",
        "执行记录: 42（主机 fund-01）",
    ]
    assert "- 错误: `RuntimeError: source answered 502`" in markdown  # still code in markdown
    assert body["status"] == "failed" and body["kind"] == "failed" and body["job"] == "daily_collection"
    assert body["text"] == text


def test_the_same_alert_in_english() -> None:
    with i18n.use("en"):
        assert FAILED.title == "fund-scheduler: job daily_collection failed after 3 attempts"
        assert FAILED.fields(SHANGHAI)[1] == ("Status", "failed")


def test_recovered_blocked_and_check_alerts_in_chinese() -> None:
    recovered = Alert(job_id="j", kind="recovered", status="success", previous_status="timeout")
    blocked = Alert(
        job_id="daily_metrics",
        kind="blocked",
        status="blocked",
        error="waiting for daily_validation: failed at 19:32 (execution 8)",
    )
    stale = Alert(job_id="fund_nav_freshness", kind="stale_data", status="failed", lasted=None)
    with i18n.use("zh_CN"):
        assert recovered.title == "fund-scheduler：任务 j 已恢复（超时后成功）"
        assert ("状态", "成功（此前：超时）") in recovered.fields()
        assert blocked.title == "fund-scheduler：任务 daily_metrics 阻塞：等待：daily_validation (failed)"
        assert stale.title == "fund-scheduler：任务 fund_nav_freshness 数据过期"
