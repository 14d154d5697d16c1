"""The operations of a running daemon: the one facade its front-ends call.

Both the Unix control socket (the CLI's channel, :mod:`fund_scheduler.api.control`) and the HTTP
API (:mod:`fund_scheduler.api.app`) go through :class:`Operations` and nothing else of the
daemon: status, the job rows, run now, pause, resume, the stop timeout, a subscription to
finished runs, the health checks (loop, database, panels, logs), the check jobs' states and the
history reads.

Reads that need the database degrade instead of failing while it is away: the job rows fall back
to the specs, the status says ``database_error``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from fund_common import i18n
from fund_common.envreader import shown
from fund_common.i18n import N_
from fund_common.runstatus import UNFINISHED
from fund_scheduler import logsetup
from fund_scheduler.daemon.checks import check_rows
from fund_scheduler.daemon.daemon import Daemon
from fund_scheduler.daemon.dependents import chain_view
from fund_scheduler.daemon.reconcile import job_store_problems
from fund_scheduler.errors import SchedulerError, UnknownExecution
from fund_scheduler.jobs.edits import EditRequest
from fund_scheduler.jobs.panels import error_line, run_panels
from fund_scheduler.jobs.params import check_run_date, validate_params
from fund_scheduler.jobs.rows import job_rows
from fund_scheduler.run.executor import result_of
from fund_scheduler.store import audit, history
from fund_scheduler.store.audit import Actor
from fund_scheduler.store.engine import describe_error, is_database_error

__all__ = ["DB_CHECK_TIMEOUT", "PANEL_CACHE_SECONDS", "Operations"]

logger = logging.getLogger("scheduler.operations")

DB_CHECK_TIMEOUT = 3.0
PANEL_CACHE_SECONDS = 5.0


class Operations:
    """What the control socket and the HTTP API may ask of ``daemon``."""

    def __init__(self, daemon: Daemon):
        self._daemon = daemon
        self._db_lock = threading.Lock()
        self._db_check: Future | None = None
        self._panel_lock = threading.Lock()
        #: Per language: when the panels were computed, and what they answered.
        self._panels: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    # -- facts ---------------------------------------------------------------------------------
    @property
    def timezone(self) -> str:
        return str(self._daemon.settings.timezone)

    @property
    def masked_database_url(self) -> str:
        return self._daemon.settings.masked_database_url

    @property
    def role(self) -> str:
        return self._daemon.role

    def loop_state(self) -> tuple[bool, float | None]:
        """(the scheduler loop thread is alive, seconds since its last pass)."""
        scheduler = self._daemon.scheduler
        return scheduler.loop_alive, scheduler.heartbeat_age()

    def running_executions(self) -> int:
        return self._daemon.runner.active_count

    def status(self) -> dict[str, Any]:
        """pid, start, uptime, loop, role, running executions, stored job count, database error,
        spooled history rows, the job store's and the logs' problems, the fork server's state
        (None when turned off)."""
        daemon = self._daemon
        alive, age = self.loop_state()
        fork_server = daemon.runner.fork_server
        return {
            "pid": daemon.pid,
            "started_at": daemon.started_at,
            "uptime": daemon.uptime(),
            "scheduler_running": alive,
            "heartbeat_age_seconds": None if age is None else round(age, 3),
            "role": daemon.role,
            "running_executions": self.running_executions(),
            "jobs": len(self._stored_ids()),
            "timezone": self.timezone,
            "database": self.masked_database_url,
            "database_error": daemon.scheduler.database_error,
            "spooled_history": len(daemon.spool.pending()),
            # In the asking command's language (the control socket speaks it).
            "job_store_problems": [shown(p) for p in self.job_store_problems()],
            "log_problems": [shown(p) for p in self.log_problems()],
            "calendar_problems": [shown(p) for p in self.calendar_problems()],
            "fork_server": None if fork_server is None else fork_server.state(),
        }

    def workers(self) -> dict[str, Any]:
        """The workers on other hosts (name, host, queues, concurrency, last heartbeat, alive,
        running runs) and the queues (waiting at the broker, queued and running rows, the live
        workers consuming each): :func:`fund_scheduler.store.workers.overview`. ``broker``: the
        broker's URL (masked), None when runs only run here."""
        from fund_scheduler.store import workers

        daemon = self._daemon
        settings = daemon.settings
        remote = daemon.runner.remote
        queues = {q for spec in daemon.registry.specs.values() if (q := daemon.runner.queue_of(spec))}
        view = workers.overview(daemon.engine, daemon.clock(), settings.remote.lease, queues)
        depths = remote.queue_depths([q["name"] for q in view["queues"]]) if remote is not None else {}
        for queue in view["queues"]:
            queue["at_broker"] = depths.get(queue["name"])
        return {"broker": settings.remote.masked_broker_url, **view}

    def report(self) -> dict[str, Any]:
        """All ``status`` prints while this daemon runs, answered here so that the command loads
        no database code: :meth:`status`, this process's memory (``rss_bytes``), the job rows,
        the problems of the last refused reload (``config_problems``), the chain, the check jobs'
        states and the failures of the last 24 h (a database error said in ``database_error``)."""
        import psutil

        daemon = self._daemon
        report = {
            **self.status(),
            "rss_bytes": psutil.Process().memory_info().rss,
            "jobs": self.jobs(fallback=True),
            "config_problems": list(daemon.reload_problems),
        }
        if not report.get("database_error"):  # the key says there is one
            report.pop("database_error", None)
        try:
            report["checks"] = self.checks()
            report["chain"] = self.chain()
            report["remote"] = self.workers()
            report["failures_24h"] = history.failures_since(
                daemon.engine, daemon.clock() - timedelta(hours=24)
            )
        except Exception as exc:
            if not is_database_error(exc):
                raise
            report["database_error"] = describe_error(exc)
        return report

    def log_problems(self) -> list[str]:
        """The logs this daemon cannot write (``scheduler.log``, a job's log), each retried first."""
        return logsetup.log_problems() + self._daemon.runner.log_problems()

    def calendar_problems(self) -> list[str]:
        """The exchange calendars' problems: not loaded (weekdays used), an operator file
        problem, a known range ending within 60 days."""
        return self._daemon.calendars.problems()

    def job_store_problems(self, *, read_database: bool = True) -> list[str]:
        """:func:`~fund_scheduler.daemon.reconcile.job_store_problems` of this daemon (the broken
        job modules alone without ``read_database`` or while the database is away)."""
        daemon = self._daemon
        set_aside: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        try:
            if read_database:
                set_aside, rejected = daemon.jobstore.set_aside_rows(), daemon.jobstore.rejected_rows()
        except Exception as exc:
            if not is_database_error(exc):
                raise
        return job_store_problems(daemon.registry, set_aside, rejected)

    # -- jobs ----------------------------------------------------------------------------------
    def _stored_ids(self) -> list[str]:
        try:
            return self._daemon.jobstore.stored_ids()
        except Exception as exc:
            if not is_database_error(exc):
                raise
            return []

    def jobs(self, *, fallback: bool = False) -> list[dict[str, Any]]:
        """The job rows (:func:`fund_scheduler.jobs.rows.job_rows`) as this daemon sees them.

        A database error is raised, unless ``fallback``: then the rows are the specs' alone.
        """
        daemon = self._daemon
        try:
            stored = daemon.scheduler.get_jobs()
            last = history.last_per_job(daemon.engine)
            done = daemon.jobstore.done_jobs()
        except Exception as exc:
            if not fallback or not is_database_error(exc):
                raise
            stored, last, done = [], {}, {}
        return job_rows(daemon.registry, stored, last, daemon.settings.timezone, done)

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The row of ``job_id`` (as in :meth:`jobs`), built for that job alone; None when
        nothing defines or stores it."""
        daemon = self._daemon
        stored = daemon.scheduler.get_job(job_id)
        if stored is None and job_id not in daemon.registry.specs:
            return None
        newest = history.newest_row(daemon.engine, job_id)
        last = {job_id: newest} if newest is not None else {}
        done = daemon.jobstore.done_jobs()
        rows = job_rows(
            daemon.registry, [stored] if stored else [], last, daemon.settings.timezone, done, only=job_id
        )
        return rows[0] if rows else None

    def job_ids(self) -> list[str]:
        return sorted(set(self._stored_ids()) | set(self._daemon.registry.specs))

    def check_job(self, job_id: str) -> None:
        """UnknownJobError when no spec defines ``job_id``."""
        self._daemon.registry.get(job_id)

    # -- the audit trail -----------------------------------------------------------------------
    def audit(self, actor: Actor | None, action: str, target: str | None, **what: Any) -> None:
        """Record an operator's action: ``before``, ``after``, ``outcome``
        (:func:`~fund_scheduler.store.audit.record_or_log`)."""
        audit.record_or_log(self._daemon.engine, actor, action, target, **what)

    def audit_rows(
        self,
        *,
        limit: int = 50,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
    ) -> list[dict[str, Any]]:
        """The newest audit rows (of one actor, action, target)."""
        return audit.recent(self._daemon.engine, limit=limit, actor=actor, action=action, target=target)

    # -- commands ------------------------------------------------------------------------------
    def run(
        self,
        job_id: str,
        *,
        trigger: str = "manual",
        wait: bool = False,
        with_dependents: bool = False,
        run_date: date | None = None,
        params: Mapping[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> dict[str, Any]:
        """Start a run now: ``{"execution_id", "status", "error", "run_date", "params"}``; with
        ``wait``, once it ended. ``run_date``: the business date it is for (default today's in
        the job's timezone; never a future one); ``params``: checked against the job's declared
        parameters; ``with_dependents``: its success starts its chain for that date. ``actor``:
        who asked (recorded on the row and in the audit log).

        Raises UnknownJobError, ParamError (an unknown or invalid parameter, a future date), or
        SchedulerError (disabled, already running, stopping, standby, database unavailable).
        """
        daemon = self._daemon
        asked_for = {"run_date": run_date, "params": dict(params or {}), "with_dependents": with_dependents}
        try:
            spec = daemon.registry.get(job_id)
            values = validate_params(spec.params, params, spec.id)
            run_date = run_date or daemon.runner.run_date_of(spec, None)
            check_run_date(spec.id, run_date, daemon.runner.run_date_of(spec, None))
            asked = {"params": values, "requested_by": actor.name if actor else None}
            execution_id, done = daemon.run_now(
                job_id, trigger=trigger, run_date=run_date, with_dependents=with_dependents, asked=asked
            )
        except SchedulerError as exc:
            self.audit(actor, "run", job_id, after=asked_for, outcome=str(exc))
            raise
        self.audit(actor, "run", job_id, after={**asked_for, "execution_id": execution_id})
        answer = {"execution_id": execution_id, "run_date": run_date, "params": values}
        if not wait:
            return {**answer, "status": "running", "error": None}
        result = result_of(done.result())
        try:
            row = history.get(daemon.engine, execution_id) or {}
        except Exception as exc:
            if not is_database_error(exc) or result is None:
                raise
            row = {"status": result.status, "error": result.error}  # spooled meanwhile
        return {**answer, "status": row["status"], "error": row["error"]}

    def backfill(
        self,
        job_id: str,
        start: date,
        end: date,
        *,
        params: Mapping[str, Any] | None = None,
        with_dependents: bool = False,
        continue_on_failure: bool = False,
        dry_run: bool = False,
        actor: Actor | None = None,
    ) -> dict[str, Any]:
        """Store a backfill of ``job_id`` from ``start`` to ``end`` (or, ``dry_run``, list its
        dates): :meth:`fund_scheduler.daemon.backfill.Backfills.plan`. The active daemon's
        request thread runs it. Raises UnknownJobError, ParamError or SchedulerError."""
        daemon = self._daemon
        asked_for = {
            "from": start,
            "to": end,
            "params": dict(params or {}),
            "with_dependents": with_dependents,
            "continue_on_failure": continue_on_failure,
        }
        try:
            if daemon.role != "active" and not dry_run:
                raise SchedulerError(
                    N_(
                        "backfill of {job!r} not started: this daemon is on standby "
                        "(another daemon holds the leader lock and runs the jobs)"
                    ),
                    job=job_id,
                )
            answer = daemon.backfills.plan(
                job_id,
                start,
                end,
                params=params,
                with_dependents=with_dependents,
                continue_on_failure=continue_on_failure,
                dry_run=dry_run,
                requested_by=actor.name if actor else None,
            )
        except SchedulerError as exc:
            if not dry_run:
                self.audit(actor, "backfill", job_id, after=asked_for, outcome=str(exc))
            raise
        if not dry_run:
            after = {**asked_for, "backfill_id": answer["backfill_id"], "runs": len(answer["run_dates"])}
            self.audit(actor, "backfill", job_id, after=after)
            daemon.requests.poke()
        return answer

    def backfills(self, *, job_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The newest backfills first, each with its progress."""
        from fund_scheduler.store import requests

        daemon = self._daemon
        rows = requests.backfill_rows(daemon.engine, job_id=job_id, limit=limit)
        return [daemon.backfills.progress(row["id"]) or row for row in rows]

    def backfill_progress(self, backfill_id: str) -> dict[str, Any] | None:
        """One backfill with its dates, counts and ETA; None when there is none."""
        return self._daemon.backfills.progress(backfill_id)

    def cancel_backfill(self, backfill_id: str, actor: Actor | None = None) -> dict[str, Any]:
        """Cancel a running backfill as a whole (its dates not started, its runs going)."""
        by = actor.name if actor else "the daemon"
        try:
            answer = self._daemon.backfills.cancel(backfill_id, by)
        except SchedulerError as exc:
            self.audit(actor, "cancel", backfill_id, outcome=str(exc))
            raise
        after = {"state": "cancelled", **answer}
        self.audit(actor, "cancel", backfill_id, before={"state": "running"}, after=after)
        return answer

    def cancel(self, execution_id: int, actor: Actor | None = None) -> dict[str, Any]:
        """Cancel execution ``execution_id``: a run going here has its process group ended (its
        row becomes ``cancelled`` with who); a finished one's pending retry is cancelled.
        ``{"execution_id", "job", "cancelled"}`` (``run`` or ``retry``). Raises UnknownExecution,
        or SchedulerError (finished without a pending retry; running on another daemon; in-thread)."""
        from fund_scheduler.store import requests

        daemon = self._daemon
        by = actor.name if actor else "the daemon"
        row = history.get(daemon.engine, execution_id)
        if row is None:
            raise UnknownExecution(N_("no execution {id}"), id=execution_id)
        job_id = row["job_id"]
        before = {"execution_id": execution_id, "status": row["status"]}
        try:
            if row["status"] in UNFINISHED:
                if not daemon.cancel_execution(execution_id, by):
                    raise _not_here(row, daemon.registry.specs.get(job_id))
                what = "run"
            else:
                first = row.get("first_execution_id") or execution_id
                pending = requests.pending_retries(daemon.engine, first_execution_id=first)
                note = f"retry cancelled by {by}"
                if not [
                    r
                    for r in pending
                    if requests.cancel_request(daemon.engine, r["id"], daemon.clock(), note)
                ]:
                    raise SchedulerError(
                        N_("execution {id} already finished ({status})"),
                        id=execution_id,
                        status=row["status"],
                    )
                what = "retry"
        except SchedulerError as exc:
            self.audit(actor, "cancel", job_id, before=before, outcome=str(exc))
            raise
        self.audit(actor, "cancel", job_id, before=before, after={**before, "cancelled": what})
        return {"execution_id": execution_id, "job": job_id, "cancelled": what}

    def add_job(self, job_id: str, fields: Mapping[str, Any], actor: Actor | None = None) -> dict[str, Any]:
        """Create command job ``job_id`` at runtime from ``fields`` (the names of ``jobs.toml``:
        ``command`` and one of ``cron``/``interval``/``at`` at least). Raises SchedulerError
        (the id exists) or ConfigError (the change is refused whole, naming why)."""
        return self._change(EditRequest("job_add", job_id, fields), actor)

    def set_job(
        self, job_id: str, fields: Mapping[str, Any], actor: Actor | None = None, *, reset: bool = False
    ) -> dict[str, Any]:
        """Change ``job_id``'s fields at runtime (:func:`~fund_scheduler.jobs.edits.plan`);
        ``reset`` drops every change of the job. Raises UnknownJobError or ConfigError (refused
        whole)."""
        return self._change(EditRequest("job_set", job_id, fields, reset), actor)

    def remove_job(self, job_id: str, actor: Actor | None = None) -> dict[str, Any]:
        """Delete ``job_id`` at runtime: a job created at runtime is forgotten, one of the code or
        ``jobs.toml`` is removed by a stored change (``job set JOB --reset`` brings it back)."""
        return self._change(EditRequest("job_remove", job_id), actor)

    def reload(self, actor: Actor | None = None) -> dict[str, Any]:
        """Re-read the job specs and ``jobs.toml`` (:meth:`Daemon.reload`, audited); what
        changed. Raises ConfigError (refused, the current jobs kept) or SchedulerError."""
        return self._daemon.reload(actor)

    def _change(self, request: EditRequest, actor: Actor | None) -> dict[str, Any]:
        edit, registry = self._daemon.change_job(request, actor)
        job_id = request.job_id
        return {"job": job_id, "removed": job_id not in registry.specs, "fields": edit.fields or {}}

    def chain(self) -> list[dict[str, Any]]:
        """Each step of the dependency chains in order, with today's deadline and where today's
        run stands (:func:`fund_scheduler.daemon.chain.chain_steps`)."""
        daemon = self._daemon
        return chain_view(daemon.registry, daemon.engine, daemon.settings.timezone, daemon.clock())

    def pause(self, job_id: str, actor: Actor | None = None) -> dict[str, Any]:
        return self._set_paused(job_id, True, actor)

    def resume(self, job_id: str, actor: Actor | None = None) -> dict[str, Any]:
        return self._set_paused(job_id, False, actor)

    def _set_paused(self, job_id: str, paused: bool, actor: Actor | None) -> dict[str, Any]:
        action = "pause" if paused else "resume"
        try:
            before = self._daemon.scheduler.get_job(job_id)
            job = self._daemon.set_paused(job_id, paused)
        except SchedulerError as exc:
            self.audit(actor, action, job_id, outcome=str(exc))
            raise
        was_paused = before is not None and before.next_run_time is None
        self.audit(actor, action, job_id, before={"paused": was_paused}, after={"paused": paused})
        return {"job": job_id, "paused": job.next_run_time is None, "next_run_time": job.next_run_time}

    def set_stop_timeout(self, seconds: float) -> float:
        return self._daemon.set_stop_timeout(seconds)

    def subscribe(self, callback: Callable[[dict], None]) -> None:
        """Call ``callback`` with the final history row of every run this daemon finishes or
        records (missed, skipped); a callback that raises is logged, never felt by the run."""
        self._daemon.runner.on_finished.append(callback)

    # -- checks --------------------------------------------------------------------------------
    def check_database(self) -> dict[str, Any]:
        """``SELECT 1`` off the caller's thread, waited for at most :data:`DB_CHECK_TIMEOUT`.

        A check that hangs (a blackholed MySQL host) is not started twice: later calls wait on
        the same one.
        """
        with self._db_lock:
            if self._db_check is None or self._db_check.done():
                future: Future = Future()
                threading.Thread(
                    target=self._select_one, args=(future,), name="db-check", daemon=True
                ).start()
                self._db_check = future
            future = self._db_check
        try:
            latency = future.result(timeout=DB_CHECK_TIMEOUT)
        except FutureTimeout:
            return {"ok": False, "status": "unreachable", "error": f"no answer in {DB_CHECK_TIMEOUT:g}s"}
        except Exception as exc:  # noqa: BLE001 - any driver error means unreachable
            return {"ok": False, "status": "unreachable", "error": error_line(exc)}
        return {"ok": True, "status": "ok", "latency_ms": round(latency * 1000, 1)}

    def _select_one(self, future: Future) -> None:
        started = time.monotonic()
        try:
            with self._daemon.engine.connect() as conn:
                conn.execute(text("SELECT 1")).scalar()
        except Exception as exc:  # noqa: BLE001 - handed to the waiting caller
            future.set_exception(exc)
        else:
            future.set_result(time.monotonic() - started)

    def checks(self) -> list[dict[str, Any]]:
        """The state of each enabled check job (:func:`fund_scheduler.daemon.checks.check_rows`):
        ``job_id``, ``state`` (``ok``, ``breach``, None before its first result), ``since``,
        ``checked_at``, ``summary``, ``details``, ``execution_id``."""
        return check_rows(self._daemon.engine, self._daemon.registry)

    def panels(self) -> list[dict[str, Any]]:
        """The job packages' dashboard panels (:func:`fund_scheduler.jobs.panels.run_panels`),
        computed at most every :data:`PANEL_CACHE_SECONDS` per language (their titles and notes
        are in the reader's)."""
        with self._panel_lock:
            now = time.monotonic()
            language = i18n.current()
            cached = self._panels.get(language)
            if cached is not None and now - cached[0] < PANEL_CACHE_SECONDS:
                return cached[1]
            daemon = self._daemon
            panels = run_panels(daemon.registry.panels, daemon.engine, daemon.settings.environ)
            self._panels[language] = (now, panels)
            return panels

    def panel(self, name: str | None = None, query: Mapping[str, str] | None = None) -> Any:
        """Without ``name``: the index of the views, the panels taking a query
        (:func:`fund_scheduler.jobs.panels.describe_views`). With ``name``: that view run on
        ``query`` (:func:`fund_scheduler.jobs.panels.run_view`; UnknownPanel, PanelQueryError
        raised), not cached."""
        from fund_scheduler.jobs.panels import describe_views, run_view

        daemon = self._daemon
        if name is None:
            return describe_views(daemon.registry.panels)
        return run_view(daemon.registry.panels, name, query or {}, daemon.engine, daemon.settings.environ)

    # -- history -------------------------------------------------------------------------------
    def executions(
        self, *, job_id: str | None, status: str | None, limit: int, **filters: Any
    ) -> list[dict[str, Any]]:
        """:func:`fund_scheduler.store.history.recent`; ``filters``: its ``trigger``,
        ``date_from``, ``date_to``, ``before_id``."""
        return history.recent(self._daemon.engine, job_id=job_id, status=status, limit=limit, **filters)

    def recent_failures(self, hours: int = 24) -> dict[str, Any]:
        """The failed runs of the last ``hours`` hours, one entry per job and status (newest
        first): ``{"since", "count", "hours", "jobs": [{job_id, status, count, last_id,
        last_started_at}]}``."""
        since = self._daemon.clock() - timedelta(hours=hours)
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        rows = history.failures_since(self._daemon.engine, since)
        for row in rows:  # newest first
            key = (row["job_id"], row["status"])
            if key in groups:
                groups[key]["count"] += 1
            else:
                groups[key] = {
                    "job_id": row["job_id"],
                    "status": row["status"],
                    "count": 1,
                    "last_id": row["id"],
                    "last_started_at": row["started_at"],
                }
        return {"since": since, "hours": hours, "count": len(rows), "jobs": list(groups.values())}

    @property
    def reports_dir(self) -> Path:
        """The folder of the weekly reports (SCHEDULER_REPORTS_DIR), served read-only."""
        return self._daemon.settings.reports_folder

    def execution(self, execution_id: int) -> dict[str, Any] | None:
        return history.get(self._daemon.engine, execution_id)

    def last_success(self) -> dict[str, datetime]:
        return history.last_success_per_job(self._daemon.engine)

    def run_stats(self, days: int) -> dict[str, dict[str, Any]]:
        """Per job, the runs of the last ``days`` days (:func:`fund_scheduler.store.history.run_stats`)."""
        since = self._daemon.clock() - timedelta(days=days)
        return history.run_stats(history.counts_since(self._daemon.engine, since))

    def execution_log(
        self,
        execution_id: int,
        *,
        offset: int | None = None,
        limit: int | None = None,
        tail: int | None = None,
    ) -> dict[str, Any]:
        """A byte range of one run's log (:func:`fund_scheduler.run.logview.log_answer`);
        :class:`~fund_scheduler.run.logview.NoRunLog` saying why there is none."""
        from fund_scheduler.run import logview

        settings = self._daemon.settings
        run_log = logview.locate(
            self._daemon.engine, settings.job_log_dir, execution_id, settings.history_retention_days
        )
        return logview.log_answer(run_log, offset=offset, limit=limit, tail=tail)

    def timeline(self, hours: int = 24, now: datetime | None = None) -> dict[str, Any]:
        """Each job's runs of the last ``hours`` hours and fire times of the next
        (:func:`fund_scheduler.daemon.timeline.build_timeline`), around ``now`` (default: the
        daemon's clock). A database error is raised."""
        from fund_scheduler.daemon.timeline import build_timeline

        daemon = self._daemon
        now = now or daemon.clock()
        rows = self.jobs()
        triggers = {job.id: job.trigger for job in daemon.scheduler.get_jobs() if job.next_run_time}
        runs = history.rows_overlapping(daemon.engine, now - timedelta(hours=hours), now)
        return build_timeline(rows, runs, now, hours=hours, triggers=triggers)


def _not_here(row: dict[str, Any], spec: Any) -> SchedulerError:
    """Why a ``running`` row cannot be cancelled by this daemon."""
    if spec is not None and spec.executor == "thread":
        return SchedulerError(
            N_("execution {id} of {job} runs in the daemon's thread and cannot be cancelled"),
            id=row["id"],
            job=row["job_id"],
        )
    return SchedulerError(
        N_("execution {id} is not a run of this daemon (host {host}, pid {pid}); cancel it where it runs"),
        id=row["id"],
        host=row.get("host"),
        pid=row.get("pid"),
    )
