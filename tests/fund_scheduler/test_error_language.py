"""Errors a person reads speak the language in effect; ``str(exc)`` (log files) stays English.

The messages themselves, then the three places they are shown: the CLI's ``error:`` line (a child
process), the control socket's reply (the asking client's language wins over the daemon's) and
the HTTP API's error JSON (the request's Accept-Language). Real parts, nothing mocked."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests as http

from fund_common import i18n
from fund_common.envreader import EnvReader
from fund_scheduler.api.control import request
from fund_scheduler.errors import ConfigError, SchedulerError, UnknownJobError, shown
from fund_scheduler.jobs.params import Param, ParamError, check_run_date, validate_params
from tests.support.harness import FAR_AWAY, TEST_CALENDARS, run_cli
from tests.support.inprocess import InProcessDaemon

OPERATOR = "errors-operator-token-0123456789"


# -- the messages ------------------------------------------------------------------------------
def test_unknown_job_is_english_in_str_and_chinese_when_shown() -> None:
    exc = UnknownJobError("nosuch", ["b", "a"])
    with i18n.use("zh_CN"):
        assert str(exc) == "unknown job 'nosuch' (known jobs: a, b)"
        assert exc.shown() == "未知任务 'nosuch'（已知任务：a, b）"
        assert shown(exc) == exc.shown()
    with i18n.use("en"):
        assert exc.shown() == str(exc)
    again = pickle.loads(pickle.dumps(exc))
    assert (again.job_id, str(again)) == ("nosuch", str(exc))


def test_a_nested_param_error_is_shown_whole_in_one_language() -> None:
    with pytest.raises(ParamError) as caught:
        validate_params([Param("limit", type="int")], {"limit": "ten"}, "collect")
    assert str(caught.value) == "job collect: param 'limit' must be a int, got 'ten'"
    with i18n.use("zh_CN"):
        assert caught.value.shown() == "任务 collect：参数 'limit' 必须是 int，收到的是 'ten'"
    with pytest.raises(ParamError) as future:
        check_run_date("collect", date(2026, 12, 5), date(2026, 12, 4))
    assert str(future.value) == "job collect: run date 2026-12-05 is in the future (today is 2026-12-04)"
    with i18n.use("zh_CN"):
        assert future.value.shown() == "任务 collect：运行日期 2026-12-05 在未来（今天是 2026-12-04）"


def test_settings_problems_are_english_lines_shown_translated_line_by_line() -> None:
    env = EnvReader({"SCHEDULER_HTTP_PORT": "http", "RETRIES": "9", "ODD": "sometimes"})
    env.integer("SCHEDULER_HTTP_PORT", 5000, minimum=0, maximum=65535)
    env.integer("RETRIES", 1, maximum=5)
    env.boolean("ODD", False)
    env.problem("a plain line {kept as it is}")
    assert env.problems == [
        "SCHEDULER_HTTP_PORT='http' is not a whole number",
        "RETRIES='9' must be at most 5",
        "ODD='sometimes' is not a boolean (use true or false)",
        "a plain line {kept as it is}",
    ]
    with pytest.raises(ConfigError) as caught:
        env.raise_problems(ConfigError)
    assert str(caught.value) == "\n".join(env.problems)
    with i18n.use("zh_CN"):
        assert caught.value.shown().splitlines() == [
            "SCHEDULER_HTTP_PORT='http' 不是整数",
            "RETRIES='9' 必须至多为 5",
            "ODD='sometimes' 不是布尔值（请用 true 或 false）",
            "a plain line {kept as it is}",
        ]


def test_a_plain_error_is_shown_as_it_is() -> None:
    with i18n.use("zh_CN"):
        assert SchedulerError("no such thing {x}").shown() == "no such thing {x}"
        assert shown(ValueError("bad")) == "bad"


# -- the command line --------------------------------------------------------------------------
def cli(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_cli(home, *args, env={"SCHEDULER_CALENDARS_FILE": str(TEST_CALENDARS), **env})


def test_the_cli_error_line_speaks_scheduler_lang_with_the_same_exit_status(tmp_path: Path) -> None:
    (tmp_path / "jobs.toml").write_text(f'[jobs.hello]\ncron = "{FAR_AWAY}"\ncommand = ["true"]\n')
    zh = cli(tmp_path, "pause", "nosuchjob", env={"SCHEDULER_LANG": "zh_CN"})
    en = cli(tmp_path, "pause", "nosuchjob", env={"SCHEDULER_LANG": "en"})
    assert zh.returncode == en.returncode == 2
    assert zh.stderr.startswith("error: 未知任务 'nosuchjob'（已知任务：") and "hello" in zh.stderr
    assert en.stderr.startswith("error: unknown job 'nosuchjob' (known jobs: ") and "hello" in en.stderr

    bad = {"SCHEDULER_HTTP_PORT": "http"}
    zh = cli(tmp_path, "check-config", env={"SCHEDULER_LANG": "zh_CN", **bad})
    en = cli(tmp_path, "check-config", env={"SCHEDULER_LANG": "en", **bad})
    assert zh.returncode == en.returncode == 2
    assert "error: SCHEDULER_HTTP_PORT='http' 不是整数" in zh.stderr.splitlines()
    assert "error: SCHEDULER_HTTP_PORT='http' is not a whole number" in en.stderr.splitlines()


# -- the control socket and the HTTP API -------------------------------------------------------
@pytest.fixture(scope="module")
def daemon() -> Iterator[InProcessDaemon]:
    root = Path(tempfile.mkdtemp(prefix="fse-"))
    tokens = root / "tokens"
    tokens.write_text(f"alice operator {OPERATOR}\n")
    tokens.chmod(0o600)
    try:
        with InProcessDaemon(root, SCHEDULER_API_TOKENS_FILE=str(tokens)) as d:
            yield d
    finally:
        i18n.set_default(None)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(
    ("daemon_language", "client_language", "expected"),
    [("en", "zh_CN", "没有执行记录 999999"), ("zh_CN", "en", "no execution 999999")],
)
def test_the_control_reply_speaks_the_asking_clients_language(
    daemon: InProcessDaemon, daemon_language: str, client_language: str, expected: str
) -> None:
    i18n.set_default(daemon_language)  # the daemon's own language (its process default)
    try:
        with i18n.use(client_language), pytest.raises(SchedulerError) as caught:
            request(daemon.settings.control_socket, {"cmd": "cancel", "execution_id": 999999})
    finally:
        i18n.set_default(None)
    assert (str(caught.value), caught.value.exit_code) == (expected, 1)


def test_the_api_error_follows_accept_language(daemon: InProcessDaemon) -> None:
    auth = {"Authorization": f"Bearer {OPERATOR}"}
    url = f"{daemon.base}/api/jobs/nosuch/run"
    zh = http.post(url, headers={**auth, "Accept-Language": "zh-CN,zh;q=0.9"}, timeout=10)
    en = http.post(url, headers={**auth, "Accept-Language": "en"}, timeout=10)
    assert zh.status_code == en.status_code == 404
    assert zh.json()["error"].startswith("未知任务 'nosuch'（已知任务：") and "tick" in zh.json()["error"]
    assert en.json()["error"].startswith("unknown job 'nosuch' (known jobs: ")
