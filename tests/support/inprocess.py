"""A composed daemon (``fund_scheduler.cli.serve.serve``) running in a thread of the test process,
so a test can break its scheduler thread or its database directly, or call its operations."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import requests

from fund_scheduler.cli.serve import serve
from fund_scheduler.daemon.daemon import Daemon
from fund_scheduler.daemon.operations import Operations
from fund_scheduler.jobs.registry import load_registry
from fund_scheduler.settings import Settings
from fund_scheduler_migrations.runner import upgrade
from tests.support.harness import FAR_AWAY, TEST_CALENDARS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class InProcessDaemon:
    """The composed daemon (``serve``) in a background thread; ``base`` is its HTTP address."""

    def __init__(self, root: Path, **env: str):
        self.port = free_port()
        (root / "jobs.toml").write_text(f'[jobs.tick]\ncron = "{FAR_AWAY}"\ncommand = ["true"]\n')
        environ = {
            "SCHEDULER_HOME": str(root),
            "SCHEDULER_JOBS_CONFIG": str(root / "jobs.toml"),
            "SCHEDULER_RUN_ON_FIRST_START": "false",
            "SCHEDULER_HTTP_PORT": str(self.port),
            "SCHEDULER_CALENDARS_FILE": str(TEST_CALENDARS),
            **env,
        }
        self.environ = environ  # for a command line run against this daemon's home
        self.settings = Settings.from_env(environ)
        self.registry = load_registry(
            self.settings.jobs_packages, self.settings.jobs_config, self.settings.timezone, environ
        )
        self.daemon: Daemon | None = None
        self.ops: Operations | None = None
        self.base = f"http://127.0.0.1:{self.port}"
        self._ready = threading.Event()
        self.result: list = []
        self._thread = threading.Thread(target=self._run, name="test-daemon", daemon=True)

    def _on_ready(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.ops = Operations(daemon)
        self._ready.set()

    def _load_registry(self):
        """The daemon's reload: ``jobs.toml`` read again."""
        settings = self.settings
        return load_registry(settings.jobs_packages, settings.jobs_config, settings.timezone, self.environ)

    def _run(self) -> None:
        try:
            self.result.append(
                serve(
                    self.settings,
                    self.registry,
                    load_registry=self._load_registry,
                    migrate=upgrade,
                    on_ready=self._on_ready,
                )
            )
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.result.append(exc)
            self._ready.set()

    def __enter__(self) -> InProcessDaemon:
        self._thread.start()
        assert self._ready.wait(30), "daemon not ready"
        assert not self.result, self.result
        return self

    def __exit__(self, *exc) -> None:
        self.daemon.request_stop("test over")
        self._thread.join(30)
        assert not self._thread.is_alive(), "daemon thread did not stop"

    def health(self) -> requests.Response:
        return requests.get(self.base + "/health", timeout=10)
