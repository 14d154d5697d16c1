"""The local control channel between the CLI and the running daemon: a Unix socket, mode 0600.

Protocol: the client sends one JSON object on one line (``{"cmd": "pause", "job": "x"}``); the
daemon answers with one JSON line ``{"ok": true, ...}`` or ``{"ok": false, "error": "...",
"code": N}``. The client's language (``"lang": "zh_CN"``, sent with every request) is the one the
daemon words its answer in (job rows' schedules, status words). Only the daemon's own user (or
root) is served: the socket file is created with mode 0600 and each peer's uid is checked with
``SO_PEERCRED``.

Commands (:class:`ControlHandler`, each one call of :class:`~fund_scheduler.daemon.operations.Operations`):
``ping``; ``status`` (the status and the job rows; with ``report``, all the ``status`` command
prints: :meth:`~fund_scheduler.daemon.operations.Operations.report`); ``run`` (``job``, ``wait``,
``with_dependents``, ``run_date``, ``params``); ``pause`` / ``resume`` (``job``);
``job-add`` / ``job-set`` / ``job-remove`` (``job``, ``fields``, ``reset``); ``cancel``
(``execution_id``); ``backfill`` (``job``, ``from``, ``to``, ...), ``backfills``,
``backfill-progress``, ``cancel-backfill`` (``id``); ``reload``; ``set-stop-timeout``
(``timeout``).

Who asks is the peer's Unix user (``SO_PEERCRED``): each action is recorded in the audit log as
``unix:<user>`` from ``pid <pid>`` (:func:`peer_actor`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fund_common import i18n
from fund_common.i18n import N_
from fund_scheduler.errors import ConfigError, DaemonNotRunning, SchedulerError
from fund_scheduler.jobs.params import ParamError

if TYPE_CHECKING:  # the CLI's side (request) loads no database code
    from fund_scheduler.store.audit import Actor

logger = logging.getLogger("scheduler.control")
MAX_REQUEST_BYTES = 64 * 1024
MAX_SOCKET_PATH = 104

Handler = Callable[[dict[str, Any], "Actor | None"], dict[str, Any]]


def peer_actor(pid: int, uid: int) -> Actor:
    """The control socket peer as an :class:`Actor`: its Unix user's name (the uid when the
    user has no name), the pid it connected from."""
    from fund_scheduler.store.audit import Actor

    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    return Actor(f"unix:{user}", "socket", f"pid {pid}")


def _date_field(request: dict[str, Any], name: str) -> date | None:
    value = request.get(name)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ParamError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


class ControlHandler:
    """Serves the control commands from ``ops`` (an :class:`Operations`)."""

    def __init__(self, ops: Any):
        self.ops = ops

    def __call__(self, request: dict[str, Any], actor: Actor | None = None) -> dict[str, Any]:
        cmd = request["cmd"]
        ops = self.ops
        if cmd == "ping":
            return {"ok": True, "pid": os.getpid()}
        if cmd == "status":
            if request.get("report"):
                return {"ok": True, **ops.report()}
            return {"ok": True, **ops.status(), "jobs": ops.jobs(fallback=True)}
        job_id = str(request.get("job", ""))
        if cmd == "run":
            params = request.get("params") or {}
            if not isinstance(params, dict):
                raise ParamError("params must be an object of name: value")
            answer = ops.run(
                job_id,
                wait=bool(request.get("wait")),
                with_dependents=bool(request.get("with_dependents")),
                run_date=_date_field(request, "run_date"),
                params=params,
                actor=actor,
            )
            return {"ok": True, **answer}
        if cmd in ("pause", "resume"):
            answer = ops.pause(job_id, actor=actor) if cmd == "pause" else ops.resume(job_id, actor=actor)
            return {"ok": True, **answer}
        if cmd in ("job-add", "job-set", "job-remove"):
            fields = request.get("fields") or {}
            if not isinstance(fields, dict):
                raise ParamError("fields must be an object of jobs.toml names and values")
            if cmd == "job-add":
                return {"ok": True, **ops.add_job(job_id, fields, actor)}
            if cmd == "job-set":
                return {"ok": True, **ops.set_job(job_id, fields, actor, reset=bool(request.get("reset")))}
            return {"ok": True, **ops.remove_job(job_id, actor)}
        if cmd == "cancel":
            if not isinstance(request.get("execution_id"), int):
                raise ParamError("cancel needs an execution id in 'execution_id'")
            return {"ok": True, **ops.cancel(request["execution_id"], actor=actor)}
        if cmd == "backfill":
            start, end = _date_field(request, "from"), _date_field(request, "to")
            if start is None or end is None:
                raise ParamError("backfill needs 'from' and 'to' dates (YYYY-MM-DD)")
            params = request.get("params") or {}
            if not isinstance(params, dict):
                raise ParamError("params must be an object of name: value")
            answer = ops.backfill(
                job_id,
                start,
                end,
                params=params,
                with_dependents=bool(request.get("with_dependents")),
                continue_on_failure=bool(request.get("continue_on_failure")),
                dry_run=bool(request.get("dry_run")),
                actor=actor,
            )
            return {"ok": True, **answer}
        if cmd == "backfills":
            found = ops.backfills(job_id=request.get("job") or None, limit=int(request.get("limit", 20)))
            return {"ok": True, "backfills": found}
        if cmd == "backfill-progress":
            found = ops.backfill_progress(str(request.get("id", "")))
            if found is None:
                raise SchedulerError(f"no backfill {request.get('id')!r}")
            return {"ok": True, **found}
        if cmd == "cancel-backfill":
            return {"ok": True, **ops.cancel_backfill(str(request.get("id", "")), actor=actor)}
        if cmd == "reload":
            return {"ok": True, **ops.reload(actor)}
        if cmd == "set-stop-timeout":
            if not isinstance(request.get("timeout"), int | float):
                raise SchedulerError("set-stop-timeout needs a number of seconds in 'timeout'")
            return {"ok": True, "timeout": ops.set_stop_timeout(float(request["timeout"]))}
        raise SchedulerError(f"unknown command {cmd!r}")


class _RequestHandler(socketserver.StreamRequestHandler):
    server: ControlServer

    def handle(self) -> None:
        server = self.server
        creds = self.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", creds)
        if uid not in (0, os.getuid()):
            self._reply({"ok": False, "error": "permission denied", "code": 1})
            return
        line = self.rfile.readline(MAX_REQUEST_BYTES)
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
                raise ValueError("request must be a JSON object with a 'cmd'")
        except ValueError as exc:
            self._reply({"ok": False, "error": f"bad request: {exc}", "code": 2})
            return
        with i18n.use(request.get("lang") if isinstance(request.get("lang"), str) else None):
            try:
                reply = server.dispatch(request, peer_actor(pid, uid))
            except SchedulerError as exc:  # its message in the asking client's language
                reply = {"ok": False, "error": exc.shown(), "code": exc.exit_code}
            except Exception as exc:  # noqa: BLE001 - the channel must survive a failing command
                logger.exception("control command %r failed", request.get("cmd"))
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "code": 1}
        self._reply(reply)

    def _reply(self, reply: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the client went away; nothing to tell
            self.wfile.write(json.dumps(reply, default=_json_value).encode() + b"\n")


def _json_value(value: Any) -> Any:
    """A datetime as ISO 8601 (read back with ``datetime.fromisoformat``); anything else as text."""
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Serves control requests on ``path`` in daemon threads until :meth:`close`."""

    daemon_threads = True

    def __init__(self, path: Path, dispatch: Handler):
        if len(str(path).encode()) > MAX_SOCKET_PATH:
            raise ConfigError(
                f"control socket path {str(path)!r} is longer than {MAX_SOCKET_PATH} bytes "
                "(a Unix socket limit): choose a shorter SCHEDULER_PID_FILE or SCHEDULER_HOME"
            )
        self.path = path
        self.dispatch = dispatch
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # only reached while we hold the PID lock
        old_umask = os.umask(0o177)
        try:
            super().__init__(str(path), _RequestHandler)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        self._thread = threading.Thread(target=self.serve_forever, name="control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.path.unlink(missing_ok=True)


def request(path: Path, payload: dict[str, Any], timeout: float | None = 10.0) -> dict[str, Any]:
    """Send one request to the daemon and return its reply.

    Raises DaemonNotRunning when nothing listens on ``path``, SchedulerError when the daemon
    reports an error (its exit code is kept).
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise DaemonNotRunning(N_("the scheduler daemon is not running")) from None
    with sock, sock.makefile("rwb") as stream:
        # The reply's words (job rows' schedules...) in the asking command's language.
        stream.write(json.dumps({"lang": i18n.current(), **payload}).encode() + b"\n")
        stream.flush()
        line = stream.readline()
    if not line:
        raise SchedulerError("the daemon closed the control connection without answering")
    reply = json.loads(line)
    if not reply.get("ok"):
        error = SchedulerError(reply.get("error", "unknown error"))
        error.exit_code = int(reply.get("code", 1))
        raise error
    return reply
