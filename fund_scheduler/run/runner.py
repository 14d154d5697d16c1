"""Runs one execution of a job and records it in the history.

Default (``executor="process"``): a child process in its own process group, either this
program's ``exec JOB`` command (for a Python job; pandas never loads into the daemon, see
:mod:`fund_scheduler.run.child`) or the job's argv command (no shell). Each run's output goes to
its own ``logs/jobs/<job_id>/<execution_id>.log`` (:mod:`fund_scheduler.run.joblog`), kept within
``SCHEDULER_JOB_LOG_MAX_BYTES``; exit code, duration and the output's tail go to the history row.
A job past its ``timeout`` has its whole process group killed (status ``timeout``);
:meth:`Runner.terminate_all` does the same at shutdown (status ``interrupted``).
``executor="thread"`` runs light housekeeping in the calling thread; its log holds the records
its thread logs (a log it cannot open is a warning: the run goes on, its row keeps the tail).

A run whose job log cannot be written (disk full, folder unwritable) is not started: its row is
``failed`` with ``cannot write <log>: <reason>; run not started``, and :meth:`Runner.log_problems`
lists the log until it can be written again. Whatever raises between the ``running`` row and
its end (in the daemon's own code, not the job's) finishes the row ``failed`` with the exception:
no row stays ``running`` while its daemon lives.

A job whose executor is ``celery`` (its own, or SCHEDULER_EXECUTOR's) runs on a worker host:
its row is inserted ``queued`` with its queue, only its id goes to the broker
(:attr:`Runner.remote`, :mod:`fund_scheduler.run.remote`), and the calling thread waits until
the worker (or the leader giving the run up) made the row final; from there it is recorded like
any local run. The worker runs it with :meth:`Runner.execute`, the same child-process runner.

Every row carries its business date (``run_date``): the local date of its fire time in the job's
timezone, today's local date for a run without one (manual, startup), or the date handed in (a
dependency run: its upstream's). A scheduled run of a job with ``after`` first asks the
:attr:`Runner.gate` (the daemon's dependency rules) whether to run; the gate's answer may be a
row recorded instead (``blocked``, ``coalesced``) and nothing runs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy.engine import Engine

from fund_common.clock import utcnow
from fund_common.escaping import one_line, printable
from fund_common.runstatus import RunStatus
from fund_common.texttable import last_line
from fund_scheduler import program
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.results import result_line
from fund_scheduler.jobs.spec import JobSpec, resolve
from fund_scheduler.logsetup import OneLineFormatter, RedactSecrets, WriteFailure, secrets_of
from fund_scheduler.run.context import JobContext
from fund_scheduler.run.forkserver import ForkServer
from fund_scheduler.run.joblog import (
    SizeCap,
    ThreadLogHandler,
    banner,
    header,
    open_run_log,
    point_latest,
    read_tail,
    run_log_path,
)
from fund_scheduler.run.process import ChildProcess, kill_group
from fund_scheduler.run.remote import Released, RemoteRuns
from fund_scheduler.settings import Settings
from fund_scheduler.store import claims, history
from fund_scheduler.store.engine import describe_error, is_database_error
from fund_scheduler.store.groupcommit import GroupCommit
from fund_scheduler.store.spool import Spool, whole_second

logger = logging.getLogger("scheduler.runner")

RUNS_REFUSED = "runs not started"
#: Seconds between two checks of a running child's log size (no event tells a file grew).
CAP_CHECK_SECONDS = 1.0
#: A remote run's hard time limit (the worker's backstop) is its timeout plus this.
HARD_LIMIT_MARGIN = 60.0

#: A run's end: status, exit code, error, output tail.
Outcome = tuple[str, int | None, str | None, str | None]


@dataclass(frozen=True)
class ExecutionResult:
    job_id: str
    execution_id: int | None  # None: the run never started (its row went to the spool)
    status: str
    exit_code: int | None
    error: str | None
    duration: float | None = None
    trigger: str = "schedule"
    run_date: date | None = None
    with_dependents: bool = False  # a manual run asked to start its dependents
    #: What the run was asked for (history.ASKED_COLUMNS: params, requested_by, attempt, ...).
    asked: Mapping[str, Any] = field(default_factory=dict)


class Gate(Protocol):
    """Decides whether a scheduled run of a job with ``after`` runs (see
    :mod:`fund_scheduler.daemon.chain`)."""

    def holding(self) -> AbstractContextManager[object]:
        """Held from the decision until the run's row exists (no dependency run starts between)."""
        ...

    def hold_back(
        self, spec: JobSpec, scheduled_run_time: datetime, run_date: date
    ) -> tuple[str, str] | None:
        """None to run; else (status, error) of the row recorded instead of the run."""
        ...


def _crashed(exc: BaseException) -> Outcome:
    """The outcome of a run cut short by ``exc`` in the daemon's own code."""
    error = f"run failed in the daemon: {type(exc).__name__}: {one_line(str(exc))}"
    return RunStatus.FAILED, None, error, traceback.format_exc()


def _end_level(status: str) -> int:
    """The level of a run's end in the log: a success informs, a cancel warns, the rest are errors."""
    return {RunStatus.SUCCESS: logging.INFO, RunStatus.CANCELLED: logging.WARNING}.get(
        RunStatus(status), logging.ERROR
    )


class Runner:
    """Executes runs of the registry's jobs and keeps track of the live child processes."""

    def __init__(self, settings: Settings, registry: Registry, engine: Engine):
        self.settings = settings
        self.registry = registry
        self.engine = engine
        self._lock = threading.Lock()
        self._children: dict[int, ChildProcess] = {}
        self._starting: set[int] = set()  # execution ids whose process is being started
        self._cancelled: dict[int, str] = {}  # execution id → who cancelled it (until its row is final)
        self._active = 0
        self._stopping = False
        self.on_idle: Callable[[], None] | None = None
        #: Called with the final history row (a dict) of every execution this runner finished
        #: (and, through :meth:`notify_finished`, of rows the daemon records: missed, skipped).
        #: A callback that raises is logged and never affects the run or the other callbacks.
        self.on_finished: list[Callable[[dict], None]] = []
        #: Where history writes go while the database is unreachable (None: such errors raise).
        self.spool: Spool | None = None
        self._log_failures: dict[str, WriteFailure] = {}  # by job id: its log cannot be written
        #: Asked before a scheduled run of a job with ``after`` (None: every run runs).
        self.gate: Gate | None = None
        #: Now (aware): today's business date of a run without a fire time comes from it.
        self.clock: Callable[[], datetime] = utcnow
        #: Forks Python job runs from a pre-imported process (None: each starts a new interpreter).
        self.fork_server: ForkServer | None = None
        #: Sends runs of remote jobs to the workers and waits for their rows (None: no broker).
        self.remote: RemoteRuns | None = None
        #: Without :attr:`remote`, run remote jobs here (a one-shot ``run-job`` without a daemon)
        #: instead of failing them.
        self.remote_runs_here = False
        #: The rows of runs starting (finishing) at the same time are written together.
        self._starts: GroupCommit[Mapping[str, Any], int] = GroupCommit(
            lambda starts: history.start_many(self.engine, starts)
        )
        self._finishes: GroupCommit[Mapping[str, Any], dict] = GroupCommit(
            lambda closings: history.finish_many(self.engine, closings)
        )

    @property
    def active_count(self) -> int:
        with self._lock:
            return self._active

    def run(
        self,
        job_id: str,
        *,
        scheduled_run_time: datetime | None = None,
        trigger: str = "schedule",
        on_started: Callable[[int], None] | None = None,
        run_date: date | None = None,
        with_dependents: bool = False,
        asked: Mapping[str, Any] | None = None,
    ) -> ExecutionResult:
        """Run ``job_id`` once and return its result; never raises for a failing job.

        ``run_date`` (the business date) defaults to the fire time's local date, or today's;
        ``asked``: what the run was asked for (:data:`~fund_scheduler.store.history.ASKED_COLUMNS`:
        validated params, who asked, the attempt, the first attempt's id, the backfill), recorded
        on its row.
        """
        spec = self.registry.get(job_id)
        run_date = run_date or self.run_date_of(spec, scheduled_run_time)
        asked = dict(asked or {})

        def stamped(result: ExecutionResult) -> ExecutionResult:
            return replace(
                result, trigger=trigger, run_date=run_date, with_dependents=with_dependents, asked=asked
            )

        queue = self.queue_of(spec)
        if queue is not None and self.remote is None:
            if not self.remote_runs_here:
                return stamped(self._no_broker(spec, scheduled_run_time, trigger, run_date))
            queue = None
        gate = self.gate if spec.after and trigger == "schedule" else None
        with self._lock:
            self._active += 1
        try:
            with gate.holding() if gate is not None else nullcontext():
                if gate is not None and scheduled_run_time is not None:
                    held_back = gate.hold_back(spec, scheduled_run_time, run_date)
                    if held_back is not None:
                        return self._held_back(spec.id, scheduled_run_time, run_date, *held_back)
                started_at = utcnow()
                try:
                    execution_id = self._starts.submit(
                        {
                            "job_id": job_id,
                            "scheduled_run_time": scheduled_run_time,
                            "trigger": trigger,
                            "now": started_at,
                            "run_date": run_date,
                            "asked": asked,
                            "queue": queue,
                        }
                    )
                except history.AlreadyRecorded as exc:
                    logger.warning("%s; not running it twice", exc)
                    return stamped(ExecutionResult(job_id, None, RunStatus.SKIPPED, None, str(exc), 0.0))
                except Exception as exc:
                    if self.spool is None or not is_database_error(exc):
                        raise
                    return self._not_started(job_id, scheduled_run_time, trigger, exc)
            logger.info(
                "job=%s execution=%s %s (trigger %s, scheduled %s)",
                job_id,
                execution_id,
                "started" if queue is None else f"queued on {queue}",
                trigger,
                scheduled_run_time.isoformat() if scheduled_run_time else "now",
            )
            if queue is not None:
                return stamped(self._await_remote(spec, execution_id, queue, on_started))
            try:
                outcome = self.execute(
                    spec, execution_id, scheduled_run_time, run_date, trigger, on_started, asked.get("params")
                )
            except BaseException as exc:  # SystemExit, KeyboardInterrupt: finish the row, re-raise
                self._finish(job_id, execution_id, started_at, _crashed(exc))
                raise
            return stamped(self._finish(job_id, execution_id, started_at, outcome))
        finally:
            with self._lock:
                self._active -= 1
                idle = self._active == 0
            if idle and self.on_idle is not None:
                self.on_idle()

    def run_date_of(self, spec: JobSpec, scheduled_run_time: datetime | None) -> date:
        """The business date of a run of ``spec``: its fire time's local date, else today's."""
        zone = spec.zone(self.settings.timezone)
        return (scheduled_run_time or self.clock()).astimezone(zone).date()

    def _held_back(
        self, job_id: str, scheduled_run_time: datetime, run_date: date, status: str, error: str
    ) -> ExecutionResult:
        """The gate said no: record ``status`` for the fire time instead of running."""
        row = self.record(
            job_id, status, scheduled_run_time=scheduled_run_time, error=error, run_date=run_date
        )
        log = logger.warning if status == RunStatus.BLOCKED else logger.info
        log("job=%s run of %s %s: %s", job_id, scheduled_run_time.isoformat(), status, error)
        return ExecutionResult(job_id, row.get("id"), status, None, error, 0.0, "schedule", run_date)

    def queue_of(self, spec: JobSpec) -> str | None:
        """The queue ``spec``'s runs go to on a worker host; None: they run here."""
        if spec.executor_in(self.settings.remote.default_executor) != "celery":
            return None
        return spec.queue or self.settings.remote.default_queue

    def _no_broker(self, spec: JobSpec, scheduled, trigger: str, run_date: date) -> ExecutionResult:
        """A remote job without a broker: a ``failed`` row saying so; nothing runs."""
        error = (
            f"job {spec.id} runs on a worker (executor celery) but SCHEDULER_BROKER_URL is unset; "
            "run not started"
        )
        row = self.record(
            spec.id,
            RunStatus.FAILED,
            scheduled_run_time=scheduled,
            trigger=trigger,
            error=error,
            run_date=run_date,
        )
        logger.error("job=%s %s", spec.id, error)
        return ExecutionResult(spec.id, row.get("id"), RunStatus.FAILED, None, error, 0.0)

    def _await_remote(
        self, spec: JobSpec, execution_id: int, queue: str, on_started: Callable[[int], None] | None
    ) -> ExecutionResult:
        """Send queued run ``execution_id`` to the broker and wait for its final row (written by
        its worker, or by the leader giving it up); a broker that cannot be reached fails it."""
        assert self.remote is not None
        if on_started is not None:
            on_started(execution_id)
        time_limit = spec.timeout + HARD_LIMIT_MARGIN if spec.timeout else None
        try:
            self.remote.send(execution_id, queue, time_limit)
        except Exception as exc:  # noqa: BLE001 - recorded on the row
            error = f"cannot hand the run to the broker: {type(exc).__name__}: {one_line(str(exc))}"
            logger.error("job=%s execution=%s %s", spec.id, execution_id, error)
            claims.give_up(self.engine, execution_id, RunStatus.FAILED, error, was=RunStatus.QUEUED)
        try:
            row = self.remote.wait(execution_id)
        except Released:
            logger.info(
                "job=%s execution=%s goes on on its worker; the next active daemon watches it",
                spec.id,
                execution_id,
            )
            return ExecutionResult(spec.id, execution_id, RunStatus.RUNNING, None, "left to the next leader")
        return self.remote_ended(row)

    def remote_ended(self, row: dict) -> ExecutionResult:
        """Record the final row of a remote run (subscribers, log line); its result."""
        self.notify_finished(row)
        status, error = row["status"], row.get("error")
        logger.log(
            _end_level(status),
            "job=%s execution=%s %s on %s in %.1fs%s",
            row["job_id"],
            row["id"],
            status,
            row.get("worker") or "no worker",
            row.get("duration") or 0.0,
            f": {error}" if error else "",
        )
        return ExecutionResult(
            row["job_id"], row["id"], status, row.get("exit_code"), error, row.get("duration")
        )

    def execute(
        self,
        spec: JobSpec,
        execution_id: int,
        scheduled,
        run_date: date,
        trigger: str,
        on_started,
        params: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """The run's outcome; an exception of the daemon's own (not the job's) is a failed one.

        A run in a process of its own is cancellable from here on: a cancel before its process
        exists (e.g. while the fork server starts) ends the process as soon as it does."""
        in_thread = spec.executor == "thread"
        if not in_thread:
            with self._lock:
                self._starting.add(execution_id)
        try:
            if on_started is not None:
                on_started(execution_id)
            if in_thread:
                return self._run_in_thread(spec, execution_id, scheduled, run_date, trigger, params or {})
            return self._run_child(spec, execution_id, scheduled, run_date, trigger, params or {})
        except Exception as exc:  # noqa: BLE001 - recorded on the row, never left running
            logger.exception("job=%s execution=%s: the run failed in the daemon", spec.id, execution_id)
            return _crashed(exc)
        finally:
            with self._lock:
                self._starting.discard(execution_id)

    def _finish(
        self, job_id: str, execution_id: int, started_at: datetime, outcome: Outcome
    ) -> ExecutionResult:
        """Write the final row (or spool it), tell the subscribers, log the end; the result."""
        status, code, error, tail = outcome
        with self._lock:
            by = self._cancelled.pop(execution_id, None)  # a cancel that came too late is forgotten
        by = by if status == RunStatus.CANCELLED else None
        try:
            row = self._finishes.submit(
                {
                    "execution_id": execution_id,
                    "status": status,
                    "exit_code": code,
                    "error": error,
                    "output_tail": tail,
                    "cancelled_by": by,
                    "started_at": started_at,
                }
            )
        except Exception as exc:
            if self.spool is None or not is_database_error(exc):
                raise
            row = self._spool_finish(job_id, execution_id, started_at, status, code, error, tail, exc)
        result = ExecutionResult(job_id, execution_id, status, code, error, row.get("duration"))
        self.notify_finished(row)
        logger.log(
            _end_level(status),
            "job=%s execution=%s %s in %.1fs%s",
            job_id,
            execution_id,
            status,
            result.duration or 0.0,
            f": {error}" if error else "",
        )
        return result

    def _not_started(self, job_id: str, scheduled, trigger: str, exc: BaseException) -> ExecutionResult:
        """The database is unreachable: record a ``failed`` row in the spool; nothing runs."""
        error = f"database unavailable, run not started: {describe_error(exc)}"
        self.record(job_id, RunStatus.FAILED, scheduled_run_time=scheduled, trigger=trigger, error=error)
        logger.error("job=%s run (trigger %s) not started: %s", job_id, trigger, error)
        return ExecutionResult(job_id, None, RunStatus.FAILED, None, error, 0.0)

    def _spool_finish(self, job_id, execution_id, started_at, status, code, error, tail, exc) -> dict:
        assert self.spool is not None
        finished = whole_second()
        row = {
            "id": execution_id,
            "job_id": job_id,
            "status": status,
            "started_at": started_at,
            "finished_at": finished,
            "duration": max((finished - started_at).total_seconds(), 0.0),
            "exit_code": code,
            "error": error[:4000] if error else error,
            "output_tail": tail[-history.OUTPUT_TAIL_CHARS :] if tail else tail,
        }
        self.spool.finish(execution_id, row)
        logger.warning(
            "job=%s execution=%s: database unavailable (%s); final status spooled",
            job_id,
            execution_id,
            describe_error(exc),
        )
        return row

    def record(
        self,
        job_id: str,
        status: str,
        *,
        scheduled_run_time: datetime | None,
        trigger: str = "schedule",
        error: str | None = None,
        run_date: date | None = None,
    ) -> dict:
        """Record a finished row that never ran (failed to start, missed, skipped, blocked);
        return it. ``run_date`` defaults as for a run (the fire time's local date, or today's).

        Written to the database, or to the spool while the database is unreachable; the row is
        passed to :meth:`notify_finished` either way.
        """
        if run_date is None and job_id in self.registry.specs:
            run_date = self.run_date_of(self.registry.specs[job_id], scheduled_run_time)
        try:
            execution_id = history.record(
                self.engine,
                job_id,
                status,
                scheduled_run_time=scheduled_run_time,
                trigger=trigger,
                error=error,
                run_date=run_date,
            )
            row = history.get(self.engine, execution_id) or {}
        except history.AlreadyRecorded as exc:
            logger.info("%s; not recording it twice", exc)
            return {}
        except Exception as exc:
            if self.spool is None or not is_database_error(exc):
                raise
            stamp = whole_second()
            row = {
                "id": None,
                "job_id": job_id,
                "scheduled_run_time": scheduled_run_time,
                "started_at": stamp,
                "finished_at": stamp,
                "duration": 0.0,
                "status": status,
                "exit_code": None,
                "error": error,
                "output_tail": None,
                "host": socket.gethostname(),
                "pid": None,
                "trigger": trigger,
            }
            self.spool.record(row)
            logger.warning(
                "job=%s %s row spooled: database unavailable (%s)", job_id, status, describe_error(exc)
            )
        self.notify_finished(row)
        return row

    def notify_finished(self, row: dict) -> None:
        """Pass one final history row to every :attr:`on_finished` callback."""
        for callback in list(self.on_finished):
            try:
                callback(row)
            except Exception:  # noqa: BLE001 - an observer never breaks a run
                logger.exception(
                    "job=%s execution=%s: on_finished callback failed", row.get("job_id"), row.get("id")
                )

    def _run_in_thread(
        self, spec: JobSpec, execution_id: int, scheduled, run_date: date, trigger, params: Mapping[str, Any]
    ) -> Outcome:
        ctx = JobContext(
            job_id=spec.id,
            execution_id=execution_id,
            scheduled_run_time=scheduled,
            trigger=trigger,
            business_date=run_date,
            params=dict(params),
            settings=self.settings,
            timezone=spec.zone(self.settings.timezone),
            logger=logging.getLogger(f"jobs.{spec.id}"),
            _engine=self.engine,
        )
        with self._thread_log(spec.id, execution_id, trigger) as write:
            try:
                outcome = resolve(spec.func or "")(ctx)
            except Exception as exc:  # noqa: BLE001 - a failing job is recorded, never fatal
                tail = traceback.format_exc()
                write(tail)
                error: str | None = f"{type(exc).__name__}: {one_line(str(exc))}"
            else:
                # The same ``result: <json>`` line as a child process prints (a check job's is read back).
                tail = "" if outcome is None else result_line(outcome)
                write(tail)
                error = None
        if error is not None:
            logger.error("job=%s execution=%s raised %s", spec.id, execution_id, tail.rstrip())
            return RunStatus.FAILED, None, error, printable(tail)
        return RunStatus.SUCCESS, None, None, printable(tail) if tail else None

    @contextmanager
    def _thread_log(self, job_id: str, execution_id: int, trigger: str) -> Iterator[Callable[[str], None]]:
        """An in-thread run's log, open while its job runs: the records its thread logs meanwhile
        (one line each, secrets masked), then what the yielded function is given. A log that cannot
        be opened is a warning and nothing more: housekeeping (the cleanup job) runs on a full disk."""
        path = self.run_log_path(job_id, execution_id)
        try:
            log_file = self._open_log(job_id, path, header(job_id, execution_id, trigger))
        except OSError as exc:
            message = WriteFailure.of(path, exc, utcnow()).message
            logger.warning(
                "job=%s execution=%s: %s; it runs with only its output tail", job_id, execution_id, message
            )
            yield lambda text: None
            return
        point_latest(path)
        handler = ThreadLogHandler(log_file)
        handler.setFormatter(OneLineFormatter())
        handler.addFilter(RedactSecrets(secrets_of(self.settings)))
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            yield handler.write_text
        finally:
            root.removeHandler(handler)
            handler.close()
            log_file.close()
            self._keep_capped(SizeCap(path, self.settings.job_log_max_bytes), job_id, execution_id)

    def _argv(self, spec: JobSpec, execution_id: int, scheduled, run_date: date, trigger) -> list[str]:
        if spec.command:
            return list(spec.command)
        args = ["exec", spec.id, "--execution-id", str(execution_id), "--trigger", trigger]
        args += ["--run-date", run_date.isoformat()]
        if scheduled is not None:
            args += ["--scheduled", scheduled.isoformat()]
        return program.python_command(*args)

    def run_log_path(self, job_id: str, execution_id: int) -> Path:
        """Where execution ``execution_id`` of ``job_id`` logs
        (:func:`~fund_scheduler.run.joblog.run_log_path`)."""
        return run_log_path(self.settings.job_log_dir, job_id, execution_id)

    def log_problems(self) -> list[str]:
        """The jobs whose run log could not be written at their last run, each retried first: the
        log of the refused run is written again (a retry that works writes the "written again" line
        there and clears the problem)."""
        with self._lock:
            failing = [(job_id, Path(failure.path)) for job_id, failure in self._log_failures.items()]
        for job_id, path in failing:
            try:
                self._open_log(job_id, path, b"").close()
            except OSError as exc:
                self._log_failed(job_id, path, exc, refused=0)
        with self._lock:
            failures = sorted(self._log_failures.items())
            return [f"job {job_id}: {failure.problem(RUNS_REFUSED)}" for job_id, failure in failures]

    def _open_log(self, job_id: str, path: Path, first: bytes) -> BinaryIO:
        """:func:`~fund_scheduler.run.joblog.open_run_log`, with the "written again" line first
        when a log of ``job_id`` failed before (that failure then cleared)."""
        with self._lock:
            failure = self._log_failures.get(job_id)
        if failure is not None:
            first = banner(f"job={job_id} {failure.resumed(RUNS_REFUSED, utcnow())}") + first
        log_file = open_run_log(path, first)
        if failure is not None:
            with self._lock:
                if self._log_failures.get(job_id) is failure:
                    del self._log_failures[job_id]
            logger.warning("job=%s %s", job_id, failure.resumed(RUNS_REFUSED, utcnow()))
        return log_file

    def _log_failed(self, job_id: str, path: Path, exc: OSError, *, refused: int) -> str:
        """Record that ``job_id``'s run log ``path`` cannot be written (``refused`` more runs not
        started); ``cannot write <log>: <reason>``."""
        current = WriteFailure.of(path, exc, utcnow())
        with self._lock:
            failure = self._log_failures.setdefault(job_id, current)
            failure.path, failure.reason = current.path, current.reason
            failure.lost += refused
            return failure.message

    def _run_child(
        self, spec: JobSpec, execution_id: int, scheduled, run_date: date, trigger, params: Mapping[str, Any]
    ) -> Outcome:
        path = self.run_log_path(spec.id, execution_id)
        try:
            log_file = self._open_log(spec.id, path, header(spec.id, execution_id, trigger))
        except OSError as exc:
            message = f"{self._log_failed(spec.id, path, exc, refused=1)}; run not started"
            return RunStatus.FAILED, None, message, None
        point_latest(path)
        cap = SizeCap(path, self.settings.job_log_max_bytes)
        with log_file:
            offset = log_file.tell()
            env = dict(os.environ)
            env.update(
                SCHEDULER_JOB_ID=spec.id,
                SCHEDULER_EXECUTION_ID=str(execution_id),
                SCHEDULER_OWNER_PID=str(os.getpid()),
                SCHEDULER_RUN_DATE=run_date.isoformat(),
                SCHEDULER_PARAMS=json.dumps(dict(params), sort_keys=True),
                PYTHONUNBUFFERED="1",
            )
            try:
                proc = self._start_child(spec, execution_id, scheduled, run_date, trigger, env, log_file)
            except OSError as exc:
                message = f"cannot start {spec.target!r}: {exc}"
                log_file.write(f"{message}\n".encode())
                return RunStatus.FAILED, None, message, message
            with self._lock:
                self._children[execution_id] = proc
                self._starting.discard(execution_id)
                end_now = self._stopping or execution_id in self._cancelled
            if end_now:
                kill_group(proc)
            status = None
            try:
                self._set_pid(execution_id, proc.pid)
                self._wait_capped(proc, spec.timeout, cap, spec.id, execution_id)
            except subprocess.TimeoutExpired:
                logger.error(
                    "job=%s execution=%s exceeded its timeout of %ss; killing its process group",
                    spec.id,
                    execution_id,
                    spec.timeout,
                )
                kill_group(proc)
                status = RunStatus.TIMEOUT
            except BaseException:  # the daemon's own failure: the child does not outlive its row
                kill_group(proc)
                raise
            finally:
                with self._lock:
                    self._children.pop(execution_id, None)
                    interrupted = self._stopping
                    cancelled_by = self._cancelled.get(execution_id)
        self._keep_capped(cap, spec.id, execution_id)
        tail = read_tail(path, offset)
        code = proc.returncode
        if cancelled_by is not None and status != RunStatus.TIMEOUT:
            return RunStatus.CANCELLED, code, f"cancelled by {cancelled_by}; process group ended", tail
        if status == RunStatus.TIMEOUT:
            return status, code, f"timed out after {spec.timeout:g}s; process group killed", tail
        if code == 0:
            return RunStatus.SUCCESS, code, None, tail
        if code is None:  # a forked run whose server died meanwhile
            return RunStatus.FAILED, None, getattr(proc, "lost", None) or "exit status unknown", tail
        if interrupted:
            return (
                RunStatus.INTERRUPTED,
                code,
                "daemon stopped before the run finished; process group terminated",
                tail,
            )
        reason = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        return RunStatus.FAILED, code, last_line(tail) or reason, tail

    def _start_child(
        self,
        spec: JobSpec,
        execution_id: int,
        scheduled: datetime | None,
        run_date: date,
        trigger: str,
        env: dict[str, str],
        log_file: BinaryIO,
    ) -> ChildProcess:
        """Start the run's process in a session of its own, output to ``log_file``: forked by
        the :attr:`fork_server` for a Python job (unless it wants a fresh interpreter, or the
        server cannot), else a new process (this program's ``exec JOB``, or the job's command)."""
        cwd = spec.workdir or str(self.settings.workdir)
        if self.fork_server is not None and spec.func and not spec.fresh_interpreter:
            forked = self.fork_server.spawn(
                job_id=spec.id,
                execution_id=execution_id,
                trigger=trigger,
                scheduled=scheduled.isoformat() if scheduled is not None else None,
                run_date=run_date.isoformat(),
                env=env,
                cwd=cwd,
                log_file=log_file,
            )
            if forked is not None:
                return forked
        return subprocess.Popen(
            self._argv(spec, execution_id, scheduled, run_date, trigger),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )

    def _wait_capped(
        self, proc: ChildProcess, timeout: float | None, cap: SizeCap, job_id: str, execution_id: int
    ) -> None:
        """``proc.wait(timeout)`` (``TimeoutExpired`` alike), keeping its log within its cap every
        :data:`CAP_CHECK_SECONDS` meanwhile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = CAP_CHECK_SECONDS if deadline is None else deadline - time.monotonic()
            try:
                proc.wait(timeout=min(max(left, 0.0), CAP_CHECK_SECONDS))
                return
            except subprocess.TimeoutExpired:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
            self._keep_capped(cap, job_id, execution_id)

    def _keep_capped(self, cap: SizeCap, job_id: str, execution_id: int) -> None:
        """Apply ``cap``; a log that cannot be cut is a warning (it stays whole)."""
        before = cap.cut
        try:
            cut = cap.apply()
        except OSError as exc:
            logger.warning(
                "job=%s execution=%s: cannot cut %s to its cap: %s", job_id, execution_id, cap.path, exc
            )
            return
        if cut > before and before == 0:
            logger.warning(
                "job=%s execution=%s: its log passed SCHEDULER_JOB_LOG_MAX_BYTES=%s; its middle is cut",
                job_id,
                execution_id,
                cap.max_bytes,
            )

    def _set_pid(self, execution_id: int, pid: int) -> None:
        try:
            history.set_pid(self.engine, execution_id, pid)
        except Exception as exc:
            if not is_database_error(exc):
                raise
            logger.warning("execution=%s: pid not recorded (%s)", execution_id, describe_error(exc))

    def cancel(self, execution_id: int, by: str) -> bool:
        """End run ``execution_id`` (a child of this runner): SIGTERM to its process group, SIGKILL
        after the grace, in the background; its row becomes ``cancelled`` by ``by``. False when it
        is no live child here (finished, an in-thread run, another daemon's)."""
        with self._lock:
            proc = self._children.get(execution_id)
            here = proc is not None or execution_id in self._starting
            if here:
                self._cancelled[execution_id] = by
        if not here:
            return self._cancel_remote(execution_id, by)
        if proc is None:  # its row exists, its process not yet (e.g. the fork server is starting)
            logger.warning(
                "execution=%s cancelled by %s; its process is ended as it starts", execution_id, by
            )
            return True
        logger.warning("execution=%s cancelled by %s; ending its process group", execution_id, by)
        threading.Thread(target=kill_group, args=(proc,), name="cancel", daemon=True).start()
        return True

    def cancelled_by(self, execution_id: int) -> str | None:
        """Who cancelled run ``execution_id`` (a run :meth:`execute` ran; forgotten once asked)."""
        with self._lock:
            return self._cancelled.pop(execution_id, None)

    def _cancel_remote(self, execution_id: int, by: str) -> bool:
        """Cancel a remote run: a ``queued`` one ends now, a ``running`` one's worker ends its
        process group at its next heartbeat. False when it is no remote run going."""
        if self.remote is None:
            return False
        error = f"cancelled by {by} before a worker took it"
        if claims.give_up(
            self.engine, execution_id, RunStatus.CANCELLED, error, was=RunStatus.QUEUED, cancelled_by=by
        ) is None and not claims.request_cancel(self.engine, execution_id, by):
            return False
        logger.warning("execution=%s (on a worker) cancelled by %s", execution_id, by)
        self.remote.poke()
        return True

    def close(self) -> None:
        """Release the fork server (it exits once its runs ended)."""
        if self.fork_server is not None:
            self.fork_server.close()

    def terminate_all(self) -> int:
        """Stop starting children and terminate the process group of each running one."""
        with self._lock:
            self._stopping = True
            children = list(self._children.items())
        for execution_id, proc in children:
            logger.warning(
                "execution=%s still running at shutdown; terminating its process group", execution_id
            )
            threading.Thread(target=kill_group, args=(proc,), daemon=True).start()
        return len(children)
