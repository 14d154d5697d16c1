"""What the commands share: the settings, the registry, the database (read-only where a command
only reads), the migration runner and the running daemon's control socket."""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fund_common import i18n
from fund_scheduler import program
from fund_scheduler.errors import ConfigError, SchedulerError

if TYPE_CHECKING:  # imported where used: a command that only asks the daemon loads none of them
    from sqlalchemy.engine import Engine

    from fund_scheduler.jobs.registry import Registry
    from fund_scheduler.settings import Settings

__all__ = ["Cli"]


class Cli:
    """The click context object of every command; settings are read on first use (so ``--help``
    never needs them), with the ``.env`` files loaded first."""

    def __init__(self, settings: Settings | None = None):
        if settings is not None:
            self.__dict__["settings"] = settings
        self._registries: dict[bool, Registry] = {}

    @functools.cached_property
    def paths(self) -> program.DaemonPaths:
        """The daemon's home, log folder and PID file (the ``.env`` files loaded first), without
        reading the other settings: all a command that only asks the running daemon needs."""
        if "settings" in self.__dict__:
            settings = self.__dict__["settings"]
            return program.DaemonPaths(settings.home, settings.log_dir, settings.pid_file)
        program.load_dotenv_files()
        return program.daemon_paths(os.environ)

    @functools.cached_property
    def settings(self) -> Settings:
        """The settings; their ``SCHEDULER_UMASK`` is applied to this process (and so to the
        daemon, its logs, its database file and its job runs) before anything is created, their
        ``SCHEDULER_LANG`` (a ``.env`` one too) made the language the command speaks."""
        from fund_scheduler.settings import Settings

        program.load_dotenv_files()
        settings = Settings.from_env()
        os.umask(settings.umask)
        i18n.set_default(settings.language)
        return settings

    def registry(self, strict: bool = True) -> Registry:
        """The registry of the configured job packages; with ``strict`` its problems raise
        ConfigError (exit 2), one line each."""
        if False not in self._registries:
            from fund_scheduler.jobs.registry import load_registry

            settings = self.settings
            self._registries[False] = load_registry(
                settings.jobs_packages, settings.jobs_config, settings.timezone, settings.environ
            )
        registry = self._registries[False]
        if strict:
            registry.raise_problems()
        return registry

    def load_registry(self) -> Registry:
        """A fresh registry (the daemon's reload), problems kept, not raised."""
        self._registries.pop(False, None)
        return self.registry(strict=False)

    def migrations(self, name: str = "upgrade") -> Callable[..., Any] | None:
        """The migration runner's ``upgrade`` (or ``current``) function; None when turned off.

        ``SCHEDULER_MIGRATIONS`` names the upgrade function as ``module:function``; ``current``
        is looked up beside it in the same module.
        """
        ref = self.settings.migrations
        if ref is None:
            return None
        module_name, _, attr = ref.partition(":")
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attr if name == "upgrade" else name)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                i18n.gettext("SCHEDULER_MIGRATIONS={ref!r}: cannot load {name!r} ({reason})").format(
                    ref=ref, name=name, reason=exc
                )
            ) from None

    def engine(self) -> Engine:
        """An engine that may create the database (commands that write)."""
        from fund_scheduler.store.engine import make_engine

        return make_engine(self.settings.database_url)

    def existing_engine(self) -> Engine | None:
        """An engine for reading, or None when there is no database yet (never creates one)."""
        from fund_scheduler.store.engine import open_existing

        return open_existing(self.settings.database_url)

    def ask_daemon(self, payload: dict[str, Any], timeout: float | None = 10.0) -> dict[str, Any]:
        """One request over the control socket; DaemonNotRunning / SchedulerError as it answers."""
        from fund_scheduler.api.control import request

        return request(self.paths.control_socket, payload, timeout=timeout)

    def daemon_running(self) -> bool:
        from fund_scheduler.daemon.pidfile import RUNNING, probe

        return probe(self.paths.pid_file).state == RUNNING

    def check_http_port(self) -> int | None:
        """Whether the daemon could listen on its HTTP port now: the PID of the running daemon
        when one runs (its port is its own), None when the port is free or HTTP is off; raises
        ConfigError (exit 2, one line) when something else holds it."""
        from fund_scheduler.daemon.pidfile import RUNNING, probe

        settings = self.settings
        state = probe(settings.pid_file)
        if state.state == RUNNING:
            return state.pid or 0
        if settings.http_port:
            from fund_scheduler.api.server import check_port

            check_port(settings.http_host, settings.http_port)
        return None

    def live_reply(self) -> dict[str, Any] | None:
        """The running daemon's ``status`` reply, or None (no daemon, or it does not answer)."""
        if not self.daemon_running():
            return None
        try:
            return self.ask_daemon({"cmd": "status"}, timeout=5)
        except (SchedulerError, OSError):
            return None

    # -- read-only views ---------------------------------------------------------------------------
    def read_history(self, query: Callable[[Engine], Any], empty: Any) -> Any:
        """``query(engine)`` on the run history; ``empty`` when there is no database or no
        history table yet (nothing is created)."""
        from fund_scheduler.store import history

        engine = self.existing_engine()
        if engine is None:
            return empty
        try:
            return query(engine) if history.exists(engine) else empty
        finally:
            engine.dispose()

    def local_job_rows(self) -> list[dict[str, Any]]:
        """The job rows from the specs, the job store and the history, without a daemon."""
        from fund_scheduler.jobs.rows import job_rows
        from fund_scheduler.store import history
        from fund_scheduler.store.engine import has_tables
        from fund_scheduler.store.jobstore import JsonJobStore, scheduler_jobs, scheduler_jobs_set_aside

        registry = self.registry(strict=False)
        stored: list[Any] = []
        last: dict[str, Any] = {}
        done: dict[str, Any] = {}
        engine = self.existing_engine()
        if engine is not None:
            try:
                if has_tables(engine, scheduler_jobs.name):
                    stored = JsonJobStore(engine, read_only=True).get_all_jobs()
                if has_tables(engine, scheduler_jobs_set_aside.name):
                    done = JsonJobStore(engine, read_only=True).done_jobs()
                if history.exists(engine):
                    last = history.last_per_job(engine)
            finally:
                engine.dispose()
        return job_rows(registry, stored, last, self.settings.timezone, done)

    def local_job_store_problems(self) -> list[str]:
        """What the job store holds for the operator (see
        :func:`fund_scheduler.daemon.reconcile.job_store_problems`), read without a daemon and
        without changing anything: an unreadable row is reported where it lies."""
        from fund_scheduler.daemon.reconcile import job_store_problems
        from fund_scheduler.store.engine import has_tables
        from fund_scheduler.store.jobstore import JsonJobStore, scheduler_jobs, scheduler_jobs_set_aside

        registry = self.registry(strict=False)
        engine = self.existing_engine()
        if engine is None or not has_tables(engine, scheduler_jobs.name):
            return registry.broken_lines()
        try:
            store = JsonJobStore(engine, read_only=True)
            store.get_all_jobs()
            rejected = store.rejected_rows() + [
                {"id": job_id, "reason": f"{reason} (moved aside when the daemon next starts)"}
                for job_id, reason in store.unreadable
            ]
            set_aside = store.set_aside_rows() if has_tables(engine, scheduler_jobs_set_aside.name) else []
            return job_store_problems(registry, set_aside, rejected)
        finally:
            engine.dispose()

    def job_rows(self) -> list[dict[str, Any]]:
        """The running daemon's job rows (its view wins: it may have loaded an older jobs.toml),
        else :meth:`local_job_rows`."""
        live = self.live_reply()
        return live["jobs"] if live is not None else self.local_job_rows()
