"""The command line in Chinese and English: SCHEDULER_LANG (or a .env, or the locale) chooses the
words a person reads; ``--json``, exit statuses and the ``error:`` prefix are the same in both.

The real CLI in a child process against a throw-away home (SQLite), nothing mocked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fund_common.texttable import width
from tests.support.harness import TEST_CALENDARS, run_cli

HELLO = '[jobs.hello]\ncron = "0 3 1 1 *"\ncommand = ["true"]\n'
ZH = {"SCHEDULER_LANG": "zh_CN"}
EN = {"SCHEDULER_LANG": "en"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    root.mkdir()
    (root / "jobs.toml").write_text(HELLO)
    return root


def cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``scheduler_daemon.py ARGS`` with only this home's settings (and ``env``) in effect."""
    return run_cli(home, *args, env={"SCHEDULER_CALENDARS_FILE": str(TEST_CALENDARS), **(env or {})})


def table(text: str, first_header: str) -> list[str]:
    """The table whose head starts with ``first_header``: head, rule, then the rows (each starts
    with a job id or an execution id; the ``注意：`` lines after it do not)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_header + " "))
    rows = []
    for line in lines[start + 2 :]:
        if not line[:1].isascii() or not line[:1].isalnum():
            break
        rows.append(line)
    return lines[start : start + 2] + rows


def test_status_speaks_chinese_and_its_json_is_the_same_in_both(home: Path) -> None:
    zh, en = cli(home, "status", env=ZH), cli(home, "status", env=EN)
    assert (zh.returncode, en.returncode) == (3, 3), zh.stderr + en.stderr
    assert zh.stdout.splitlines()[0] == "调度器：未运行"
    assert en.stdout.splitlines()[0] == "scheduler: not running"
    head, rule, *rows = table(zh.stdout, "任务")
    assert head.split() == ["任务", "调度", "状态", "下次运行", "上次结果", "上次运行"]
    hello = next(row for row in rows if row.startswith("hello "))
    assert hello.split()[-4:] == ["启用中", "-", "-", "-"]
    # A Chinese character takes two columns: each head word starts at the column its dashes do.
    dashes = [i for i, c in enumerate(rule) if c == "-" and (i == 0 or rule[i - 1] == " ")]
    assert [width(head[: head.index(word)]) for word in head.split()] == dashes
    assert "最近 24 小时失败：0" in zh.stdout
    assert "failures in the last 24 h: 0" in en.stdout
    assert "weekly_pipeline 已停用：" in zh.stdout and "注意：" in zh.stdout

    zh_json, en_json = cli(home, "status", "--json", env=ZH), cli(home, "status", "--json", env=EN)
    assert (zh_json.returncode, en_json.returncode) == (3, 3)
    assert json.loads(zh_json.stdout) == json.loads(en_json.stdout)
    assert json.loads(zh_json.stdout)["state"] == "not running"


def test_jobs_table_in_chinese_json_unchanged(home: Path) -> None:
    zh = cli(home, "jobs", env=ZH)
    assert zh.returncode == 0, zh.stderr
    head, _rule, *rows = table(zh.stdout, "编号")
    assert head.split() == ["编号", "名称", "调度", "时区", "下次运行", "状态"]
    daily = next(row for row in rows if row.startswith("daily_collection "))
    assert "采集每日基金净值" in daily and "工作日 19:00（北京时间），上交所交易日" in daily
    assert any(row.startswith("hello ") and row.endswith("启用中") for row in rows)
    assert any(row.startswith("weekly_pipeline ") and row.endswith("停用") for row in rows)
    en = cli(home, "jobs", env=EN)
    assert en.stdout.splitlines()[0].split() == ["ID", "NAME", "SCHEDULE", "TIMEZONE", "NEXT", "RUN", "STATE"]

    zh_rows = json.loads(cli(home, "jobs", "--json", env=ZH).stdout)
    en_rows = json.loads(cli(home, "jobs", "--json", env=EN).stdout)
    assert zh_rows == en_rows
    hello = next(row for row in zh_rows if row["id"] == "hello")
    assert hello["state"] == "active" and "Jan" in hello["schedule"]  # words a row carries: English


def test_run_job_and_history_in_chinese(home: Path) -> None:
    ran = cli(home, "run-job", "hello", env=ZH)
    assert ran.returncode == 0, ran.stderr
    assert "任务 hello：执行记录 1 成功，耗时 " in ran.stdout
    assert "没有运行中的守护进程：在本进程中运行" in ran.stdout

    zh = cli(home, "history", env=ZH)
    assert zh.returncode == 0, zh.stderr
    head, _rule, row = table(zh.stdout, "编号")
    assert head.split() == [
        "编号",
        "任务",
        "触发方式",
        "状态",
        "业务日期",
        "开始时间（UTC）",
        "耗时",
        "发起人",
        "错误",
    ]
    assert row.split()[:4] == ["1", "hello", "manual", "成功"]
    en = cli(home, "history", env=EN)
    assert en.stdout.splitlines()[2].split()[:4] == ["1", "hello", "manual", "success"]

    zh_json = cli(home, "history", "--json", env=ZH).stdout
    assert zh_json == cli(home, "history", "--json", env=EN).stdout
    assert json.loads(zh_json)[0]["status"] == "success"


def test_check_config_in_chinese_and_a_language_there_is_none_for(home: Path) -> None:
    zh = cli(home, "check-config", env=ZH)
    assert zh.returncode == 0, zh.stderr
    lines = zh.stdout.splitlines()
    assert lines[0] == "设置：" and "  SCHEDULER_LANG = zh_CN" in lines
    assert any(line.startswith("任务（") and "覆盖配置来自" in line for line in lines)
    assert lines[-1] == "配置正确"
    assert cli(home, "check-config", env=EN).stdout.splitlines()[-1] == "configuration OK"

    fr = cli(home, "check-config", env={"SCHEDULER_LANG": "fr"})
    assert fr.returncode == 2
    assert fr.stderr.splitlines() == ["error: SCHEDULER_LANG='fr' is not a language here: use zh_CN or en"]


def test_an_error_the_cli_writes_is_chinese_after_the_english_prefix(home: Path) -> None:
    zh = cli(home, "logs", "1", "--tail", "1", "--bytes", "1", env=ZH)
    assert zh.returncode == 2
    (line,) = zh.stderr.splitlines()
    assert line.startswith("error: ") and line.endswith(
        " logs：--tail 和 --bytes 不能同时使用（参见 --help）"
    )
    en = cli(home, "logs", "1", "--tail", "1", "--bytes", "1", env=EN)
    assert en.stderr.strip().endswith(" logs: --tail and --bytes exclude each other (see --help)")
    missing = cli(home, "logs", "5", env=ZH)
    assert (missing.returncode, missing.stderr) == (1, "error: 没有执行记录 5（尚无数据库）\n")


def test_the_locale_chooses_without_scheduler_lang_and_a_dotenv_wins_over_it(home: Path) -> None:
    chinese_locale = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}
    assert cli(home, "status", env=chinese_locale).stdout.splitlines()[0] == "调度器：未运行"
    english_locale = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"}
    assert cli(home, "status", env=english_locale).stdout.splitlines()[0] == "scheduler: not running"
    (home / ".env").write_text("SCHEDULER_LANG=zh_CN\n")
    assert cli(home, "check-config", env=english_locale).stdout.splitlines()[-1] == "配置正确"
