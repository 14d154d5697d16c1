"""What a worker does with one message: claim the run, run it, keep its lease, record its end.

Runs in a Celery pool process. The claim is one conditional UPDATE (``queued`` → ``running``
with this worker's name, host and pid); a message whose row is no longer ``queued`` (a
redelivery, a second worker, a run cancelled or given up while queued) is acknowledged and
dropped. The run itself is the daemon's: :meth:`fund_scheduler.run.runner.Runner.execute` (a
child process in its own group, its timeout, its per-run log on this host). A heartbeat thread
stamps the row every SCHEDULER_WORKER_HEARTBEAT seconds; the stamp also carries a cancel asked
for meanwhile (the process group is ended), and a stamp that finds the row no longer this
worker's (the leader gave the run up: this worker was frozen or cut off past its lease) ends
the process group too. The outcome is written only while the row is still this worker's.

The run's log stays in ``logs/jobs/`` on this host and is shipped to the database as it grows
(:class:`LogShipper`, each heartbeat; the rest before the outcome is written), so ``logs ID`` and
the page read it from any host.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from fund_common.clock import utcnow
from fund_common.escaping import one_line
from fund_common.runstatus import RunStatus
from fund_scheduler.jobs.registry import Registry, load_registry
from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.run.runner import Runner
from fund_scheduler.settings import Settings
from fund_scheduler.store import claims, job_changes, log_chunks
from fund_scheduler.store.engine import describe_error, is_database_error, make_engine

__all__ = ["WorkerRuntime"]

logger = logging.getLogger("scheduler.worker")

#: The ``cancelled_by`` of a run ended because its lease was lost (never written: not ours).
LEASE_LOST = "the leader (lease lost)"


@dataclass
class WorkerRuntime:
    """One pool process's means to run claimed runs (built on its first message)."""

    settings: Settings
    engine: Engine = field(init=False)
    runner: Runner = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.database_url)
        self.runner = Runner(self.settings, self.registry(), self.engine)

    def registry(self) -> Registry:
        """The jobs as the daemon sees them: the packages, jobs.toml, the runtime changes."""
        settings = self.settings
        base = load_registry(
            settings.jobs_packages, settings.jobs_config, settings.timezone, settings.environ
        )
        return job_changes.layered(self.engine, base, settings.timezone)[0]

    def run(self, execution_id: int, worker: str) -> str:
        """Claim, run and record ``execution_id`` as ``worker``; what became of it (its final
        status, ``dropped`` or ``lost``)."""
        row = claims.claim(self.engine, execution_id, worker=worker, pid=os.getpid())
        if row is None:
            logger.info(
                "execution=%s is no longer queued (taken, cancelled or given up): message dropped",
                execution_id,
            )
            return "dropped"
        job_id = row["job_id"]
        logger.info(
            "job=%s execution=%s claimed by %s (attempt %s)",
            job_id,
            execution_id,
            worker,
            row.get("attempt") or 1,
        )
        self.runner.registry = self.registry()
        spec = self.runner.registry.specs.get(job_id)
        if spec is None or not spec.enabled:
            why = "is not defined" if spec is None else "is disabled"
            error = f"job {job_id} {why} on worker {worker} (its job packages, jobs.toml or code differ)"
            return self._close(row, worker, (RunStatus.FAILED, None, error, None))
        shipper = LogShipper(
            self.engine,
            execution_id,
            self.runner.run_log_path(job_id, execution_id),
            self.settings.job_log_max_bytes,
        )
        with Lease(self, execution_id, worker, shipper):
            outcome = self._execute(spec, row)
        return self._close(row, worker, outcome)

    def _execute(self, spec: JobSpec, row: dict[str, Any]):
        return self.runner.execute(
            spec,
            row["id"],
            row.get("scheduled_run_time"),
            row.get("run_date") or self.runner.run_date_of(spec, row.get("scheduled_run_time")),
            row["trigger"],
            None,
            row.get("params") or {},
        )

    def _finish_owned(self, closing: dict[str, Any], worker: str) -> dict[str, Any] | None:
        """:func:`~fund_scheduler.store.claims.finish_owned`, tried again every second for up to
        half the lease while the database is unreachable (after that the leader gives the run
        up: it is recorded ``interrupted`` and retried)."""
        deadline = time.monotonic() + self.settings.remote.lease / 2
        while True:
            try:
                return claims.finish_owned(self.engine, closing, worker=worker)
            except Exception as exc:
                if not is_database_error(exc) or time.monotonic() >= deadline:
                    raise
                logger.warning(
                    "execution=%s: outcome not written yet (%s); trying again",
                    closing["execution_id"],
                    describe_error(exc),
                )
                time.sleep(1.0)

    def _close(self, row: dict[str, Any], worker: str, outcome) -> str:
        status, code, error, tail = outcome
        by = self.runner.cancelled_by(row["id"])
        if by == LEASE_LOST:
            final = None
        else:
            by = by if status == RunStatus.CANCELLED else None
            closing = {
                "execution_id": row["id"],
                "status": status,
                "exit_code": code,
                "error": error,
                "output_tail": tail,
                "cancelled_by": by,
            }
            final = self._finish_owned(closing, worker)
        if final is None:
            logger.warning(
                "job=%s execution=%s ended %s here, but the run is no longer %s's (the leader gave it "
                "up); its outcome is dropped",
                row["job_id"],
                row["id"],
                status,
                worker,
            )
            return "lost"
        logger.log(
            logging.INFO if status == RunStatus.SUCCESS else logging.WARNING,
            "job=%s execution=%s %s in %.1fs%s",
            row["job_id"],
            row["id"],
            status,
            final.get("duration") or 0.0,
            f": {one_line(error)}" if error else "",
        )
        return str(status)


class Lease:
    """While held: the run's heartbeat, every SCHEDULER_WORKER_HEARTBEAT seconds, in a thread.
    A cancel the stamp brings, or a lease found lost, ends the run's process group."""

    def __init__(self, runtime: WorkerRuntime, execution_id: int, worker: str, shipper: LogShipper):
        self.runtime = runtime
        self.execution_id = execution_id
        self.worker = worker
        self.shipper = shipper
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat_loop, name=f"lease-{execution_id}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join(timeout=10)
        self.shipper.ship(final=True)

    def _beat_loop(self) -> None:
        interval = self.runtime.settings.remote.heartbeat
        while not self._done.wait(interval):
            self.shipper.ship(final=False)
            try:
                answer = claims.beat(self.runtime.engine, self.execution_id, worker=self.worker, now=utcnow())
            except Exception as exc:  # noqa: BLE001 - the database may come back within the lease
                logger.warning(
                    "execution=%s: heartbeat not written (%s)",
                    self.execution_id,
                    describe_error(exc) if is_database_error(exc) else repr(exc),
                )
                continue
            if not answer.owned:
                logger.error(
                    "execution=%s: the leader gave this run up (no heartbeat within its lease); "
                    "ending its process group",
                    self.execution_id,
                )
                self.runtime.runner.cancel(self.execution_id, LEASE_LOST)
                return
            if answer.cancel_requested_by:
                self.runtime.runner.cancel(self.execution_id, answer.cancel_requested_by)
                return


class LogShipper:
    """Copies a run's log file into ``run_log_chunks`` as it grows. The file's first half of
    SCHEDULER_JOB_LOG_MAX_BYTES never changes (the cap cuts after it), so it is shipped as it is
    written; what follows is shipped once the run ended (the cap may still cut there)."""

    def __init__(self, engine: Engine, execution_id: int, path: Path, max_bytes: int):
        self.engine = engine
        self.execution_id = execution_id
        self.path = path
        self.stable = max_bytes // 2
        self.shipped = 0
        self.seq = 0

    def ship(self, *, final: bool) -> None:
        """Ship what is new (while running: of the stable first half only); a failure is logged
        and retried at the next call."""
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                end = size if final else min(size, self.stable)
                f.seek(self.shipped)
                while self.shipped < end:
                    data = f.read(min(log_chunks.CHUNK_BYTES, end - self.shipped))
                    if not data:
                        break
                    log_chunks.append(self.engine, self.execution_id, self.seq, self.shipped, data)
                    self.seq += 1
                    self.shipped += len(data)
        except FileNotFoundError:
            return  # not started yet (or never: its log could not be written)
        except Exception as exc:  # noqa: BLE001 - the file keeps it; the next call tries again
            logger.warning(
                "execution=%s: log not shipped (%s)",
                self.execution_id,
                describe_error(exc) if is_database_error(exc) else repr(exc),
            )
