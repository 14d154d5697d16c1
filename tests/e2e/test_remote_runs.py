"""Runs on Celery workers across "hosts": a real redis-server, a real MariaDB, a daemon and worker
processes each in a SCHEDULER_HOME of its own, jobs routed by queue. The database decides a run's
state: a redelivered message is dropped, a killed worker's run is interrupted, its orphaned
process group ended and the run retried exactly once, a frozen worker cannot overwrite the
outcome, a remote run is cancelled and timed out with its group killed, a queue nobody consumes
fails the run with an alert."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import Engine

from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from fund_scheduler.workers.app import CeleryPublisher, make_app
from tests.support.harness import FAR_AWAY, SchedulerHome, pid_alive, set_next_run_times, wait_for
from tests.support.redis import start_or_skip
from tests.support.workers import WorkerProcess, pid_in, worker_homes

pytestmark = [pytest.mark.e2e, pytest.mark.mariadb]

#: Fast heartbeats and a short lease: a lost worker is noticed within seconds.
TIMING = {"SCHEDULER_WORKER_HEARTBEAT": "0.3", "SCHEDULER_WORKER_LEASE": "3", "SCHEDULER_LANG": "en"}


def _queue(name: str) -> str:
    """A queue of this test only (the session's broker is shared by the tests one after another)."""
    return f"{name}-{secrets.token_hex(3)}"


def _job(job_id: str, queue: str, script: str, **options: object) -> str:
    lines = [
        f"[jobs.{job_id}]",
        f'cron = "{FAR_AWAY}"',
        f"command = {json.dumps(['/bin/sh', '-c', script])}",
        'executor = "celery"',
        f'queue = "{queue}"',
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


_ENGINES: dict[str, Engine] = {}


@pytest.fixture(autouse=True)
def _release_engines() -> Iterator[None]:
    yield
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


def _engine(home: SchedulerHome) -> Engine:
    """The home's database, read directly (polling through the CLI would cost a process a read)."""
    url = home.database_url
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def _rows(home: SchedulerHome, job_id: str) -> list[dict]:
    return history.recent(_engine(home), job_id=job_id, limit=50)


def _row(home: SchedulerHome, execution_id: int) -> dict:
    row = history.get(_engine(home), execution_id)
    assert row is not None, execution_id
    return row


def _start_run(home: SchedulerHome, job_id: str) -> int:
    started = home.cli("run-job", job_id)
    assert started.returncode == 0, started.stdout + started.stderr
    return int(re.search(r"execution (\d+)", started.stdout)[1])


class RunPids:
    """Where each run of a test's jobs writes its PID: a job's script starts with :attr:`record`."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir()

    @property
    def record(self) -> str:
        return f"echo $$ > {self.folder}/$SCHEDULER_EXECUTION_ID; "

    def of(self, execution_id: int) -> int | None:
        return pid_in(self.folder / str(execution_id))

    def started(self, home: SchedulerHome, job_id: str) -> tuple[int, int]:
        """Start ``job_id`` through ``home``'s daemon; (its execution id, its PID) once it runs."""
        execution_id = _start_run(home, job_id)
        pid = wait_for(lambda: self.of(execution_id), 30, f"{job_id} running")
        return execution_id, pid


def _start_daemon(home: SchedulerHome) -> None:
    started = home.cli("start")
    assert started.returncode == 0, started.stdout + started.stderr


def test_runs_go_by_queue_name_their_worker_and_a_redelivery_is_dropped(mariadb_db_url, redis_url, tmp_path):
    cpu, io = _queue("cpu"), _queue("io")
    jobs = _job("crunch", cpu, "echo crunching on $SCHEDULER_EXECUTION_ID") + _job(
        "fetch", io, "echo fetching"
    )
    jobs += _job("collect", cpu, "echo collected $SCHEDULER_RUN_DATE").replace(FAR_AWAY, "0 19 * * mon-fri")
    with worker_homes(mariadb_db_url, redis_url, jobs, TIMING, 2) as (daemon, host1, host2):
        _start_daemon(daemon)
        w1 = WorkerProcess(host1, "cpu1", cpu).start()
        w2 = WorkerProcess(host2, "io1", io).start()
        try:
            for job_id in ("crunch", "fetch"):
                done = daemon.cli("run-job", job_id, "--wait")
                assert done.returncode == 0, done.stdout + done.stderr
            [listed] = daemon.history("--job", "crunch")  # what history --json shows
            assert (listed["worker"], listed["queue"], listed["executor"]) == (w1.node, cpu, "celery")
            crunch, fetch = _rows(daemon, "crunch")[0], _rows(daemon, "fetch")[0]
            assert (crunch["status"], crunch["worker"], crunch["queue"]) == ("success", w1.node, cpu)
            assert (fetch["status"], fetch["worker"], fetch["queue"]) == ("success", w2.node, io)
            assert crunch["executor"] == "celery" and crunch["queued_at"] <= crunch["started_at"]
            assert f"crunching on {crunch['id']}" in crunch["output_tail"]
            # The run's log is on the worker's host, and shipped: `logs` reads it on any host.
            assert "crunching" in host1.run_log("crunch", crunch["id"]).read_text()
            assert not daemon.run_log("crunch", crunch["id"]).exists()
            shown = daemon.cli("logs", str(crunch["id"]))
            assert shown.returncode == 0 and f"crunching on {crunch['id']}" in shown.stdout, shown.stderr
            # status, the API's view and /metrics list the workers and the queues.
            status = daemon.cli("status")
            assert w1.node in status.stdout and cpu in status.stdout, status.stdout
            report = json.loads(daemon.cli("status", "--json").stdout)["remote"]
            assert {w["name"]: w["alive"] for w in report["workers"]} == {w1.node: True, w2.node: True}
            queues = {q["name"]: q for q in report["queues"]}
            assert queues[cpu]["workers"] == [w1.node] and queues[cpu]["at_broker"] == 0

            # The same message again (what a broker's redelivery is): dropped, the row unchanged.
            settings = Settings.from_env(daemon.env)
            publisher = CeleryPublisher(make_app(settings, SimpleNamespace(specs={})))
            publisher.send(crunch["id"], cpu, None)
            publisher.close()
            wait_for(lambda: "message dropped" in w1.text(), 20, "the redelivery dropped")
            again = _row(daemon, crunch["id"])
            assert (again["status"], again["finished_at"]) == ("success", crunch["finished_at"])
            assert len(_rows(daemon, "crunch")) == 1

            # A backfill's runs go to the workers like any other, each for its business date.
            done = daemon.cli("backfill", "collect", "--from", "2026-11-20", "--to", "2026-11-24")
            assert done.returncode == 0 and "done (3 done, 0 failed" in done.stdout, done.stdout + done.stderr
            backfilled = sorted(_rows(daemon, "collect"), key=lambda r: r["run_date"])
            assert [(r["trigger"], str(r["run_date"]), r["worker"]) for r in backfilled] == [
                ("backfill", day, w1.node) for day in ("2026-11-20", "2026-11-23", "2026-11-24")
            ]
            assert "collected 2026-11-23" in backfilled[1]["output_tail"]
        finally:
            w1.stop()
            w2.stop()
        assert w1.process is not None and w1.process.returncode == 0, w1.text()[-3000:]
        password = str(urlsplit(redis_url).password)  # the broker's secret: in no output or log
        logs = [p.read_text(errors="replace") for p in host1.logs.glob("*.log")]
        assert logs and not [text for text in [w1.text(), *logs] if password in text]


def test_kill_9_of_a_worker_mid_run_interrupts_retries_once_and_ends_the_orphan(
    mariadb_db_url, redis_url, tmp_path
):
    queue = _queue("cpu")
    marker, pids = tmp_path / "first-attempt", RunPids(tmp_path / "pids")
    script = pids.record + f"if [ -e {marker} ]; then echo second; exit 0; fi; touch {marker}; exec sleep 120"
    jobs = _job("long_calc", queue, script, retries=1, retry_backoff="1s")
    with worker_homes(mariadb_db_url, redis_url, jobs, TIMING, 2) as (daemon, host1, host2):
        _start_daemon(daemon)
        first = WorkerProcess(host1, "a", queue).start()
        execution_id, orphan = pids.started(daemon, "long_calc")
        second = WorkerProcess(host2, "b", queue).start()
        try:
            first.kill()  # the whole worker, as a crash: the run's own group lives on
            assert pid_alive(orphan)
            wait_for(lambda: _row(daemon, execution_id)["status"] == "interrupted", 30, "run interrupted")
            gone = _row(daemon, execution_id)
            assert "stopped heartbeating" in gone["error"] and first.node in gone["error"]
            wait_for(
                lambda: [r["status"] for r in _rows(daemon, "long_calc")] == ["success", "interrupted"],
                30,
                "the retry succeeded on the other worker",
            )
            retry = _rows(daemon, "long_calc")[0]
            assert (retry["attempt"], retry["first_execution_id"], retry["worker"]) == (
                2,
                execution_id,
                second.node,
            )
            # Restarted, the first worker ends what its previous life left running.
            first = WorkerProcess(host1, "a", queue).start()
            wait_for(lambda: not pid_alive(orphan), 20, "the orphaned process group ended")
            assert len(_rows(daemon, "long_calc")) == 2  # exactly one retry
        finally:
            first.stop()
            second.stop()


def test_a_worker_frozen_past_its_lease_cannot_overwrite_the_outcome(mariadb_db_url, redis_url, tmp_path):
    queue = _queue("cpu")
    pids = RunPids(tmp_path / "pids")
    jobs = _job("nightly", queue, pids.record + "sleep 4; echo finished")
    with worker_homes(mariadb_db_url, redis_url, jobs, TIMING, 1) as (daemon, host):
        _start_daemon(daemon)
        worker = WorkerProcess(host, "frozen", queue).start()
        try:
            execution_id, _pid = pids.started(daemon, "nightly")
            worker.signal_all(signal.SIGSTOP)
            wait_for(lambda: _row(daemon, execution_id)["status"] == "interrupted", 30, "run given up")
            worker.signal_all(signal.SIGCONT)
            wait_for(lambda: "its outcome is dropped" in worker.text(), 30, "the late outcome dropped")
            row = _row(daemon, execution_id)
            assert row["status"] == "interrupted" and "stopped heartbeating" in row["error"]
        finally:
            worker.stop()


def test_a_remote_run_is_cancelled_and_timed_out_with_its_group_killed(mariadb_db_url, redis_url, tmp_path):
    queue = _queue("cpu")
    pids = RunPids(tmp_path / "pids")
    sleeper = pids.record + "sh -c 'sleep 120' & exec sleep 120"
    jobs = _job("stuck", queue, sleeper, timeout=2) + _job("manual_long", queue, sleeper)
    with worker_homes(mariadb_db_url, redis_url, jobs, TIMING, 1) as (daemon, host):
        _start_daemon(daemon)
        worker = WorkerProcess(host, "c", queue, concurrency=2).start()
        try:
            timed_out = daemon.cli("run-job", "stuck", "--wait")
            assert timed_out.returncode != 0
            row = _rows(daemon, "stuck")[0]
            assert row["status"] == "timeout" and "process group killed" in row["error"]
            assert not pid_alive(pids.of(row["id"]) or 0)

            execution_id, leader = pids.started(daemon, "manual_long")
            cancelled = daemon.cli("cancel", str(execution_id))
            assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
            wait_for(lambda: _row(daemon, execution_id)["status"] == "cancelled", 30, "run cancelled")
            assert _row(daemon, execution_id)["cancelled_by"]
            wait_for(lambda: not pid_alive(leader), 10, "its process group ended")
        finally:
            worker.stop()


def test_a_queue_nobody_consumes_fails_the_run_and_alerts(mariadb_db_url, redis_url, hook):
    jobs = _job("orphan_queue", _queue("nobody"), "echo never")
    env = {**TIMING, "SCHEDULER_QUEUE_TIMEOUT": "2", "ALERT_WEBHOOK_URL": hook.url}
    with worker_homes(mariadb_db_url, redis_url, jobs, env, 0) as (daemon,):
        _start_daemon(daemon)
        done = daemon.cli("run-job", "orphan_queue", "--wait")
        assert done.returncode != 0
        row = _rows(daemon, "orphan_queue")[0]
        assert row["status"] == "failed" and "no worker consumed queue nobody-" in row["error"]
        posts = hook.wait(1)
        assert "no worker consumed queue" in json.dumps(posts[0]["json"], ensure_ascii=False)


def test_a_broker_restart_loses_nothing(mariadb_db_url, tmp_path):
    broker = start_or_skip()  # a broker of this test alone: restarted under the runs
    queue = _queue("cpu")
    gate = tmp_path / "gate"
    jobs = _job("hold", queue, f"while [ ! -e {gate} ]; do sleep 0.1; done; echo released") + _job(
        "quick", queue, "echo quick"
    )
    try:
        with worker_homes(mariadb_db_url, broker.url, jobs, TIMING, 1) as (daemon, host):
            _start_daemon(daemon)
            worker = WorkerProcess(host, "r", queue).start()
            try:
                held = _start_run(daemon, "hold")
                wait_for(lambda: _row(daemon, held)["status"] == "running", 30, "the run started")
                broker.restart()  # mid-run: its message is unacknowledged, kept in the append-only file
                gate.touch()
                wait_for(
                    lambda: _row(daemon, held)["status"] == "success", 30, "the run ended after the restart"
                )
                # A run queued while no worker listens survives a restart of the broker too.
                worker.stop()
                waiting = _start_run(daemon, "quick")
                broker.restart()
                worker = WorkerProcess(host, "r", queue).start()
                wait_for(lambda: _row(daemon, waiting)["status"] == "success", 30, "the queued run ran")
                assert [r["status"] for r in _rows(daemon, "hold")] == ["success"]
                assert [r["status"] for r in _rows(daemon, "quick")] == ["success"]
            finally:
                worker.stop()
    finally:
        broker.close()


@pytest.mark.serial  # timed against the leader lock's hand-over, as tests/e2e/test_failover.py
def test_a_leader_failover_mid_dispatch_runs_each_fire_time_once(mariadb_db_url, redis_url, tmp_path):
    """The active daemon queued fire time T1 of ``held`` (a worker runs it) and dies before it
    stored the job's next run time; ``tick``'s T2 comes due while no daemon is active. The new
    leader adopts T1's run (records its end) without running T1 again, and runs T2 once."""
    queue = _queue("cpu")
    held_runs, gate, ticks = tmp_path / "held.runs", tmp_path / "gate", tmp_path / "tick.runs"
    jobs = _job("held", queue, f"echo $$ >> {held_runs}; while [ ! -e {gate} ]; do sleep 0.1; done") + _job(
        "tick", queue, f"echo $$ >> {ticks}"
    )
    with worker_homes(mariadb_db_url, redis_url, jobs, TIMING, 3) as (first, second, host1, host2):
        assert first.cli("start").returncode == 0  # the schema
        assert first.cli("stop").returncode == 0
        worker1 = WorkerProcess(host1, "f1", queue).start()
        worker2 = WorkerProcess(host2, "f2", queue).start()
        try:
            t1 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
            set_next_run_times(mariadb_db_url, held=t1)
            _start_daemon(first)
            wait_for(lambda: len(_lines(held_runs)) == 1, 30, "held's run of T1 started on a worker")
            _start_daemon(second)
            active = first.daemon_pid()
            assert active is not None
            os.kill(active, signal.SIGSTOP)
            t2 = datetime.now(UTC).replace(microsecond=0)
            set_next_run_times(mariadb_db_url, held=t1, tick=t2)
            os.kill(active, signal.SIGKILL)

            wait_for(lambda: len(_lines(ticks)) == 1, 40, "tick's run of T2 on a worker")
            gate.touch()
            wait_for(
                lambda: [r["status"] for r in _rows(second, "held")] == ["success"],
                30,
                "held's run of T1 ended",
            )
            log = second.scheduler_log.read_text()
            assert "adopted" in log and "not running it twice" in log
            wait_for(
                lambda: "job=held execution=" in second.scheduler_log.read_text().split("adopted", 1)[1],
                10,
                "the adopted run's end recorded by the new leader",
            )
            assert len(_lines(held_runs)) == 1 and len(_lines(ticks)) == 1
            [held] = _rows(second, "held")
            [tick] = _rows(second, "tick")
            assert (held["scheduled_run_time"], tick["scheduled_run_time"]) == (t1, t2)
        finally:
            worker1.stop()
            worker2.stop()


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_sigterm_to_a_worker_lets_its_run_finish_then_it_exits(mariadb_db_url, redis_url, tmp_path):
    queue = _queue("cpu")
    pids = RunPids(tmp_path / "pids")
    jobs = _job("steady", queue, pids.record + "sleep 2; echo finished")
    with worker_homes(mariadb_db_url, redis_url, jobs, TIMING, 1) as (daemon, host):
        _start_daemon(daemon)
        worker = WorkerProcess(host, "drain", queue).start()
        try:
            execution_id, _pid = pids.started(daemon, "steady")
            assert worker.process is not None
            worker.process.send_signal(signal.SIGTERM)  # the worker alone, as a drain
            assert worker.process.wait(30) == 0
            row = _row(daemon, execution_id)
            assert (row["status"], row["worker"]) == ("success", worker.node) and "finished" in row[
                "output_tail"
            ]
        finally:
            worker.stop()
