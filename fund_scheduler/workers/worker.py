"""The ``worker`` command's process: a Celery worker (prefork pool) taking the runs of its
queues, and beside it the watchman, a thread of the main process that

* keeps this worker's row in ``workers`` fresh (name, host, pid, queues, concurrency; what
  ``status``, ``/metrics`` and the page show), every SCHEDULER_WORKER_HEARTBEAT seconds;
* ends the process group of a run whose pool process died (the hard time limit, the OOM killer,
  ``kill -9``): its row becomes ``interrupted`` while it is still this worker's;
* at start, ends what a previous life of this worker left running (a ``kill -9`` of the whole
  worker: its runs' groups live on in their own sessions; under systemd ``KillMode=control-group``
  ends them at once).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from fund_common.clock import utcnow
from fund_common.runstatus import RunStatus
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.run.process import end_orphan, process_alive, run_process
from fund_scheduler.settings import Settings
from fund_scheduler.store import claims, workers
from fund_scheduler.store.engine import describe_error, is_database_error, make_engine
from fund_scheduler.version import version
from fund_scheduler.workers.app import TASK_NAME, make_app

__all__ = ["node_name", "run_worker"]

logger = logging.getLogger("scheduler.worker")

#: A restarted worker looks this far back for runs its previous life left behind.
ORPHAN_LOOKBACK = timedelta(days=1)


def node_name(name: str) -> str:
    """The worker's node name as Celery expands it (``cpu1@%h`` → ``cpu1@db-host-2``)."""
    from celery.utils.nodenames import default_nodename, host_format

    return str(host_format(default_nodename(name)))


def run_worker(
    settings: Settings, registry: Registry, *, queues: Sequence[str], concurrency: int, name: str
) -> int:
    """Run the worker until it is stopped (SIGTERM: warm shutdown, running runs finish); its exit
    status."""
    app = make_app(settings, registry)
    runtimes: dict[int, Any] = {}

    @app.task(name=TASK_NAME, bind=True)
    def run_execution(task: Any, execution_id: int) -> str:
        from fund_scheduler.workers.task import WorkerRuntime

        runtime = runtimes.get(os.getpid())
        if runtime is None:  # a pool process's first message (one runtime per process, never forked)
            runtimes.clear()
            runtime = runtimes[os.getpid()] = WorkerRuntime(settings)
        return runtime.run(int(execution_id), str(task.request.hostname))

    node = node_name(name)
    watchman = Watchman(settings, node, list(queues), concurrency)
    watchman.start()
    logger.info(
        "worker %s starting: queues %s, concurrency %d, broker %s",
        node,
        ",".join(queues),
        concurrency,
        settings.remote.masked_broker_url,
    )
    try:
        argv = [
            "worker",
            "--queues",
            ",".join(queues),
            "--concurrency",
            str(concurrency),
            "--hostname",
            name,
            "--pool",
            "prefork",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        return int(app.start(argv=argv) or 0)
    finally:
        watchman.stop()
        logger.info("worker %s stopped", node)


class Watchman:
    """The worker's main-process thread: its ``workers`` row and its runs' orphans."""

    def __init__(self, settings: Settings, node: str, queues: list[str], concurrency: int):
        self.settings = settings
        self.node = node
        self.queues = queues
        self.concurrency = concurrency
        self.engine = make_engine(settings.database_url)
        # Pool processes are forked from this one: they never use its connections.
        os.register_at_fork(after_in_child=lambda: self.engine.dispose(close=False))
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="watchman", daemon=True)

    def start(self) -> None:
        self._pass(starting=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=10)
        try:
            workers.stopped(self.engine, self.node, utcnow())
        except Exception as exc:  # noqa: BLE001 - the row goes stale instead
            logger.warning("worker %s: stop not recorded (%s)", self.node, exc)
        self.engine.dispose()

    def _loop(self) -> None:
        while not self._done.wait(self.settings.remote.heartbeat):
            self._pass(starting=False)

    def _pass(self, *, starting: bool) -> None:
        now = utcnow()
        try:
            workers.beat(
                self.engine,
                self.node,
                host=socket.gethostname(),
                pid=os.getpid(),
                queues=self.queues,
                concurrency=self.concurrency,
                version=version(),
                now=now,
                starting=starting,
            )
            rows = (
                claims.of_worker(self.engine, self.node, now - ORPHAN_LOOKBACK)
                if starting
                else claims.running_on(self.engine, self.node)
            )
            for row in rows:
                self._settle(row, starting)
        except Exception as exc:  # noqa: BLE001 - the next pass tries again
            if not is_database_error(exc):
                logger.exception("worker %s: watchman pass failed", self.node)
            else:
                logger.warning("worker %s: database unavailable (%s)", self.node, describe_error(exc))

    def _settle(self, row: dict[str, Any], starting: bool) -> None:
        """End ``row``'s process group here when its owner (a pool process) is gone; at start,
        every run a previous life of this worker left (its rows still ``running`` interrupted).
        A running row without a process here is left to its pool process, or to the leader's
        lease (its heartbeats stop)."""
        found = run_process(row.get("pid"), row["id"])
        if found is None:
            if starting and row["status"] == RunStatus.RUNNING:
                self._interrupt(row, f"worker {self.node} restarted before the run finished")
            return
        proc, owner = found
        if not starting and owner and process_alive(owner):
            return  # its pool process still waits for it
        logger.warning(
            "job=%s execution=%s: its worker process is gone, the run (PID %s) lives on; ending its "
            "process group",
            row["job_id"],
            row["id"],
            proc.pid,
        )
        end_orphan(proc)
        if row["status"] == RunStatus.RUNNING:
            self._interrupt(
                row,
                f"worker {self.node} restarted before the run finished; process group ended"
                if starting
                else f"the pool process of worker {self.node} died mid-run; process group ended",
            )

    def _interrupt(self, row: dict[str, Any], reason: str) -> None:
        closing = {"execution_id": row["id"], "status": RunStatus.INTERRUPTED, "error": reason}
        if claims.finish_owned(self.engine, closing, worker=self.node) is not None:
            logger.error("job=%s execution=%s interrupted: %s", row["job_id"], row["id"], reason)
