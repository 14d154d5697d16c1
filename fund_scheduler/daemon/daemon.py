"""One scheduler process: start, serve, reload, hand over, shut down.

:class:`Daemon` is built complete from :class:`~fund_scheduler.daemon.parts.DaemonParts`; nothing
is filled in later. The composition around it (PID lock, HTTP server, control socket, signals)
is :func:`fund_scheduler.cli.serve.serve`.

Start (:meth:`Daemon.start`), in order: apply the schema migrations (the ``migrate`` callable;
without one the tables must exist); store (by a child process) and load the exchange calendars
the jobs name (:mod:`fund_scheduler.daemon.calendar_keeper`); mark history rows a dead daemon
left ``running`` as ``interrupted``; start the spool flusher; start the scheduler paused; take the
leader lock (MySQL) and, when active, reconcile the specs into the job store, plan the catch-up
of fire times missed while down (:mod:`fund_scheduler.daemon.catchup`) and resume. On standby
the lock is retried. The run requests' thread (:mod:`fund_scheduler.daemon.dispatcher`) starts
pending retries (:mod:`fund_scheduler.daemon.retries`) on the active daemon only.

:meth:`Daemon.serve` then waits on an event on the main thread (it never polls): it checks that
the scheduler loop is alive (exit status 70 when it died, so systemd restarts the daemon), checks
or retries the leader lock, reloads the specs (and the calendars) on SIGHUP (audited as
``signal:SIGHUP``), applies runtime job changes another process stored (checked every 30 s) and
reloads the calendars when the stored ones changed (checked at most once a minute).

Shutdown (:meth:`Daemon.shutdown`, after SIGTERM/SIGINT or ``stop``): stop submitting, wait up to
the stop timeout for running executions, then terminate their process groups (recorded
``interrupted``); a second signal skips the wait.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from apscheduler.executors.base import MaxInstancesReachedError

from fund_common.i18n import N_
from fund_common.runstatus import RunStatus
from fund_scheduler.daemon.backfill import Backfills
from fund_scheduler.daemon.calendar_keeper import CalendarKeeper
from fund_scheduler.daemon.catchup import catch_up_missed
from fund_scheduler.daemon.dependents import Dependents
from fund_scheduler.daemon.dispatcher import RequestDispatcher
from fund_scheduler.daemon.events import install_listeners
from fund_scheduler.daemon.loop import LEADER_INTERVAL
from fund_scheduler.daemon.parts import DaemonParts
from fund_scheduler.daemon.reconcile import reconcile
from fund_scheduler.daemon.retries import RetryPlanner
from fund_scheduler.errors import ConfigError, JobBusy, SchedulerError
from fund_scheduler.jobs.edits import EditRequest, JobEdit
from fund_scheduler.jobs.registry import Registry, apply_changes
from fund_scheduler.run.executor import result_of
from fund_scheduler.run.process import reap_orphans
from fund_scheduler.store import audit, claims, history, job_changes, jobstore
from fund_scheduler.store.audit import Actor
from fund_scheduler.store.engine import describe_error, is_database_error, missing_tables

__all__ = ["EXIT_LOOP_DIED", "Daemon"]

logger = logging.getLogger("scheduler.daemon")

WATCHDOG_INTERVAL = 5.0  # how often the main thread checks that the scheduler loop is alive
CHANGES_INTERVAL = 30.0  # how often the stored job changes are compared with the ones in use
EXIT_LOOP_DIED = 70  # exit status when the scheduler loop died (systemd Restart=on-failure)
#: The tables the daemon needs; the schema migrations create them.
REQUIRED_TABLES = (
    history.job_executions.name,
    jobstore.scheduler_jobs.name,
    jobstore.scheduler_jobs_rejected.name,
    jobstore.scheduler_jobs_set_aside.name,
)


class Daemon:
    """One scheduler process; see the module docstring for the order of things."""

    def __init__(
        self,
        parts: DaemonParts,
        *,
        clock: Callable[[], datetime] | None = None,
        load_registry: Callable[[], Registry] | None = None,
        migrate: Callable[[Any], object] | None = None,
    ):
        self.settings = parts.settings
        self.registry = parts.registry
        #: Code and jobs.toml, without the runtime changes the database holds (layered on top).
        self.base_registry = parts.registry
        self.engine = parts.engine
        self.spool = parts.spool
        self.flusher = parts.flusher
        self.runner = parts.runner
        self.notifier = parts.notifier
        self.executor = parts.executor
        self.scheduler = parts.scheduler
        self.jobstore = parts.jobstore
        self.leadership = parts.leadership
        self.clock = clock or (lambda: datetime.now(UTC))
        self.started_at: datetime | None = None
        self.role = "active"  # "standby" while another daemon holds the leader lock (MySQL)
        self.stop_timeout = float(self.settings.stop_timeout)
        self._migrate = migrate
        self._load_registry = load_registry
        self._main_wake = threading.Event()
        self._registry_lock = threading.RLock()  # a reload and a runtime job change, one at a time
        self._stop_requested = threading.Event()
        self._wake = threading.Event()
        self._reload_requested = False
        self._applied_changes: dict[str, dict[str, Any]] | None = None  # the job_changes in use
        #: The problems of the last reload, when it was refused (the running jobs are the older ones).
        self.reload_problems: list[str] = []
        self._force = False
        self._signals = 0
        self._stop_reason = "requested"
        self._exit_status = 0
        self.runner.on_idle = self._wake.set
        self.runner.clock = self.clock
        #: The dependency rules: the runner's gate at a dependent's deadline, starts after a success.
        self.dependents = Dependents(self)
        self.runner.gate = self.dependents
        self.scheduler.may_submit = self._may_submit
        #: Retries: planned first of all on a finished row (before its alert), started when due.
        self.retries = RetryPlanner(self)
        self.runner.on_finished.insert(0, self.retries.observe)
        self.backfills = Backfills(self)
        self.requests = RequestDispatcher(self, passes=(self.backfills.advance,))
        self.retries.on_planned = self.requests.poke
        self.runner.on_finished.append(lambda _row: self.requests.poke())  # room for a queued one
        #: The exchange calendars of the jobs: refreshed by a child, loaded into the triggers' book.
        self.calendars = CalendarKeeper(
            self.engine, self.settings, self.scheduler, self.notifier.notify, clock=self.clock
        )
        install_listeners(self)

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Bring the schema up to date, settle leftovers, start the scheduler; see the module doc."""
        self.started_at = self.clock()
        _log_broken(self.registry)
        if self._migrate is not None:
            self._migrate(self.engine)
        else:
            missing = missing_tables(self.engine, REQUIRED_TABLES)
            if missing:
                raise ConfigError(
                    f"the database has no table {', '.join(missing)}: run `db upgrade` "
                    "(SCHEDULER_MIGRATIONS=none turns the migrations at start off)"
                )
        self._use_registry(self._layered(self.base_registry))
        self.calendars.prepare(self.registry)
        left, kept = reap_orphans(self.engine, on_finished=self.runner.notify_finished)
        if left:
            logger.warning("%d execution(s) left running by a previous daemon marked interrupted", left)
        if kept:
            logger.info("%d execution(s) of a live one-shot run-job left running", kept)
        self.flusher.start()
        self.scheduler.start(paused=True)
        self.requests.start()
        if self.leadership.try_acquire():
            self._activate()
        else:
            self.role = "standby"
            logger.warning("standby: another daemon holds the leader lock")

    def _activate(self) -> None:
        """Reconcile, catch up and resume: this daemon now runs the jobs."""
        self.role = "active"
        if self.runner.fork_server is not None:
            self.runner.fork_server.start()  # imports the job code while the jobs are caught up
        report = reconcile(self.scheduler, self.jobstore, self.registry, self.settings.misfire_grace_time)
        logger.info("job store reconciled: %s", report.summary())
        for spec in self.registry.specs.values():
            if not spec.enabled:
                logger.warning("job=%s is disabled: %s", spec.id, spec.why_disabled)
        unrun: list[dict] = []  # told to the observers (alerts...) once the scheduler runs again
        catch_up_missed(self.scheduler, self.engine, self.clock(), on_finished=unrun.append)
        self.scheduler.resume()
        for row in unrun:
            self.runner.notify_finished(row)
        self._adopt_remote_runs()
        self.requests.poke()  # retries left pending by the previous active daemon

    def _adopt_remote_runs(self) -> None:
        """Watch the runs on workers a previous leader left unfinished (queued or running): their
        end is recorded here (alerts, retries, dependents) and a lost worker's run given up."""
        remote = self.runner.remote
        if remote is None:
            return
        adopted = remote.adopt(claims.unfinished(self.engine), self._adopted_run_ended)
        if adopted:
            logger.info("%d run(s) on workers left by the previous leader adopted", adopted)

    def _adopted_run_ended(self, row: dict[str, Any]) -> None:
        result = self.runner.remote_ended(row)
        if result.status != RunStatus.SUCCESS or self.stopping or self.role != "active":
            return
        asked = {k: row.get(k) for k in history.ASKED_COLUMNS}
        trigger = row["trigger"]
        self.dependents.after_run(replace(result, trigger=trigger, run_date=row.get("run_date"), asked=asked))

    def run_first_start_jobs(self) -> None:
        """Run each job marked ``run_on_first_start`` that has never run (active daemon only)."""
        if not self.settings.run_on_first_start or self.role != "active":
            return
        for spec in self.registry.enabled():
            if spec.run_on_first_start and history.newest_row(self.engine, spec.id) is None:
                logger.info("job=%s has never run: running it once now (first start)", spec.id)
                self.run_now(spec.id, trigger="startup")

    # -- the main thread -----------------------------------------------------------------------
    def serve(self) -> int:
        """Wait until a stop is requested, watching the loop and the leader lock; shut down;
        return the exit status."""
        next_leader_check = time.monotonic() + LEADER_INTERVAL
        next_changes_check = time.monotonic() + CHANGES_INTERVAL
        while not self._stop_requested.is_set():
            wait = WATCHDOG_INTERVAL
            if self.leadership.enabled:
                wait = min(wait, max(next_leader_check - time.monotonic(), 0.0))
            self._main_wake.wait(wait)
            self._main_wake.clear()
            self._check_loop()
            if not self._stop_requested.is_set():
                self.calendars.watch()
            if time.monotonic() >= next_leader_check and not self._stop_requested.is_set():
                next_leader_check = time.monotonic() + LEADER_INTERVAL
                self._check_leadership()
            if time.monotonic() >= next_changes_check and not self._stop_requested.is_set():
                next_changes_check = time.monotonic() + CHANGES_INTERVAL
                self._watch_changes()
            if self._reload_requested and not self._stop_requested.is_set():
                self._reload_requested = False
                with contextlib.suppress(SchedulerError):  # logged; the current jobs stay
                    self.reload(audit.SIGHUP)
        self.shutdown()
        return self._exit_status

    def _watch_changes(self) -> None:
        try:
            self.apply_stored_changes()
        except Exception as exc:
            if not is_database_error(exc):
                raise
            logger.debug("job changes not checked: database unavailable (%s)", describe_error(exc))

    def _check_loop(self) -> None:
        """Exit non-zero when the scheduler loop thread died (systemd then restarts the daemon)."""
        if self._stop_requested.is_set() or not self.scheduler.running:
            return
        if not self.scheduler.loop_alive:
            logger.critical("the scheduler loop thread died; stopping with exit status %d", EXIT_LOOP_DIED)
            self._exit_status = EXIT_LOOP_DIED
            self.request_stop("the scheduler loop died")

    # -- leadership ----------------------------------------------------------------------------
    def _may_submit(self) -> bool:
        """Before each scheduler pass: only the active daemon, with a recently confirmed lock.

        A lock not confirmed for two check intervals (the process was frozen, or the main thread
        is late) is checked on the spot; when it is gone nothing is submitted and the main thread
        is woken to switch to standby.
        """
        if not self.leadership.enabled:
            return True
        if self.role != "active":
            return False
        if self.leadership.confirm(2 * LEADER_INTERVAL):
            return True
        logger.error("leader lock not confirmed before submitting: nothing submitted")
        self._main_wake.set()
        return False

    def _check_leadership(self) -> None:
        """Active: stop submitting at once when the leader lock is lost. Standby: try to take it."""
        leadership = self.leadership
        if not leadership.enabled:
            return
        if self.role == "active":
            if leadership.still_held():
                return
            self.scheduler.pause()
            self.role = "standby"
            if self.runner.remote is not None:
                self.runner.remote.release()  # the next leader watches them
            logger.error("lost the leader lock: stopped submitting; standby, retrying")
            return
        if not leadership.try_acquire():
            return
        logger.warning("became active: this daemon holds the leader lock")
        try:
            self._use_registry(self._layered(self.base_registry))  # the changes made meanwhile
            self._activate()
        except Exception as exc:
            if not is_database_error(exc):
                raise
            self.scheduler.pause()
            self.role = "standby"
            leadership.release()
            logger.error("activation failed: database unavailable (%s); retrying", describe_error(exc))

    # -- reload --------------------------------------------------------------------------------
    def request_reload(self) -> None:
        """Ask the main thread to reload the specs (safe from a signal handler)."""
        self._reload_requested = True
        self._main_wake.set()

    def reload(self, actor: Actor | None = None) -> dict[str, Any]:
        """Re-read the job specs and jobs.toml and reconcile them into the running scheduler;
        what changed (job ids by ``added``, ``updated``, ``set_aside``, ``restored``, ``done``;
        on a standby ``standby`` and the job count). Recorded in the audit log for ``actor``.

        A configuration with problems is refused (ConfigError naming each problem; logged) and the
        running jobs stay as they are; SchedulerError when the specs cannot be read or the
        database is away. One registry change at a time: a reload and a runtime job change never
        interleave.
        """
        with self._registry_lock:
            try:
                changed = self._reload()
            except SchedulerError as exc:
                if not isinstance(exc, ConfigError):  # a refusal sets its problems itself
                    self.reload_problems = [str(exc)]
                audit.record_or_log(self.engine, actor, "reload", None, outcome=str(exc))
                raise
            self.reload_problems = []
            audit.record_or_log(self.engine, actor, "reload", None, after=changed)
            return changed

    def _reload(self) -> dict[str, Any]:
        if self._load_registry is None:
            logger.warning("reload requested but this daemon has no registry loader; ignored")
            raise SchedulerError("this daemon has no job specs to reload (started without a registry loader)")
        try:
            registry = self._load_registry()
        except Exception as exc:
            logger.exception("reload failed; keeping the current jobs")
            raise SchedulerError(f"reload failed, the current jobs kept: {exc}") from exc
        if not registry.problems:
            self.base_registry = registry
            registry = self._layered(registry)
        if registry.problems:
            self.reload_problems = [f"reload refused, the current jobs kept: {p}" for p in registry.problems]
            for problem in registry.problems:
                logger.error("reload refused: %s", problem)
            raise ConfigError("reload refused, the current jobs kept: " + "; ".join(registry.problems))
        _log_broken(registry)
        self.calendars.prepare(registry)  # the operator file too: SIGHUP applies its changes
        if self.role != "active":  # the active daemon owns the job store; reconciled on activation
            self._use_registry(registry)
            logger.info("reloaded job specs (standby: reconciled once this daemon becomes active)")
            return {"standby": True, "jobs": len(registry.specs)}
        try:
            report = reconcile(self.scheduler, self.jobstore, registry, self.settings.misfire_grace_time)
        except Exception as exc:
            if not is_database_error(exc):
                raise
            message = f"reload failed: database unavailable ({describe_error(exc)}); keeping the current jobs"
            logger.error("%s", message)
            raise SchedulerError(message) from None
        self._use_registry(registry)
        logger.info("reloaded job specs: %s", report.summary())
        self.calendars.replan()
        changed = {
            name: getattr(report, name) for name in ("added", "updated", "set_aside", "restored", "done")
        }
        return {"summary": report.summary(), **{name: ids for name, ids in changed.items() if ids}}

    def _layered(self, base: Registry) -> Registry:
        """``base`` with the runtime job changes on top (the database's ``job_changes``); ``base``
        alone while the database is away (logged)."""
        registry, changes = job_changes.layered(self.engine, base, self.settings.timezone)
        if changes is not None:
            self._applied_changes = changes
        return registry

    def change_job(self, request: EditRequest, actor: Actor | None) -> tuple[JobEdit, Registry]:
        """Store one runtime job change (:func:`~fund_scheduler.store.job_changes.save_edit`:
        checked whole, audited for ``actor``) and apply it as a reload does; the edit and the new
        registry. Raises SchedulerError or ConfigError naming every problem (nothing stored, the
        running jobs unchanged)."""
        with self._registry_lock:
            edit, registry = job_changes.save_edit(
                self.engine,
                request,
                base=self.base_registry,
                actor=actor,
                default_tz=self.settings.timezone,
                now=self.clock(),
            )
            self._applied_changes = job_changes.read_all(self.engine)
            by = actor.name if actor else None
            self._apply(registry, f"job={request.job_id} changed at runtime by {by}")
            return edit, registry

    def apply_stored_changes(self) -> bool:
        """Apply the runtime job changes stored since this daemon last read them (made by a CLI
        without a daemon, or by another host's daemon); True when there were any. A change that
        no longer fits the specs is logged and left unapplied."""
        with self._registry_lock:
            changes = job_changes.read_all(self.engine)
            if changes == self._applied_changes:
                return False
            self._applied_changes = changes
            registry = apply_changes(self.base_registry, changes, self.settings.timezone)
            new = [p for p in registry.problems if p not in self.base_registry.problems]
            if new:
                for problem in new:
                    logger.error("stored job changes not applied: %s", problem)
                return True
            who = sorted({str(c.get("changed_by")) for c in changes.values()})
            self._apply(registry, f"stored job changes applied (by {', '.join(who) or 'nobody'})")
            return True

    def _apply(self, registry: Registry, what: str) -> None:
        """Use ``registry`` (calendars prepared; reconciled into the job store when active)."""
        self.calendars.prepare(registry)
        if self.role == "active":
            report = reconcile(self.scheduler, self.jobstore, registry, self.settings.misfire_grace_time)
            logger.info("%s: %s", what, report.summary())
        self._use_registry(registry)
        if self.role == "active":
            self.calendars.replan()

    def _use_registry(self, registry: Registry) -> None:
        self.registry = registry
        self.runner.registry = registry

    # -- stopping ------------------------------------------------------------------------------
    def on_signal(self, signum: int) -> None:
        """SIGTERM/SIGINT: the first asks for a graceful stop, a second skips the wait."""
        self._signals += 1
        if self._signals == 1:
            self.request_stop(f"signal {signal.Signals(signum).name}")
        else:
            self._force = True
            self._wake.set()

    def request_stop(self, why: str) -> None:
        """Ask the main thread to shut down (safe from signal handlers and other threads)."""
        if not self._stop_requested.is_set():
            self._stop_reason = why
            self._stop_requested.set()
            self._wake.set()
            self._main_wake.set()

    def shutdown(self) -> None:
        """Stop submitting; wait up to the stop timeout for running executions; end the rest."""
        timeout = self.stop_timeout
        logger.info(
            "stopping (%s): no new runs; waiting up to %.0fs for %d running execution(s)",
            self._stop_reason,
            timeout,
            self.runner.active_count,
        )
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.requests.stop()
        if self.runner.remote is not None:
            released = self.runner.remote.release()  # runs on workers go on; the next leader adopts them
            if released:
                logger.info("%d run(s) on workers go on without this daemon", released)
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

    def close(self) -> None:
        """Release what the daemon holds: the flusher, queued alerts (sent for a couple of
        seconds), the leader lock, the database connections."""
        if self.scheduler.running:  # start() failed half-way: nothing may run any more
            self.scheduler.shutdown(wait=False)
        self.requests.stop()
        self.flusher.stop()
        self.runner.close()
        if self.runner.remote is not None:
            self.runner.remote.close()
        self.notifier.close()
        self.leadership.release()
        self.engine.dispose()

    # -- commands ------------------------------------------------------------------------------
    def _job(self, job_id: str):
        spec = self.registry.get(job_id)
        job = self.scheduler.get_job(job_id)
        if job is None:
            raise SchedulerError(N_("job {job!r} is disabled: {why}"), job=job_id, why=spec.why_disabled)
        return job

    def run_now(
        self,
        job_id: str,
        trigger: str = "manual",
        *,
        run_date: date | None = None,
        with_dependents: bool = False,
        asked: Mapping[str, Any] | None = None,
        record_busy: bool = True,
    ) -> tuple[int, Future]:
        """Start a run of ``job_id`` now; return its execution id and a future of its events.

        ``run_date``: the business date (default today's, in the job's timezone);
        ``with_dependents``: its success starts its dependents (as a scheduled run's does);
        ``asked``: what the run was asked for (validated params, who asked), kept on its row.
        Raises UnknownJobError, JobBusy when the job already runs as often as its max_instances
        allows (recorded ``skipped`` unless not ``record_busy``: a queued request waits for room
        instead), or SchedulerError when the job is disabled or the daemon is stopping or on
        standby.
        """
        if self._stop_requested.is_set():
            raise SchedulerError(N_("job {job!r} not started: the scheduler is stopping"), job=job_id)
        try:
            job = self._job(job_id)
        except Exception as exc:
            if not is_database_error(exc):
                raise
            # The job store is unreachable: the run fails now, its row goes to the spool.
            error = f"database unavailable, run not started: {describe_error(exc)}"
            self.runner.record(
                job_id, RunStatus.FAILED, scheduled_run_time=None, trigger=trigger, error=error
            )
            logger.error("job=%s run (trigger %s) not started: %s", job_id, trigger, error)
            raise SchedulerError(f"job {job_id!r} not started: {error}") from None
        # After the lookup: a daemon cut off from the database reports that, not "standby".
        if self.role != "active":
            raise SchedulerError(
                N_(
                    "job {job!r} not started: this daemon is on standby "
                    "(another daemon holds the leader lock and runs the jobs)"
                ),
                job=job_id,
            )
        started: Future = Future()
        try:
            done = self.executor.submit_now(
                job,
                trigger,
                on_started=started.set_result,
                run_date=run_date,
                with_dependents=with_dependents,
                asked=asked,
            )
        except MaxInstancesReachedError:
            busy = JobBusy(
                N_("job {job!r} is already running (max_instances={max_instances})"),
                job=job_id,
                max_instances=job.max_instances,
            )
            if not record_busy:
                raise busy from None
            self.runner.record(
                job_id,
                RunStatus.SKIPPED,
                scheduled_run_time=None,
                trigger=trigger,
                error="a run is already going (max_instances reached)",
                run_date=run_date,
            )
            raise busy from None

        self.backfills.track(asked, done)

        def report_not_started(future: Future) -> None:
            if not started.done():
                started.set_exception(_not_started_error(future))

        done.add_done_callback(report_not_started)
        return started.result(timeout=60), done

    def cancel_execution(self, execution_id: int, by: str) -> bool:
        """End run ``execution_id`` of this daemon (its process group, recorded ``cancelled`` by
        ``by``); False when it is not a run going here."""
        return self.runner.cancel(execution_id, by)

    def set_paused(self, job_id: str, paused: bool):
        """Pause or resume ``job_id`` (kept across restarts); return the APScheduler job.

        Raises UnknownJobError for an unknown id, SchedulerError for a disabled job.
        """
        self._job(job_id)
        (self.scheduler.pause_job if paused else self.scheduler.resume_job)(job_id)
        logger.info("job=%s %s by the operator", job_id, "paused" if paused else "resumed")
        return self.scheduler.get_job(job_id)

    def set_stop_timeout(self, seconds: float) -> float:
        self.stop_timeout = max(float(seconds), 0.0)
        return self.stop_timeout

    def uptime(self) -> float:
        return (self.clock() - self.started_at).total_seconds() if self.started_at else 0.0

    @property
    def pid(self) -> int:
        return os.getpid()


def _log_broken(registry: Registry) -> None:
    for line in registry.broken_lines():
        logger.error("%s; its jobs are set aside, the other jobs run", line)


def _not_started_error(future: Future) -> BaseException:
    """Why a run ended before it reported its execution id (e.g. the database is unavailable)."""
    exc = future.exception()
    if exc is not None:
        return exc
    result = result_of(future.result())
    if result is not None and result.error:
        return SchedulerError(f"job {result.job_id!r} not started: {result.error}")
    return SchedulerError("the run ended before it started")
