"""The runner (fund_scheduler.run.runner) when its own side fails: a job log it cannot write (a
real ENOSPC from /dev/full, a log folder under a regular file) and exceptions between the
``running`` row and its end. Real child processes on a SQLite history; nothing is mocked."""

from __future__ import annotations

import os
import sys

import psutil
import pytest

from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.run.runner import Runner
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from tests.support.schema import scheduler_db

EVERY_DAY = {"minute": "0", "hour": "3"}


def _runner(tmp_path, log_dir=None, **specs: JobSpec) -> Runner:
    env = {"SCHEDULER_HOME": str(tmp_path)}
    if log_dir is not None:
        env["SCHEDULER_LOG_DIR"] = str(log_dir)
    engine = scheduler_db(f"sqlite:///{tmp_path}/s.db")
    return Runner(Settings.from_env(env), Registry(specs=specs), engine)


def _echo(job_id: str = "echo") -> JobSpec:
    return JobSpec(id=job_id, name=job_id, schedule=EVERY_DAY, command=(sys.executable, "-c", "print('hi')"))


def test_a_job_log_on_a_full_disk_fails_the_run_with_the_reason_and_is_retried(tmp_path) -> None:
    runner = _runner(tmp_path, echo=_echo())
    finished: list[dict] = []
    runner.on_finished.append(finished.append)
    first, log = runner.run_log_path("echo", 1), runner.run_log_path("echo", 2)  # a fresh history
    log.parent.mkdir(parents=True)
    first.symlink_to("/dev/full")  # every write: ENOSPC, as on a full disk
    log.symlink_to("/dev/full")

    result = runner.run("echo")

    reason = f"cannot write {first}: No space left on device; run not started"
    assert (result.execution_id, result.status, result.error) == (1, "failed", reason)
    row = history.get(runner.engine, result.execution_id)
    assert (row["status"], row["error"], row["finished_at"] is not None) == ("failed", reason, True)
    assert [(r["id"], r["status"]) for r in finished] == [(result.execution_id, "failed")]  # alerts, metrics
    assert runner.run("echo").status == "failed"
    [problem] = runner.log_problems()  # retried: still full
    assert problem.startswith(f"job echo: cannot write {log}: No space left on device (since ")
    assert problem.endswith("; runs not started: 2)")

    log.unlink()  # space again: the retry writes the last refused run's log
    assert runner.log_problems() == []
    assert "written again; it could not be from " in log.read_text()
    assert log.read_text().endswith("; runs not started: 2 ===\n")
    ok = runner.run("echo")
    assert (ok.status, history.get(runner.engine, ok.execution_id)["output_tail"]) == ("success", "hi\n")
    assert runner.run_log_path("echo", ok.execution_id).read_text().endswith(" ===\nhi\n")


def test_a_log_folder_under_a_regular_file_fails_the_run_naming_it(tmp_path) -> None:
    (tmp_path / "not-a-folder").write_text("")
    runner = _runner(tmp_path, log_dir=tmp_path / "not-a-folder" / "logs", echo=_echo())
    result = runner.run("echo")
    log = runner.run_log_path("echo", result.execution_id)
    assert result.status == "failed"
    assert result.error == f"cannot write {log}: Not a directory; run not started"
    assert history.get(runner.engine, result.execution_id)["status"] == "failed"
    assert [p.split(" (since")[0] for p in runner.log_problems()] == [
        f"job echo: cannot write {log}: Not a directory"
    ]


def test_an_exception_in_the_daemon_during_a_run_finishes_its_row_failed(tmp_path) -> None:
    runner = _runner(tmp_path, echo=_echo())

    def on_started(execution_id: int) -> None:
        raise RuntimeError(f"lost track of execution {execution_id}")

    result = runner.run("echo", on_started=on_started)
    row = history.get(runner.engine, result.execution_id)
    expected = f"run failed in the daemon: RuntimeError: lost track of execution {result.execution_id}"
    assert (row["status"], row["error"]) == ("failed", expected)
    assert "Traceback" in row["output_tail"]


def test_a_thread_job_that_exits_leaves_no_running_row(tmp_path) -> None:
    spec = JobSpec(id="leaves", name="leaves", schedule=EVERY_DAY, func="sys:exit", executor="thread")
    runner = _runner(tmp_path, leaves=spec)
    finished: list[dict] = []
    runner.on_finished.append(finished.append)
    with pytest.raises(SystemExit):  # not a job failure: it goes on up, once the row is finished
        runner.run("leaves")
    [row] = history.recent(runner.engine, job_id="leaves", status=None, limit=5)
    assert row["status"] == "failed" and row["error"].startswith("run failed in the daemon: SystemExit: ")
    assert [r["status"] for r in finished] == ["failed"] and runner.active_count == 0


def test_a_child_is_not_left_behind_when_the_daemon_side_raises_while_it_runs(tmp_path) -> None:
    sleeper = JobSpec(
        id="sleeper",
        name="sleeper",
        schedule=EVERY_DAY,
        command=(sys.executable, "-c", "import os, time; print(os.getpid(), flush=True); time.sleep(60)"),
    )
    runner = _runner(tmp_path, sleeper=sleeper)
    runner.engine.dispose()
    with runner.engine.begin() as conn:  # set_pid's UPDATE fails: not a database outage, a bug
        conn.exec_driver_sql(
            "CREATE TRIGGER no_pid BEFORE UPDATE OF pid ON job_executions "
            "BEGIN SELECT RAISE(ABORT, 'pid column locked'); END"
        )
    result = runner.run("sleeper")
    row = history.get(runner.engine, result.execution_id)
    assert row["status"] == "failed" and "pid column locked" in row["error"]
    assert _children_of(result.execution_id) == []


def _children_of(execution_id: int) -> list[int]:
    """The live processes started by this process for ``execution_id`` (by their environment)."""
    found = []
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
        except psutil.Error:
            continue
        if env.get("SCHEDULER_EXECUTION_ID") == str(execution_id) and env.get("SCHEDULER_OWNER_PID") == str(
            os.getpid()
        ):
            found.append(proc.pid)
    return found
