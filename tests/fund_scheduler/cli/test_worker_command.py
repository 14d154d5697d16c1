"""``worker``: what it refuses before it starts (exit status 2, naming the problem)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.harness import run_cli


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["-Q", "cpu"], {}, "a worker needs SCHEDULER_BROKER_URL"),
        (["-Q", "c p u"], {"SCHEDULER_BROKER_URL": "redis://127.0.0.1:1/0"}, "'c p u' is not a queue name"),
        (["-Q", "cpu", "-n", "a/b"], {"SCHEDULER_BROKER_URL": "redis://127.0.0.1:1/0"}, "not a worker name"),
        (
            ["-Q", "cpu"],
            {"SCHEDULER_BROKER_URL": "redis://127.0.0.1:1/0"},
            "the database is not ready for workers",
        ),
    ],
)
def test_a_worker_refuses_to_start_naming_why(tmp_path: Path, args: list[str], env: dict, says: str) -> None:
    done = run_cli(tmp_path, "worker", *args, env={"SCHEDULER_LANG": "en", **env})
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr


def test_the_worker_speaks_chinese_too(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "worker", "-Q", "cpu", env={"SCHEDULER_LANG": "zh_CN"})
    assert done.returncode == 2 and "工作节点需要 SCHEDULER_BROKER_URL" in done.stderr
