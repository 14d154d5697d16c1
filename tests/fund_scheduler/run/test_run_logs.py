"""Each run's own log (fund_scheduler.run.joblog): in-thread runs' files, the size cap, the
cleanup job's retention and byte ranges cut at a character. Real child processes on SQLite."""

from __future__ import annotations

import os
import sys
import time

from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.run.joblog import LATEST, SizeCap, purge_run_logs, read_chunk
from fund_scheduler.run.runner import Runner
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from tests.support.schema import scheduler_db

EVERY_DAY = {"minute": "0", "hour": "3"}
CLEANUP = "jobs.cleanup_old_job_executions:cleanup_old_job_executions"


def _runner(tmp_path, env: dict[str, str] | None = None, **specs: JobSpec) -> Runner:
    settings = Settings.from_env({"SCHEDULER_HOME": str(tmp_path), **(env or {})})
    return Runner(settings, Registry(specs=specs), scheduler_db(f"sqlite:///{tmp_path}/s.db"))


def _thread_job(ctx):
    ctx.logger.warning("working on %s", ctx.job_id)
    return {"done": True}


def test_an_in_thread_run_logs_its_records_and_result_to_its_own_file(tmp_path) -> None:
    func = f"{__name__}:_thread_job"
    spec = JobSpec(id="light", name="light", schedule=EVERY_DAY, func=func, executor="thread")
    runner = _runner(tmp_path, light=spec)
    result = runner.run("light")
    assert result.status == "success"
    lines = runner.run_log_path("light", result.execution_id).read_text().splitlines()
    assert f"job=light execution={result.execution_id} trigger=schedule ===" in lines[0]
    assert lines[1].endswith("WARNING jobs.light: working on light")
    assert lines[2:] == ['result: {"done": true}']


def test_a_run_log_above_its_cap_keeps_its_head_a_cut_line_and_its_newest_output(tmp_path) -> None:
    # 4,000 lines of 100 bytes, flushed as they come, within a cap of 64 KiB.
    code = "import sys\nfor i in range(4000): sys.stdout.write(f'{i:06d}' + 'x' * 93 + '\\n')"
    spec = JobSpec(id="loud", name="loud", schedule=EVERY_DAY, command=(sys.executable, "-c", code))
    runner = _runner(tmp_path, {"SCHEDULER_JOB_LOG_MAX_BYTES": "65536"}, loud=spec)
    result = runner.run("loud")
    assert result.status == "success"
    data = runner.run_log_path("loud", result.execution_id).read_bytes()
    assert len(data) <= 65536
    assert data.startswith(b"=== ") and b"\n000000xxx" in data[:200]
    assert data.count(b" bytes cut (SCHEDULER_JOB_LOG_MAX_BYTES=65536) ===\n") == 1
    assert data.endswith(b"003999" + b"x" * 93 + b"\n")  # the newest output is kept
    assert history.get(runner.engine, result.execution_id)["output_tail"].endswith("x\n")


def test_size_cap_counts_every_byte_cut(tmp_path) -> None:
    path = tmp_path / "1.log"
    path.write_bytes(b"a" * 3000)
    cap = SizeCap(path, 1000)
    assert cap.apply() == 3000 - 500 - 300
    with open(path, "ab") as f:
        f.write(b"b" * 2000)
    cut = cap.apply()
    data = path.read_bytes()
    assert len(data) <= 1000 and data.startswith(b"a" * 500) and data.endswith(b"b" * 300)
    assert f"=== {cut} bytes cut".encode() in data
    assert cut == 5000 - 500 - 300  # everything but the head and the kept tail, over both cuts


def test_the_cleanup_job_deletes_run_logs_older_than_the_retention(tmp_path) -> None:
    echo = JobSpec(id="echo", name="echo", schedule=EVERY_DAY, command=(sys.executable, "-c", "print(1)"))
    cleanup = JobSpec(id="cleanup", name="cleanup", schedule=EVERY_DAY, func=CLEANUP, executor="thread")
    runner = _runner(tmp_path, {"HISTORY_RETENTION_DAYS": "7"}, echo=echo, cleanup=cleanup)
    old, new = runner.run("echo").execution_id, runner.run("echo").execution_id
    old_log, new_log = runner.run_log_path("echo", old), runner.run_log_path("echo", new)
    eight_days_ago = time.time() - 8 * 86400
    os.utime(old_log, (eight_days_ago, eight_days_ago))
    legacy = runner.settings.job_log_dir / "echo.log.1"  # an earlier version's rotated per-job log
    legacy.write_text("old\n")
    os.utime(legacy, (eight_days_ago, eight_days_ago))

    done = runner.run("cleanup")

    assert done.status == "success"
    assert not old_log.exists() and not legacy.exists()
    assert new_log.read_text().endswith("\n1\n")
    assert '"removed_job_logs": 2' in history.get(runner.engine, done.execution_id)["output_tail"]
    assert (old_log.parent / LATEST).resolve() == new_log


def test_purge_removes_a_latest_link_left_pointing_at_nothing(tmp_path) -> None:
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "5.log").write_text("x")
    (folder / LATEST).symlink_to("5.log")
    assert purge_run_logs(tmp_path, time.time() + 60) == 1
    assert list(folder.iterdir()) == []


def test_a_chunk_of_a_running_run_stops_before_a_character_not_all_written(tmp_path) -> None:
    path = tmp_path / "1.log"
    path.write_bytes("ab\u00e9".encode()[:3])  # "ab" and the first byte of "é"
    chunk = read_chunk(path, 0, final=False)
    assert (chunk.text, chunk.next_offset, chunk.size) == ("ab", 2, 3)
    with open(path, "ab") as f:
        f.write("\u00e9\x1b[31m".encode()[1:])
    chunk = read_chunk(path, chunk.next_offset, final=True)
    assert chunk.text == "\u00e9\\x1b[31m"  # control characters escaped
    assert read_chunk(path, tail=2).text == "1m"
