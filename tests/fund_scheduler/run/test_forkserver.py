"""The fork server (fund_scheduler.run.forkserver, .zygote): Python job runs forked from a
pre-imported process, with the isolation of an exec'd run. Real processes, signals and a SQLite
history; nothing is mocked."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from fund_scheduler.jobs.registry import load_registry
from fund_scheduler.run.forkserver import ForkServer
from fund_scheduler.run.process import process_alive, run_identity
from fund_scheduler.run.runner import ExecutionResult, Runner
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from tests.support.harness import wait_for
from tests.support.packages import job_package
from tests.support.schema import scheduler_db

SOURCE = """
import json, os, subprocess, sys, time
from pathlib import Path
from fund_scheduler.jobs import scheduled

def _facts(ctx):
    return {"pid": os.getpid(), "ppid": os.getppid(), "pgid": os.getpgid(0), "sid": os.getsid(0),
            "cwd": os.getcwd(), "run_date": str(ctx.run_date), "preloaded": "fsz_heavy" in sys.modules,
            "param": os.environ.get("SCHEDULER_PARAMS")}

@scheduled(id="facts", name="facts", cron="0 3 * * *")
def facts(ctx):
    print("hello from the run", flush=True)
    ctx.logger.info("a log line of the run")
    return _facts(ctx)

@scheduled(id="fresh", name="fresh", cron="0 3 * * *", fresh_interpreter=True)
def fresh(ctx):
    return _facts(ctx)

@scheduled(id="fails", name="fails", cron="0 3 * * *")
def fails(ctx):
    raise RuntimeError("the job's own failure")

@scheduled(id="hangs", name="hangs", cron="0 3 * * *", timeout=3)
def hangs(ctx):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    Path(os.environ["FSZ_MARK"]).write_text(str(child.pid))
    time.sleep(120)

@scheduled(id="waits", name="waits", cron="0 3 * * *")
def waits(ctx):
    mark = Path(os.environ["FSZ_MARK"])
    mark.write_text(str(os.getpid()))
    while mark.exists():
        time.sleep(0.05)
    return _facts(ctx)
"""


@pytest.fixture(scope="module")
def package():
    with job_package("fsz_jobs", SOURCE) as where:
        (where / "fsz_jobs" / "__init__.py").write_text('PRELOAD = ("fsz_heavy",)\n')
        (where / "fsz_heavy.py").write_text("LOADED = True\n")
        yield where


@pytest.fixture
def runner(package, tmp_path, monkeypatch):
    monkeypatch.setenv("SCHEDULER_HOME", str(tmp_path))
    monkeypatch.setenv("FSZ_MARK", str(tmp_path / "mark"))
    settings = Settings.from_env()
    registry = load_registry(
        settings.jobs_packages, settings.jobs_config, settings.timezone, settings.environ
    )
    assert not registry.problems
    runner = Runner(settings, registry, scheduler_db(f"sqlite:///{tmp_path}/s.db"))
    runner.fork_server = ForkServer()
    runner.fork_server.start()
    yield runner
    runner.close()


def _facts(result: ExecutionResult, runner: Runner) -> dict:
    import json

    tail = history.get(runner.engine, result.execution_id)["output_tail"]
    line = next(line for line in tail.splitlines() if line.startswith("result: "))
    return json.loads(line.removeprefix("result: "))


def _in_background(runner: Runner, job_id: str) -> tuple[threading.Thread, list[ExecutionResult]]:
    results: list[ExecutionResult] = []
    thread = threading.Thread(target=lambda: results.append(runner.run(job_id)), daemon=True)
    thread.start()
    return thread, results


def test_a_python_run_is_forked_from_the_server_into_a_session_of_its_own(runner, tmp_path):
    result = runner.run("facts", asked={"params": {"day": "2026-12-01"}})
    assert (result.status, result.exit_code) == ("success", 0)
    facts = _facts(result, runner)
    assert facts["ppid"] == runner.fork_server.pid != os.getpid()  # forked, not a new interpreter
    assert facts["preloaded"] is True  # the package's PRELOAD was imported before the fork
    assert facts["pgid"] == facts["sid"] == facts["pid"]  # its own session and process group
    assert Path(facts["cwd"]) == runner.settings.workdir
    assert facts["run_date"] == str(result.run_date)
    assert facts["param"] == '{"day": "2026-12-01"}'
    assert history.get(runner.engine, result.execution_id)["pid"] == facts["pid"]
    log = runner.run_log_path("facts", result.execution_id).read_text()
    assert "hello from the run" in log
    assert f"job=facts execution={result.execution_id} jobs.facts: a log line of the run" in log
    assert log.index("hello from the run") < log.index("result: ")


def test_a_failing_forked_run_is_failed_with_its_traceback(runner):
    result = runner.run("fails")
    assert (result.status, result.exit_code) == ("failed", 1)
    log = runner.run_log_path("fails", result.execution_id).read_text()
    assert "RuntimeError: the job's own failure" in log and "Traceback" in log


def test_a_job_asking_for_a_fresh_interpreter_is_not_forked(runner):
    result = runner.run("fresh")
    assert result.status == "success"
    facts = _facts(result, runner)
    assert facts["ppid"] == os.getpid()  # started by this process (exec JOB), not the server
    assert facts["preloaded"] is False
    assert facts["pgid"] == facts["pid"]


def test_a_forked_run_past_its_timeout_has_its_whole_group_killed(runner, tmp_path):
    thread, results = _in_background(runner, "hangs")
    mark = tmp_path / "mark"
    wait_for(lambda: mark.exists() and mark.read_text(), 15, "the run's own child started")
    grandchild = int(mark.read_text())
    thread.join(20)
    [result] = results
    assert result.status == "timeout" and "process group killed" in result.error
    wait_for(lambda: not process_alive(grandchild), 5, "the grandchild killed with its group")


def test_a_forked_run_names_its_execution_and_owner_and_can_be_cancelled(runner, tmp_path):
    thread, results = _in_background(runner, "waits")
    mark = tmp_path / "mark"
    wait_for(lambda: mark.exists() and mark.read_text(), 15, "the run started")
    pid = int(mark.read_text())
    [row] = history.running_rows(runner.engine)
    proc = psutil.Process(pid)
    assert run_identity(proc) == (row["id"], os.getpid())  # what reap_orphans reads after a crash
    assert (
        " ".join(filter(None, proc.cmdline()))
        == f"fund-scheduler run job=waits execution={row['id']} owner={os.getpid()}"
    )
    assert runner.cancel(row["id"], "tester")
    thread.join(15)
    [result] = results
    assert (result.status, result.error) == ("cancelled", "cancelled by tester; process group ended")
    mark.unlink()


def test_a_run_outlives_a_killed_server_and_the_next_run_gets_a_new_one(runner, tmp_path):
    first_server = runner.fork_server.pid or 0
    wait_for(lambda: runner.fork_server._ready.is_set(), 30, "the fork server ready")
    thread, results = _in_background(runner, "waits")
    mark = tmp_path / "mark"
    wait_for(lambda: mark.exists() and mark.read_text(), 15, "the run started")
    os.kill(runner.fork_server.pid or 0, signal.SIGKILL)
    wait_for(lambda: not process_alive(first_server), 5, "the server dead")
    mark.unlink()  # the run ends normally and reports its own exit status
    thread.join(15)
    [result] = results
    assert (result.status, result.exit_code) == ("success", 0)

    after = runner.run("facts")
    assert after.status == "success"
    assert runner.fork_server.starts == 2
    assert _facts(after, runner)["ppid"] == runner.fork_server.pid != first_server


def test_a_run_killed_while_its_server_is_dead_is_failed_with_the_reason(runner, tmp_path):
    thread, results = _in_background(runner, "waits")
    mark = tmp_path / "mark"
    wait_for(lambda: mark.exists() and mark.read_text(), 15, "the run started")
    os.kill(runner.fork_server.pid or 0, signal.SIGKILL)
    time.sleep(0.2)
    os.kill(int(mark.read_text()), signal.SIGKILL)
    thread.join(15)
    [result] = results
    assert result.status == "failed"
    assert result.error == "its fork server died while it ran; its exit status is unknown"
    mark.unlink()


def test_changed_code_on_disk_retires_the_server(runner, package):
    assert _facts(runner.run("facts"), runner)["ppid"] == runner.fork_server.pid
    module = package / "fsz_jobs" / "jobs.py"
    stamp = module.stat().st_mtime + 10
    os.utime(module, (stamp, stamp))  # a deployment

    fallback = runner.run("facts")  # this run starts the exec way: the new code, right away
    assert fallback.status == "success"
    assert _facts(fallback, runner)["ppid"] == os.getpid()
    later = runner.run("facts")  # and the next from a fresh server that imported the new code
    assert runner.fork_server.starts == 2
    assert _facts(later, runner)["ppid"] == runner.fork_server.pid


def test_the_server_exits_once_the_runner_closes_it(runner):
    runner.run("facts")
    pid = runner.fork_server.pid
    runner.close()
    assert pid is not None and not process_alive(pid)
    assert runner.run("facts").status == "success"  # closed: runs start the exec way


def test_a_run_cancelled_before_its_process_exists_is_ended_as_it_starts(runner, tmp_path):
    """While the fork server starts (importing the job code) a run has its row but no process:
    a cancel then is not lost."""
    runner.close()
    runner.fork_server = ForkServer()  # not started: the run below waits for it to be ready
    started = threading.Event()
    thread = threading.Thread(
        target=lambda: results.append(runner.run("waits", on_started=lambda _id: started.set())), daemon=True
    )
    results: list[ExecutionResult] = []
    thread.start()
    assert started.wait(10)
    [row] = history.running_rows(runner.engine)
    assert runner.cancel(row["id"], "tester")
    thread.join(30)
    [result] = results
    assert (result.status, result.error) == ("cancelled", "cancelled by tester; process group ended")
    assert not (tmp_path / "mark").exists() or process_alive(int((tmp_path / "mark").read_text())) is False
