"""The daemon: builds the BackgroundScheduler, reconciles specs, serves the control socket and
shuts down gracefully.

Start-up, in order: take the PID lock; bind the HTTP port (``SCHEDULER_HTTP_PORT``; in use:
ConfigError, nothing started); apply the schema migrations (the ``migrate`` callable); mark
history rows a dead daemon left ``running`` as ``interrupted``; start the scheduler paused;
reconcile the specs into the job store; plan the catch-up of fire times missed while down (see
:mod:`fund_scheduler.daemon.misfire`); resume; open the control socket; start answering HTTP
(:mod:`fund_scheduler.api.http`); run first-start jobs; report ready. The main thread then waits on an
event.

Shutdown (SIGTERM/SIGINT or ``stop``): stop submitting, wait up to the stop timeout for running
executions, then terminate their process groups (recorded ``interrupted``); a second signal skips
the wait. The PID file is removed in ``finally``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
)
from apscheduler.executors.base import MaxInstancesReachedError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from fund_scheduler.alerts.notifier import Notifier
from fund_scheduler.api.control import ControlServer
from fund_scheduler.daemon.leader import Leadership
from fund_scheduler.daemon.misfire import plan_catch_up
from fund_scheduler.daemon.pidfile import PidFile
from fund_scheduler.daemon.reconcile import reconcile
from fund_scheduler.errors import SchedulerError
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.triggers import describe
from fund_scheduler.run.executor import RunFailed, RunnerExecutor
from fund_scheduler.run.runner import Runner, reap_orphans
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler.store.jobstore import JsonJobStore, make_engine
from fund_scheduler.store.spool import Spool, SpoolFlusher, describe_error, is_database_error

logger = logging.getLogger("scheduler.daemon")

MISSED_ROWS_LIMIT = 50
HEARTBEAT_INTERVAL = 60.0  # longest wait of the scheduler loop between two passes (seconds)
JOBSTORE_RETRY_INTERVAL = 10.0  # wait of the scheduler loop after a database error (seconds)
WATCHDOG_INTERVAL = 5.0  # how often the main thread checks that the scheduler loop is alive
EXIT_LOOP_DIED = 70  # exit status when the scheduler loop died (systemd Restart=on-failure)
LEADER_INTERVAL = 3.0  # how often the leader lock is checked (active) or retried (standby)


def catch_up_missed(
    scheduler: BackgroundScheduler,
    engine,
    now: datetime,
    on_finished: Callable[[dict], None] | None = None,
) -> dict[str, int]:
    """Apply :func:`plan_catch_up` to every stored job; record missed runs; return counts by job.

    ``on_finished`` (e.g. :meth:`Runner.notify_finished`) gets each recorded row.
    """
    counts: dict[str, int] = {}
    for job in scheduler.get_jobs():
        plan = plan_catch_up(job.trigger, job.next_run_time, now, job.misfire_grace_time, job.coalesce)
        if not plan.due:
            continue
        for fire_time in plan.missed[-MISSED_ROWS_LIMIT:]:
            try:
                execution_id = history.record(
                    engine,
                    job.id,
                    "missed",
                    scheduled_run_time=fire_time,
                    now=now,
                    error="daemon was not running at the scheduled time (older than the grace time)",
                )
            except history.AlreadyRecorded:
                continue  # another daemon ran or recorded it
            if on_finished is not None:
                on_finished(history.get(engine, execution_id) or {})
        if plan.missed:
            more = len(plan.missed) - MISSED_ROWS_LIMIT
            logger.warning(
                "job=%s missed %d run(s) while the daemon was down (oldest %s, newest %s)%s",
                job.id,
                len(plan.missed),
                plan.missed[0].isoformat(),
                plan.missed[-1].isoformat(),
                f"; only the newest {MISSED_ROWS_LIMIT} recorded" if more > 0 else "",
            )
        if plan.run:
            logger.info(
                "job=%s run of %s is within the grace time: running it now", job.id, plan.run[-1].isoformat()
            )
        counts[job.id] = len(plan.missed)
        scheduler.modify_job(job.id, next_run_time=plan.next_run_time)
    return counts


class GuardedBackgroundScheduler(BackgroundScheduler):
    """BackgroundScheduler that never processes jobs once shut down, with a loop heartbeat.

    APScheduler 3.11's loop runs one more pass after ``shutdown()``, submitting due jobs to the
    stopped executors and moving their next run time on: a run due at that instant would be
    lost without a trace. Skipping the pass leaves it due, so the next start runs or records it.

    Each pass records :attr:`heartbeat` (``time.monotonic()``) and the wait until the next pass
    is capped at :data:`HEARTBEAT_INTERVAL`, so a live loop beats at least once a minute and
    ``/health`` can tell a stuck or dead loop from an idle one.

    :attr:`may_submit`, when set, is asked before each pass; False skips the pass (this daemon is
    not, or no longer surely, the active one) and the loop asks again after ``LEADER_INTERVAL``.
    """

    heartbeat: float | None = None
    database_error: str | None = None  # the last job-store error while the database is away
    may_submit: Callable[[], bool] | None = None

    def _process_jobs(self):
        if self.state == STATE_STOPPED:
            return None
        self.heartbeat = time.monotonic()
        if self.may_submit is not None and not self.may_submit():
            return LEADER_INTERVAL
        try:
            wait = super()._process_jobs()
        except Exception as exc:
            # APScheduler 3.11 guards get_due_jobs() but not update_job()/remove_job(): a
            # database error there would end the loop thread for good. Log it, retry soon; the
            # executor never runs a run time twice (see RunnerExecutor.submit_job).
            if not is_database_error(exc):
                raise
            first = self.database_error is None
            self.database_error = describe_error(exc)
            (logger.error if first else logger.debug)(
                "job store unavailable (%s); the scheduler retries in %.0fs",
                self.database_error,
                JOBSTORE_RETRY_INTERVAL,
            )
            return JOBSTORE_RETRY_INTERVAL
        if self.database_error is not None:
            logger.info("job store available again")
            self.database_error = None
        return HEARTBEAT_INTERVAL if wait is None else min(wait, HEARTBEAT_INTERVAL)

    @property
    def loop_alive(self) -> bool:
        """True while the scheduler's loop thread runs (False once shut down or crashed)."""
        thread = getattr(self, "_thread", None)
        return self.state != STATE_STOPPED and thread is not None and thread.is_alive()

    def heartbeat_age(self) -> float | None:
        """Seconds since the loop's last pass (None before the first)."""
        return None if self.heartbeat is None else time.monotonic() - self.heartbeat


class Daemon:
    """One scheduler process. :meth:`run` blocks until stopped and returns the exit status."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        *,
        clock: Callable[[], datetime] | None = None,
        load_registry: Callable[[], Registry] | None = None,
        migrate: Callable[[Any], object] | None = None,
    ):
        self.settings = settings
        self.registry = registry
        # Brings the schema to the current version at start (the CLI passes the runner named by
        # SCHEDULER_MIGRATIONS); without it the history table is created when missing.
        self._migrate = migrate
        self._load_registry = load_registry
        self._main_wake = threading.Event()
        self._reload_requested = False
        self.clock = clock or (lambda: datetime.now(UTC))
        self.started_at: datetime | None = None
        self._stop_requested = threading.Event()
        self._wake = threading.Event()
        self._force = False
        self._signals = 0
        self._stop_reason = "requested"
        self.stop_timeout = float(settings.stop_timeout)
        self.engine = None
        self.scheduler: BackgroundScheduler | None = None
        self.executor: RunnerExecutor | None = None
        self.runner: Runner | None = None
        self.notifier: Notifier | None = None
        self.spool: Spool | None = None
        self.flusher: SpoolFlusher | None = None
        self.leadership: Leadership | None = None
        self.role = "active"  # "standby" while another daemon holds the leader lock (MySQL)
        self._exit_status = 0

    # -- lifecycle -----------------------------------------------------------------------------
    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Run until a stop is requested; raise pidfile.AlreadyRunning if another daemon runs."""
        pidfile = PidFile(self.settings.pid_file)
        pidfile.acquire()
        control = None
        http_server = None
        try:
            self._install_signal_handlers()
            if self.settings.http_port:
                from fund_scheduler.api.http import HttpServer

                # Bound before anything starts: a port in use stops the start-up cleanly.
                try:
                    http_server = HttpServer(self, self.settings.http_host, self.settings.http_port)
                except SchedulerError as exc:
                    logger.error("start-up failed: %s", exc)
                    raise
            try:
                self._start()
            except Exception as exc:
                if not is_database_error(exc):
                    logger.exception("start-up failed")
                    raise
                # One clear line, no traceback: the usual cause is outside this program.
                message = (
                    f"start-up failed: database {self.settings.masked_database_url} "
                    f"unavailable: {describe_error(exc)}"
                )
                logger.error(message)
                raise SchedulerError(message) from None
            control = ControlServer(self.settings.control_socket, self.handle_request)
            control.start()
            if http_server is not None:
                http_server.start()
                logger.info("http listening on %s", http_server.url)
            self._run_first_start_jobs()
            logger.info(
                "scheduler ready: pid=%s role=%s jobs=%d database=%s",
                os.getpid(),
                self.role,
                len(self.scheduler.get_jobs()),
                self.settings.masked_database_url,
            )
            if on_ready is not None:
                on_ready()
            next_leader_check = time.monotonic() + LEADER_INTERVAL
            while not self._stop_requested.is_set():
                wait = WATCHDOG_INTERVAL
                if self.leadership is not None and self.leadership.enabled:
                    wait = min(wait, max(next_leader_check - time.monotonic(), 0.0))
                self._main_wake.wait(wait)
                self._main_wake.clear()
                self._check_loop()
                if time.monotonic() >= next_leader_check and not self._stop_requested.is_set():
                    next_leader_check = time.monotonic() + LEADER_INTERVAL
                    self._check_leadership()
                if self._reload_requested and not self._stop_requested.is_set():
                    self._reload_requested = False
                    self.reload()
            self._shutdown()
            return self._exit_status
        finally:
            if self.flusher is not None:
                self.flusher.stop()
            if http_server is not None:
                http_server.close()
            if control is not None:
                control.close()
            if self.notifier is not None:
                self.notifier.close()  # sends what is queued for at most a couple of seconds
            if self.leadership is not None:
                self.leadership.release()
            if self.engine is not None:
                self.engine.dispose()
            pidfile.release()
            logger.info("scheduler stopped")

    def _check_loop(self) -> None:
        """Exit non-zero when the scheduler loop thread died (systemd then restarts the daemon)."""
        scheduler = self.scheduler
        if self._stop_requested.is_set() or scheduler is None or scheduler.state == STATE_STOPPED:
            return
        if not getattr(scheduler, "loop_alive", True):
            logger.critical("the scheduler loop thread died; stopping with exit status %d", EXIT_LOOP_DIED)
            self._exit_status = EXIT_LOOP_DIED
            self.request_stop("the scheduler loop died")

    def _start(self) -> None:
        self.started_at = self.clock()
        self.engine = make_engine(self.settings.database_url)
        if self._migrate is not None:
            self._migrate(self.engine)
        history.ensure_schema(self.engine)
        self.runner = Runner(self.settings, self.registry, self.engine)
        self.spool = Spool(self.settings.home / "data" / "spool")
        self.runner.spool = self.spool
        self.flusher = SpoolFlusher(self.spool, self.engine)
        self.flusher.start()
        self.notifier = Notifier.from_settings(self.settings, self.engine)
        if self.notifier.enabled:
            self.runner.on_finished.append(self.notifier.observe)
        left, kept = reap_orphans(self.engine, on_finished=self.runner.notify_finished)
        if left:
            logger.warning("%d execution(s) left running by a previous daemon marked interrupted", left)
        if kept:
            logger.info("%d execution(s) of a live one-shot run-job left running", kept)
        self.runner.on_idle = self._wake.set
        self.executor = RunnerExecutor(self.runner, self.settings.max_workers)
        store = JsonJobStore(self.engine)
        self.scheduler = GuardedBackgroundScheduler(
            jobstores={"default": store},
            executors={"default": self.executor},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.settings.misfire_grace_time,
            },
            timezone=self.settings.timezone,
            jobstore_retry_interval=JOBSTORE_RETRY_INTERVAL,
        )
        self.scheduler.add_listener(self._on_executed, EVENT_JOB_EXECUTED)
        self.scheduler.add_listener(self._on_error, EVENT_JOB_ERROR)
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        self.scheduler.add_listener(self._on_max_instances, EVENT_JOB_MAX_INSTANCES)
        self.leadership = Leadership(self.engine)
        self.scheduler.may_submit = self._may_submit
        self.scheduler.start(paused=True)
        if self.leadership.try_acquire():
            self._activate()
        else:
            self.role = "standby"
            logger.warning("standby: another daemon holds the leader lock")

    def _activate(self) -> None:
        """Reconcile, catch up and resume: this daemon now runs the jobs."""
        self.role = "active"
        report = reconcile(self.scheduler, self.registry, self.settings.misfire_grace_time)
        logger.info(
            "job store reconciled: %d added, %d updated, %d unchanged, %d removed",
            len(report.added),
            len(report.updated),
            len(report.unchanged),
            len(report.removed),
        )
        for spec in self.registry.specs.values():
            if not spec.enabled:
                logger.warning("job=%s is disabled: %s", spec.id, spec.disabled_reason or "enabled = false")
        catch_up_missed(self.scheduler, self.engine, self.clock(), on_finished=self.runner.notify_finished)
        self.scheduler.resume()

    def _may_submit(self) -> bool:
        """Before each scheduler pass: only the active daemon, with a recently confirmed lock.

        A lock not confirmed for two check intervals (the process was frozen, or the main thread
        is late) is checked on the spot; when it is gone nothing is submitted and the main thread
        is woken to switch to standby.
        """
        leadership = self.leadership
        if leadership is None or not leadership.enabled:
            return True
        if self.role != "active":
            return False
        if leadership.confirm(2 * LEADER_INTERVAL):
            return True
        logger.error("leader lock not confirmed before submitting: nothing submitted")
        self._main_wake.set()
        return False

    def _check_leadership(self) -> None:
        """Active: stop submitting at once when the leader lock is lost. Standby: try to take it."""
        leadership = self.leadership
        if leadership is None or not leadership.enabled or self.scheduler is None:
            return
        if self.role == "active":
            if leadership.still_held():
                return
            self.scheduler.pause()
            self.role = "standby"
            logger.error("lost the leader lock: stopped submitting; standby, retrying")
            return
        if not leadership.try_acquire():
            return
        logger.warning("became active: this daemon holds the leader lock")
        try:
            self._activate()
        except Exception as exc:
            if not is_database_error(exc):
                raise
            self.scheduler.pause()
            self.role = "standby"
            leadership.release()
            logger.error("activation failed: database unavailable (%s); retrying", describe_error(exc))

    def _run_first_start_jobs(self) -> None:
        if not self.settings.run_on_first_start or self.role != "active":
            return
        for spec in self.registry.enabled():
            if spec.run_on_first_start and history.count_for_job(self.engine, spec.id) == 0:
                logger.info("job=%s has never run: running it once now (first start)", spec.id)
                self.run_now(spec.id, trigger="startup")

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_hangup)

    def _on_hangup(self, _signum, _frame) -> None:
        self._reload_requested = True
        self._main_wake.set()

    def reload(self) -> bool:
        """Re-read the job specs and jobs.toml and reconcile them into the running scheduler.

        A configuration with problems is refused (logged) and the running jobs stay as they are.
        """
        if self._load_registry is None:
            logger.warning("reload requested but this daemon has no registry loader; ignored")
            return False
        try:
            registry = self._load_registry()
        except Exception:
            logger.exception("reload failed; keeping the current jobs")
            return False
        if registry.problems:
            for problem in registry.problems:
                logger.error("reload refused: %s", problem)
            return False
        if self.role != "active":  # the active daemon owns the job store; reconciled on activation
            self.registry = registry
            self.runner.registry = registry
            logger.info("reloaded job specs (standby: reconciled once this daemon becomes active)")
            return True
        try:
            report = reconcile(self.scheduler, registry, self.settings.misfire_grace_time)
        except Exception as exc:
            if not is_database_error(exc):
                raise
            logger.error(
                "reload failed: database unavailable (%s); keeping the current jobs", describe_error(exc)
            )
            return False
        self.registry = registry
        self.runner.registry = registry
        logger.info(
            "reloaded job specs: %d added, %d updated, %d unchanged, %d removed",
            len(report.added),
            len(report.updated),
            len(report.unchanged),
            len(report.removed),
        )
        return True

    def _on_signal(self, signum, _frame) -> None:
        self._signals += 1
        if self._signals == 1:
            self.request_stop(f"signal {signal.Signals(signum).name}")
        else:
            self._force = True
            self._wake.set()

    def request_stop(self, why: str) -> None:
        """Ask the main thread to shut down (safe from signal handlers and other threads)."""
        if not self._stop_requested.is_set():
            self._stop_requested.set()
            self._wake.set()
            self._main_wake.set()
            self._stop_reason = why

    def _shutdown(self) -> None:
        timeout = self.stop_timeout
        logger.info(
            "stopping (%s): no new runs; waiting up to %.0fs for %d running execution(s)",
            self._stop_reason,
            timeout,
            self.runner.active_count,
        )
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + timeout
        while self.runner.active_count and not self._force:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wake.clear()
            if self.runner.active_count == 0:
                break
            self._wake.wait(remaining)
        if self.runner.active_count:
            count = self.runner.terminate_all()
            logger.warning(
                "terminated %d running execution(s)%s",
                count,
                " (forced by a second signal)" if self._force else "",
            )
        self.executor.shutdown(wait=True)

    # -- events --------------------------------------------------------------------------------
    def _on_executed(self, event) -> None:
        if self._stop_requested.is_set() or self.role != "active":
            return  # no dependency runs once stopping or on standby
        result = event.retval
        for spec in self.registry.enabled():
            if result is not None and result.job_id in spec.after:
                logger.info("job=%s runs after job=%s succeeded", spec.id, result.job_id)
                try:
                    self.run_now(spec.id, trigger="dependency")
                except SchedulerError as exc:
                    logger.warning("job=%s dependency run not started: %s", spec.id, exc)

    def _on_error(self, event) -> None:
        if not isinstance(event.exception, RunFailed):
            logger.error(
                "job=%s run could not be completed: %r\n%s",
                event.job_id,
                event.exception,
                event.traceback or "",
            )

    def _record(self, job_id: str, status: str, **kwargs) -> int | None:
        """Record a run that never ran (missed/skipped; spooled while the database is away) and
        tell the runner's on_finished observers."""
        return self.runner.record(job_id, status, **kwargs).get("id")

    def _on_missed(self, event) -> None:
        self._record(
            event.job_id,
            "missed",
            scheduled_run_time=event.scheduled_run_time,
            error="run time passed by more than the misfire grace time",
        )
        logger.warning(
            "job=%s run of %s missed (older than the grace time)", event.job_id, event.scheduled_run_time
        )

    def _on_max_instances(self, event) -> None:
        for run_time in event.scheduled_run_times:
            self._record(
                event.job_id,
                "skipped",
                scheduled_run_time=run_time,
                error="previous run still going (max_instances reached)",
            )
        logger.warning("job=%s run skipped: the previous run is still going", event.job_id)

    # -- commands ------------------------------------------------------------------------------
    def _job(self, job_id: str):
        spec = self.registry.get(job_id)
        job = self.scheduler.get_job(job_id)
        if job is None:
            raise SchedulerError(f"job {job_id!r} is disabled: {spec.disabled_reason or 'enabled = false'}")
        return job

    def run_now(self, job_id: str, trigger: str = "manual") -> tuple[int, Future]:
        """Start a run of ``job_id`` now; return its execution id and a future of its events.

        Raises UnknownJobError, or SchedulerError when the job is disabled, already running as
        often as its max_instances allows, or the daemon is stopping.
        """
        if self._stop_requested.is_set():
            raise SchedulerError(f"job {job_id!r} not started: the scheduler is stopping")
        try:
            job = self._job(job_id)
        except Exception as exc:
            if not is_database_error(exc):
                raise
            # The job store is unreachable: the run fails now, its row goes to the spool.
            error = f"database unavailable, run not started: {describe_error(exc)}"
            self._record(job_id, "failed", scheduled_run_time=None, trigger=trigger, error=error)
            logger.error("job=%s run (trigger %s) not started: %s", job_id, trigger, error)
            raise SchedulerError(f"job {job_id!r} not started: {error}") from None
        # After the lookup: a daemon cut off from the database reports that, not "standby".
        if self.role != "active":
            raise SchedulerError(
                f"job {job_id!r} not started: this daemon is on standby "
                "(another daemon holds the leader lock and runs the jobs)"
            )
        started: Future = Future()
        try:
            done = self.executor.submit_now(job, trigger, on_started=started.set_result)
        except MaxInstancesReachedError:
            self._record(
                job_id,
                "skipped",
                scheduled_run_time=None,
                trigger=trigger,
                error="a run is already going (max_instances reached)",
            )
            raise SchedulerError(
                f"job {job_id!r} is already running (max_instances={job.max_instances})"
            ) from None
        done.add_done_callback(lambda f: started.done() or started.set_exception(_not_started_error(f)))
        return started.result(timeout=60), done

    def set_paused(self, job_id: str, paused: bool):
        """Pause or resume ``job_id`` (kept across restarts); return the APScheduler job.

        Raises UnknownJobError for an unknown id, SchedulerError for a disabled job.
        """
        self._job(job_id)
        (self.scheduler.pause_job if paused else self.scheduler.resume_job)(job_id)
        logger.info("job=%s %s by the operator", job_id, "paused" if paused else "resumed")
        return self.scheduler.get_job(job_id)

    def handle_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Serve one control-socket request (see :mod:`fund_scheduler.api.control`)."""
        cmd = request["cmd"]
        if cmd == "ping":
            return {"ok": True, "pid": os.getpid()}
        if cmd == "status":
            return {"ok": True, **self.status()}
        job_id = str(request.get("job", ""))
        if cmd == "run":
            execution_id, done = self.run_now(job_id)
            if request.get("wait"):
                result = _result_of(done.result())
                try:
                    row = history.get(self.engine, execution_id) or {}
                except Exception as exc:
                    if not is_database_error(exc) or result is None:
                        raise
                    row = {"status": result.status, "error": result.error}  # spooled meanwhile
                return {
                    "ok": True,
                    "execution_id": execution_id,
                    "status": row["status"],
                    "error": row["error"],
                }
            return {"ok": True, "execution_id": execution_id, "status": "running"}
        if cmd in ("pause", "resume"):
            job = self.set_paused(job_id, cmd == "pause")
            return {"ok": True, "job": job_id, "next_run_time": job.next_run_time}
        if cmd == "set-stop-timeout":
            self.stop_timeout = max(float(request.get("timeout", self.stop_timeout)), 0.0)
            return {"ok": True, "timeout": self.stop_timeout}
        raise SchedulerError(f"unknown command {cmd!r}")

    def status(self) -> dict[str, Any]:
        jobs = []
        try:
            stored = self.scheduler.get_jobs()
        except Exception as exc:
            if not is_database_error(exc):
                raise
            stored = []
        for job in stored:
            jobs.append(
                {
                    "id": job.id,
                    "name": job.name,
                    "trigger": describe(job.trigger),
                    "timezone": str(getattr(job.trigger, "timezone", self.settings.timezone)),
                    "next_run_time": job.next_run_time,
                    "paused": job.next_run_time is None,
                }
            )
        uptime = (self.clock() - self.started_at).total_seconds() if self.started_at else 0
        return {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "uptime": uptime,
            "running_executions": self.runner.active_count,
            "jobs": jobs,
            "scheduler_running": self.scheduler.running,
            "role": self.role,
            "database_error": getattr(self.scheduler, "database_error", None),
            "spooled_history": len(self.spool.pending()) if self.spool else 0,
        }


def _result_of(events) -> Any:
    """The :class:`~fund_scheduler.run.runner.ExecutionResult` carried by a run's executor events."""
    for event in reversed(events or []):
        if getattr(event, "retval", None) is not None:
            return event.retval
        if isinstance(getattr(event, "exception", None), RunFailed):
            return event.exception.result
    return None


def _not_started_error(future: Future) -> BaseException:
    """Why a run ended before it reported its execution id (e.g. the database is unavailable)."""
    if future.exception() is not None:
        return future.exception()
    result = _result_of(future.result())
    if result is not None and result.error:
        return SchedulerError(f"job {result.job_id!r} not started: {result.error}")
    return SchedulerError("the run ended before it started")
