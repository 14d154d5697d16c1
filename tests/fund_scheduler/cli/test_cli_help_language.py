"""``--help`` in the language in effect: SCHEDULER_LANG=zh_CN gives Chinese descriptions, option help,
command lists and click's own words, the option and command names as they are; English is click's
own output, unchanged.

The real CLI in a child process (and, to go over every command quickly, in this process through
click's test runner), nothing mocked."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import click
import pytest
from click.formatting import wrap_text
from click.testing import CliRunner

from fund_common import i18n
from fund_common.texttable import width
from fund_scheduler.cli.app import cli
from fund_scheduler.cli.help_text import help_texts, wrap
from tests.support.harness import run_cli

#: ``history --help`` in English at 80 columns as it was before the help was translated.
HISTORY_HELP_EN = """\
Usage: scheduler_daemon.py history [OPTIONS]

  Recent executions, newest first: id, job, trigger, status, the business date
  it was for, start, duration, who asked for it (a manual run, a backfill),
  error. ``--json`` carries every column, the run's parameters too.

Options:
  --job TEXT                      Only this job's runs.
  --status [success|failed|timeout|interrupted|cancelled|missed|skipped|blocked|coalesced|running|queued]
                                  Only runs that ended so.
  --limit INTEGER RANGE           At most this many rows.  [default: 20; x>=1]
  --json                          Print the rows as JSON (with their output
                                  tail).
  -h, --help                      Show this message and exit.

  Exit status: 0; 2 an unknown job or status, or a limit below 1.
"""


def cli_help(home: Path, *args: str, lang: str) -> subprocess.CompletedProcess:
    """``scheduler_daemon.py ARGS`` in ``lang`` at 80 columns, no settings of this machine's."""
    return run_cli(home, *args, env={"SCHEDULER_LANG": lang, "COLUMNS": "80"})


def test_the_command_list_speaks_chinese(tmp_path: Path) -> None:
    result = cli_help(tmp_path / "home", "--help", lang="zh_CN")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("用法：scheduler_daemon.py [OPTIONS] COMMAND [ARGS]...\n")
    assert "\n  fund-scheduler：任务调度守护进程，运行基金数据管道及任意命令。\n" in out
    assert "  --version   显示版本并退出。\n  -h, --help  显示此帮助并退出。\n" in out
    rows = out.split("\n命令：\n")[1].split("\n\n")[0].splitlines()
    commands = dict(row.split(maxsplit=1) for row in rows)
    assert list(commands)[:3] == ["run", "start", "stop"] and "exec" not in commands
    assert commands["pause"] == "通过运行中的守护进程暂停 JOB；重启后仍保持暂停。"
    assert commands["start"] == "在后台启动守护进程，就绪后返回（最多 15 秒）。"
    assert commands["history"].startswith("最近的执行记录，最新的在前") and commands["history"].endswith("…")
    assert max(width(row) for row in rows) <= 78
    assert "退出状态：0 成功；1 失败" in out


def test_history_help_in_chinese_keeps_the_option_names(tmp_path: Path) -> None:
    result = cli_help(tmp_path / "home", "history", "--help", lang="zh_CN")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "用法：scheduler_daemon.py history [OPTIONS]"
    assert lines[2].startswith("  最近的执行记录，最新的在前：ID、任务、触发方式、状态")
    assert "``--json`` 包含所有列，包括运行参数。" in "".join(line.strip() for line in lines)
    options = result.stdout.split("\n选项：\n")[1]
    assert "  --job TEXT                      只显示此任务的运行。\n" in options
    assert "  --limit INTEGER RANGE           最多显示的行数。  [默认：20; x>=1]\n" in options
    assert "  --json                          以 JSON 打印各行（包括输出末尾）。\n" in options
    assert "  -h, --help                      显示此帮助并退出。\n" in options
    assert (
        "[success|failed|timeout|interrupted|cancelled|missed|skipped|blocked|coalesced|running|queued]"
        in options
    )
    assert "退出状态：0；2 未知任务或状态，或数量小于 1。" in options


def test_english_help_is_unchanged(tmp_path: Path) -> None:
    result = cli_help(tmp_path / "home", "history", "--help", lang="en")
    assert (result.returncode, result.stdout) == (0, HISTORY_HELP_EN)


def _every_command(group: click.Group, ctx: click.Context) -> list[list[str]]:
    paths = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        paths.append([name])
        if isinstance(command, click.Group):
            sub = click.Context(command, info_name=name, parent=ctx)
            paths += [[name, *path] for path in _every_command(command, sub)]
    return paths


def test_every_commands_help_is_chinese_and_fits_the_terminal() -> None:
    runner = CliRunner()
    ctx = click.Context(cli, info_name="fund-scheduler")
    with i18n.use("zh_CN"):
        for path in [[], *_every_command(cli, ctx)]:
            result = runner.invoke(cli, [*path, "--help"], prog_name="fund-scheduler")
            assert result.exit_code == 0, (path, result.output)
            lines = result.output.splitlines()
            assert lines[0].startswith("用法：fund-scheduler"), path
            assert "选项：" in lines and "显示此帮助并退出。" in result.output, path
            description = lines[2]
            assert re.search(r"[\u4e00-\u9fff]", description), (path, description)
            for line in lines:
                assert width(line) <= 80 or line.startswith("  --status ["), (path, line)
                assert not re.match(r"\s*[，。、；：）]", line), (path, line)


def test_help_texts_covers_hidden_and_nested_commands() -> None:
    texts = [text for text, _command in help_texts(cli, click.Context(cli, info_name="fund-scheduler"))]
    assert "Internal: run one Python job in this process (the daemon's child)." in texts  # hidden exec
    assert "Upgrade to this revision." in texts  # db upgrade's option
    assert "Show this message and exit." in texts
    assert all("\f" not in text and text == text.strip() for text in texts)


@pytest.mark.parametrize(
    "text",
    [
        "Recent executions, newest first: id, job, trigger, status, the business date it was for,\n"
        "start, duration.\n\n  An indented paragraph that goes on long enough to wrap twice over the width.",
        "Before.\n\n\b\nkept   as\n  it is\n\nAfter: two  spaces stay.",
    ],
)
def test_wrap_fills_english_as_click_does(text: str) -> None:
    for columns in (30, 78):
        assert wrap(text, columns, "  ", "  ", paragraphs=True) == wrap_text(text, columns, "  ", "  ", True)


def test_wrap_counts_columns_and_keeps_punctuation_with_its_text() -> None:
    text = "运行守护进程（前台），日志写到 stderr 和 logs/scheduler.log。这是一个很长的句子，用来测试换行。"
    assert wrap(text, 20, "  ", "  ").splitlines() == [
        "  运行守护进程（前",
        "  台），日志写到",  # no line starts with ）or ，
        "  stderr 和",
        "  logs/scheduler.log。",  # a word wider than the line stays whole
        "  这是一个很长的句",
        "  子，用来测试换行。",
    ]
    assert wrap("\b\n第一行\n  第二行\n\n第三段", 10, paragraphs=True) == "第一行\n  第二行\n\n第三段"
