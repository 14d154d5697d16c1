"""The fork server's own process: import once, then fork each Python job run from that state.

Started by the daemon (:mod:`fund_scheduler.run.forkserver`) as ``fork-server --channel-fd N``
in a session of its own, it imports the job packages, their modules and what each package lists
in ``PRELOAD`` (the bundled ``jobs`` package: the fund pipeline, with pandas), then waits on its
end of a ``SOCK_SEQPACKET`` pair for requests. A request is one JSON message carrying the run's
argv fields, environment and working directory, with two descriptors: the run's log file and
the run's own socket. For each one it forks a child that

- starts a new session (its own process group: a timeout or cancel ends the whole group),
- points stdout and stderr at the run's log, stdin at ``/dev/null``,
- takes the request's environment and working directory, and the process title
  ``fund-scheduler run job=<id> execution=<n> owner=<daemon pid>`` (what ``ps`` shows and
  what :func:`fund_scheduler.run.process.run_identity` reads),
- reports ``{"pid": n}`` on the run's socket, runs the job as ``exec`` would
  (:func:`fund_scheduler.run.child.run_job_function`, with settings and registry read afresh
  from that environment), reports ``{"exit": code}`` and exits.

The server reaps every child and reports its exit status on the run's socket too (a child
killed by a signal says nothing itself): ``-N`` for signal N, as ``Popen.returncode``. When a
source file of a module it imported changed since (a deployment), it answers ``{"stale": ...}``
instead of forking: the daemon then starts a fresh server. When the daemon's end of the pair
closes (the daemon stopped, died, or replaced it), the server takes no more requests and exits
once its last child ended.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import logging
import os
import selectors
import signal
import socket
import sys
import traceback
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

# Imported here, before any fork: a run finds them loaded.
from fund_scheduler.errors import SchedulerError
from fund_scheduler.jobs.registry import discover, load_registry
from fund_scheduler.run.child import run_job_function
from fund_scheduler.settings import Settings

__all__ = ["MAX_MESSAGE", "ModuleSnapshot", "run_title", "serve"]

logger = logging.getLogger("scheduler.forkserver")

#: The largest request (the run's environment included) one message may carry.
MAX_MESSAGE = 1 << 20


def run_title(job_id: str, execution_id: int | None, owner_pid: int) -> str:
    """The process title of a forked run (``ps``; read back by ``run_identity``)."""
    return f"fund-scheduler run job={job_id} execution={execution_id} owner={owner_pid}"


class ModuleSnapshot:
    """The modification times of the source files of the modules imported from outside the
    Python installation (the project's own code), to tell when a deployment changed one."""

    def __init__(self, modules: Iterable[Any] | None = None):
        installed = tuple({str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
        self._stamps: dict[str, int] = {}
        for module in list(modules if modules is not None else sys.modules.values()):
            path = getattr(module, "__file__", None)
            if not path or not path.endswith(".py"):
                continue
            resolved = str(Path(path).resolve())
            if resolved.startswith(installed):
                continue
            with contextlib.suppress(OSError):
                self._stamps[resolved] = os.stat(resolved).st_mtime_ns

    def __len__(self) -> int:
        return len(self._stamps)

    def changed(self) -> str | None:
        """The first source file changed or removed since the snapshot, or None."""
        for path, stamp in self._stamps.items():
            try:
                if os.stat(path).st_mtime_ns != stamp:
                    return path
            except OSError:
                return path
        return None


def preload(packages: Iterable[str]) -> list[str]:
    """Import the job packages, their modules and each package's ``PRELOAD`` list; the problems
    (an import that failed: the run imports it itself), one line each."""
    problems: list[str] = []
    packages = list(packages)
    discover(packages)
    for name in packages:
        package = sys.modules.get(name)
        for module in getattr(package, "PRELOAD", ()):
            try:
                importlib.import_module(module)
            except Exception as exc:  # noqa: BLE001 - the run then imports it (and fails) itself
                problems.append(f"preload {module!r} of {name}: {type(exc).__name__}: {exc}")
    return problems


def serve(channel_fd: int, packages: Iterable[str]) -> int:
    """The server's loop on the inherited descriptor ``channel_fd``; returns its exit status."""
    channel = socket.socket(fileno=channel_fd)
    owner = os.getppid()
    _set_title(f"fund-scheduler fork-server owner={owner}")
    for line in preload(packages):
        print(f"fork server: {line}", file=sys.stderr, flush=True)
    snapshot = ModuleSnapshot()
    gc.collect()
    gc.freeze()  # what was imported stays out of the runs' collections: fewer copied pages
    wake_read, wake_write = socket.socketpair()
    wake_read.setblocking(False)
    wake_write.setblocking(False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write.fileno(), warn_on_full_buffer=False)
    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(channel, selectors.EVENT_READ, "request")
    selector.register(wake_read, selectors.EVENT_READ, "reap")
    channel.sendall(json.dumps({"ready": os.getpid(), "modules": len(snapshot)}).encode())
    accepting = True
    while accepting or children:
        for key, _ in selector.select(timeout=1.0):
            if key.data == "reap":
                with contextlib.suppress(BlockingIOError):
                    while wake_read.recv(512):
                        pass
                continue
            try:
                message, fds, _flags, _addr = socket.recv_fds(channel, MAX_MESSAGE, 2)
            except OSError:
                message, fds = b"", []
            if not message:  # the daemon's end closed: no more requests
                accepting = False
                selector.unregister(channel)
                continue
            _serve_one(message, fds, snapshot, children, closing=[channel, wake_read, wake_write])
        _reap(children)
    return 0


def _serve_one(
    message: bytes,
    fds: list[int],
    snapshot: ModuleSnapshot,
    children: dict[int, socket.socket],
    closing: list[socket.socket],
) -> None:
    """Fork one run for ``message`` (its log and run socket in ``fds``), or answer why not."""
    if len(fds) != 2:
        for fd in fds:
            os.close(fd)
        return
    log_fd, run_fd = fds
    run = socket.socket(fileno=run_fd)
    try:
        request = json.loads(message)
        changed = snapshot.changed()
        if changed is not None:
            run.sendall(json.dumps({"stale": changed}).encode())
            run.close()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
    except Exception as exc:  # noqa: BLE001 - the daemon runs it without the fork server
        with contextlib.suppress(OSError):
            run.sendall(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        run.close()
        os.close(log_fd)
        return
    if pid == 0:
        others = [*closing, *children.values()]
        _become_run(request, log_fd, run, others)  # never returns
    os.close(log_fd)
    children[pid] = run


def _reap(children: dict[int, socket.socket]) -> None:
    """Collect every ended child; report its exit status on its run's socket."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        run = children.pop(pid, None)
        if run is None:
            continue
        with contextlib.suppress(OSError):
            run.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
        run.close()


def _become_run(request: dict, log_fd: int, run: socket.socket, others: list[socket.socket]) -> None:
    """In the forked child: become the run's process (see the module doc) and exit."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for other in others:
            other.close()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(write_through=True)  # type: ignore[union-attr]
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _set_title(run_title(request["job_id"], request.get("execution_id"), int(request["owner"])))
        run.sendall(json.dumps({"pid": os.getpid()}).encode())
        code = _run_job(request)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the traceback goes to the run's log
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(Exception):
            run.sendall(json.dumps({"exit": code}).encode())
        os._exit(code)


def _run_job(request: dict) -> int:
    """What ``exec JOB`` does, with this process's (the request's) environment."""
    root = logging.getLogger()
    for handler in list(root.handlers):  # the run configures its own (to its log)
        root.removeHandler(handler)
    try:
        settings = Settings.from_env()
        os.umask(settings.umask)
        registry = load_registry(
            settings.jobs_packages, settings.jobs_config, settings.timezone, settings.environ
        )
        registry.raise_problems()
        scheduled = request.get("scheduled")
        run_date = request.get("run_date")
        return run_job_function(
            settings,
            registry,
            request["job_id"],
            execution_id=request.get("execution_id"),
            trigger=request.get("trigger", "manual"),
            scheduled=datetime.fromisoformat(scheduled) if scheduled else None,
            run_date=date.fromisoformat(run_date) if run_date else None,
        )
    except SchedulerError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"error: {line}", file=sys.stderr)
        return exc.exit_code


def _set_title(title: str) -> None:
    try:
        import setproctitle
    except ImportError:  # pragma: no cover - a requirement; the title is a courtesy for ps
        return
    setproctitle.setproctitle(title)
