"""The HTTP server: waitress in a daemon thread.

The socket is bound when :class:`HttpServer` is created, before the daemon starts anything, so a
port in use stops the start-up with a :class:`~fund_scheduler.errors.ConfigError` naming the
setting; the app is handed over by :meth:`HttpServer.serve` once the daemon runs, and
:meth:`HttpServer.close` stops it from any thread.
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from fund_scheduler.errors import ConfigError

__all__ = ["HTTP_THREADS", "HttpServer", "check_port"]

logger = logging.getLogger("scheduler.http")

HTTP_THREADS = 4


class _Deferred:
    """A WSGI app that answers 503 until the real one is set (it never is before serve())."""

    def __init__(self) -> None:
        self.app: Callable[..., Iterable[bytes]] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"starting\n"]
        return self.app(environ, start_response)


def check_port(host: str, port: int) -> None:
    """Raise :class:`ConfigError` (the one line :class:`HttpServer` would) when ``host:port``
    cannot be listened on now; bind nothing for longer than the check."""
    HttpServer(host, port).close()


class HttpServer:
    """waitress bound to ``host:port`` at construction; :meth:`serve` starts answering."""

    def __init__(self, host: str, port: int):
        from waitress import create_server

        self._app = _Deferred()
        self._map: dict = {}
        try:
            self.server = create_server(
                self._app,
                host=host,
                port=port,
                threads=HTTP_THREADS,
                map=self._map,
                ident="fund-scheduler",
                clear_untrusted_proxy_headers=True,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"SCHEDULER_HTTP_PORT={port}: {host}:{port} is already in use") from None
            raise ConfigError(
                f"SCHEDULER_HTTP_HOST={host!r} SCHEDULER_HTTP_PORT={port}: cannot listen on {host}:{port}: "
                f"{exc.strerror or exc}"
            ) from None
        except ValueError as exc:  # waitress refuses an unresolvable host
            raise ConfigError(f"SCHEDULER_HTTP_HOST={host!r}: {exc}") from None
        self.host, self.port = host, port
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve(self, app: Callable[..., Iterable[bytes]]) -> None:
        """Answer with ``app`` from now on, in a daemon thread."""
        self._app.app = app
        self._thread.start()

    def _serve(self) -> None:
        try:
            self.server.run()
        except Exception:  # noqa: BLE001 - logged; /health cannot answer it, the log must
            logger.exception("http server stopped unexpectedly")

    def close(self, timeout: float = 5.0) -> None:
        """Close every socket from the server's own loop, wait for it, stop the worker threads."""
        from waitress import wasyncore
        from waitress.trigger import trigger

        if self._thread.is_alive():
            pullers = [d for d in list(self._map.values()) if isinstance(d, trigger)]
            if pullers:
                pullers[0].pull_trigger(lambda: wasyncore.close_all(self._map))
            self._thread.join(timeout)
        else:
            wasyncore.close_all(self._map)
        self.server.task_dispatcher.shutdown(timeout=timeout)
