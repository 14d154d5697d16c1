"""``run``: the daemon composed and served until it stops (the composition root).

In order: install the signal handlers; take the PID lock; bind the HTTP port
(``SCHEDULER_HTTP_PORT``; in use: ConfigError, nothing started); build the daemon
(:func:`fund_scheduler.daemon.parts.build_parts`); start it (migrations, orphans, scheduler,
leadership: :meth:`Daemon.start`); open the control socket; start answering HTTP; run the
first-start jobs; report ready; serve until a signal or ``stop``. Whatever was started is closed
in ``finally``, the PID file removed last.

Signals: SIGTERM/SIGINT stop gracefully (a second one skips the wait); SIGHUP reloads the specs.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from fund_scheduler.api.control import ControlHandler, ControlServer
from fund_scheduler.api.server import HttpServer
from fund_scheduler.api.tokens import TokenBook
from fund_scheduler.daemon.daemon import Daemon
from fund_scheduler.daemon.operations import Operations
from fund_scheduler.daemon.parts import build_parts
from fund_scheduler.daemon.pidfile import PidFile
from fund_scheduler.errors import SchedulerError
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.settings import Settings
from fund_scheduler.store.engine import describe_error, is_database_error

__all__ = ["serve"]

logger = logging.getLogger("scheduler.daemon")


def serve(
    settings: Settings,
    registry: Registry,
    *,
    load_registry: Callable[[], Registry] | None = None,
    migrate: Callable[[Any], object] | None = None,
    on_ready: Callable[[Daemon], None] | None = None,
) -> int:
    """Run the daemon until it stops; return its exit status. ``on_ready`` gets the daemon once it
    serves. Raises pidfile.AlreadyRunning when
    another daemon holds the PID lock, ConfigError for a port in use, SchedulerError (one line)
    when the database refuses at start."""
    http: HttpServer | None = None
    control: ControlServer | None = None
    daemon: Daemon | None = None
    pending: list[int] = []  # signals that came before the daemon existed
    # Before the PID lock: a `stop` that finds the lock held may signal at once, and must find
    # the handlers (a SIGTERM in between would kill the daemon unlogged, status -15).
    _install_signal_handlers(lambda: daemon, pending)
    tokens = TokenBook.of(settings.api_token, settings.api_tokens_file)  # a bad tokens file: refused now
    pidfile = PidFile(settings.pid_file)
    pidfile.acquire()
    try:
        if settings.http_port:
            try:
                http = HttpServer(settings.http_host, settings.http_port)  # bound before anything starts
            except SchedulerError as exc:
                logger.error("start-up failed: %s", exc)
                raise
        daemon = _started(
            lambda: Daemon(build_parts(settings, registry), load_registry=load_registry, migrate=migrate),
            settings,
        )
        for signum in pending:  # came while it started
            daemon.on_signal(signum)
        ops = Operations(daemon)
        control = ControlServer(settings.control_socket, ControlHandler(ops))
        control.start()
        if http is not None:
            from fund_scheduler.api.app import create_app

            app = create_app(ops, tokens, settings.allowed_hosts, settings.language)
            run_metrics = app.extensions["fund_scheduler"]["metrics"]
            ops.subscribe(run_metrics.observe)
            run_metrics.prime(ops.job_ids())
            http.serve(app)
            logger.info("http listening on %s", http.url)
        daemon.run_first_start_jobs()
        logger.info(
            "scheduler ready: pid=%s role=%s jobs=%d database=%s",
            os.getpid(),
            daemon.role,
            len(daemon.jobstore.stored_ids()),
            settings.masked_database_url,
        )
        if on_ready is not None:
            on_ready(daemon)
        return daemon.serve()
    finally:
        if http is not None:
            http.close()
        if control is not None:
            control.close()
        if daemon is not None:
            daemon.close()
        pidfile.release()
        logger.info("scheduler stopped")


def _started(build: Callable[[], Daemon], settings: Settings) -> Daemon:
    """The daemon built and started; a failure is logged as ``start-up failed`` (one line, no
    traceback, when the database refused)."""
    try:
        daemon = build()
        try:
            daemon.start()
        except BaseException:
            daemon.close()
            raise
        return daemon
    except SchedulerError as exc:
        logger.error("start-up failed: %s", exc)
        raise
    except Exception as exc:
        if not is_database_error(exc):
            logger.exception("start-up failed")
            raise
        # One clear line, no traceback: the usual cause is outside this program.
        message = (
            f"start-up failed: database {settings.masked_database_url} unavailable: {describe_error(exc)}"
        )
        logger.error(message)
        raise SchedulerError(message) from None


def _install_signal_handlers(current: Callable[[], Daemon | None], pending: list[int]) -> None:
    """SIGTERM/SIGINT stop, SIGHUP reloads; a signal before the daemon exists is kept for it."""
    if threading.current_thread() is not threading.main_thread():
        return

    def on_stop(signum, _frame) -> None:
        daemon = current()
        if daemon is None:
            pending.append(signum)
        else:
            daemon.on_signal(signum)

    def on_hangup(_signum, _frame) -> None:
        daemon = current()
        if daemon is not None:
            daemon.request_reload()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_stop)
    signal.signal(signal.SIGHUP, on_hangup)
