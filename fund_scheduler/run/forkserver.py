"""The daemon's side of the fork server: Python job runs forked from a pre-imported process.

Starting ``python scheduler_daemon.py exec JOB`` for every run costs the interpreter's start and
the imports of the job's code (pandas: about half a second) on every run. A :class:`ForkServer`
keeps one process (:mod:`fund_scheduler.run.zygote`) that imported them once and forks each
run from it, so a run starts in milliseconds while the daemon itself still never imports pandas.

A forked run keeps every guarantee of an exec'd one: its own session and process group (timeout,
cancel and shutdown end the whole group with :func:`~fund_scheduler.run.process.kill_group`),
its own log, the run's environment and working directory, the owner's PID (in its process title:
the next daemon settles it if this one dies). :meth:`ForkServer.spawn` returns a
:class:`ForkedProcess` (waited on like a ``Popen``) or None, and the runner then starts the run
the exec way: while the server starts or when it cannot, when it reports that the code on disk
changed since it imported it (a new server is started for the runs after), or when it died (a
crash is logged and a new one started). A job declared ``fresh_interpreter`` never uses it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from typing import BinaryIO

from fund_scheduler import program
from fund_scheduler.run.zygote import MAX_MESSAGE

__all__ = ["READY_TIMEOUT", "ForkServer", "ForkedProcess"]

logger = logging.getLogger("scheduler.forkserver")

#: How long a run waits for a starting server before it is started the exec way instead.
READY_TIMEOUT = 30.0
#: How long the server may take to confirm a fork before it counts as broken.
REPLY_TIMEOUT = 10.0


class ForkedProcess:
    """A run forked by the fork server, waited on like ``subprocess.Popen``: ``pid``,
    ``returncode`` (``-N`` for signal N), :meth:`wait` (``TimeoutExpired``) and :meth:`poll`.

    ``returncode`` stays None and :attr:`lost` says why when its exit status can no longer be
    known (the fork server died and the run was killed by a signal meanwhile)."""

    def __init__(self, pid: int, run: socket.socket, argv: list[str]):
        self.pid = pid
        self.args = argv
        self.returncode: int | None = None
        self.lost: str | None = None
        self._run = run
        self._lock = threading.Lock()

    def poll(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.wait(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        with self._lock:
            deadline = None if timeout is None else time.monotonic() + timeout
            while self.returncode is None and self.lost is None:
                left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                self._run.settimeout(left)
                try:
                    message = self._run.recv(MAX_MESSAGE)
                except TimeoutError:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0.0) from None
                except OSError as exc:
                    message = b""
                    self.lost = f"its fork server's socket failed: {exc}"
                if not message:
                    self._ended_unreported()
                    break
                reply = json.loads(message)
                if "exit" in reply:
                    self.returncode = int(reply["exit"])
            if self._run.fileno() != -1 and (self.returncode is not None or self.lost):
                self._run.close()
            return self.returncode

    def _ended_unreported(self) -> None:
        """Every end of the run's socket closed with no exit status: the run and its server
        ended (the server was killed while the run went on, then the run was killed)."""
        self.lost = self.lost or "its fork server died while it ran; its exit status is unknown"


class ForkServer:
    """One fork server for the daemon's Python job runs (see the module doc)."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = environ
        self._lock = threading.Lock()
        self._channel: socket.socket | None = None
        self._process: subprocess.Popen | None = None
        self._ready = threading.Event()
        self._closed = False
        self.starts = 0

    @property
    def pid(self) -> int | None:
        """The server's PID while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def state(self) -> dict[str, object]:
        """``pid`` (None while none runs), ``ready`` and ``starts`` (how many servers were
        started: more than one means code changed on disk, or a server died)."""
        return {
            "pid": self.pid,
            "ready": self._ready.is_set() and self.pid is not None,
            "starts": self.starts,
        }

    def start(self) -> None:
        """Start the server in the background (it imports the job code); no-op while it runs.
        A server that died is logged and replaced."""
        with self._lock:
            if self._closed:
                return
            if self._process is not None:
                code = self._process.poll()
                if code is None:
                    return
                logger.error(
                    "fork server PID %s died (exit status %s); starting a new one", self._process.pid, code
                )
            self._launch()

    def _launch(self) -> None:
        """Start a new server process (with the lock held); the old one, if any, drains."""
        self._retire()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ if self._environ is None else self._environ)
        env["SCHEDULER_OWNER_PID"] = str(os.getpid())
        try:
            self._process = subprocess.Popen(
                program.python_command("fork-server", "--channel-fd", str(theirs.fileno())),
                stdin=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                env=env,
                start_new_session=True,  # a Ctrl-C to a foreground daemon does not reach it
            )
        except OSError as exc:
            mine.close()
            logger.error("fork server cannot start (%s); Python jobs start as new interpreters", exc)
            return
        finally:
            theirs.close()
        self.starts += 1
        self._channel = mine
        self._ready.clear()
        threading.Thread(target=self._await_ready, args=(mine, self._process), daemon=True).start()

    def _await_ready(self, channel: socket.socket, process: subprocess.Popen) -> None:
        try:
            channel.settimeout(READY_TIMEOUT * 4)
            message = channel.recv(MAX_MESSAGE)
        except OSError:
            message = b""
        if message and self._channel is channel:
            reply = json.loads(message)
            logger.info(
                "fork server PID %s ready (%s of this program's modules imported)",
                reply.get("ready"),
                reply.get("modules"),
            )
            self._ready.set()
        elif self._channel is channel:
            logger.error("fork server PID %s did not start (exit status %s)", process.pid, process.poll())

    def _retire(self) -> None:
        """Close the channel to the current server: it takes no more runs and exits once its
        runs ended."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._process = None

    def spawn(
        self,
        *,
        job_id: str,
        execution_id: int,
        trigger: str,
        scheduled: str | None,
        run_date: str,
        env: Mapping[str, str],
        cwd: str,
        log_file: BinaryIO,
    ) -> ForkedProcess | None:
        """Fork one run (its output to ``log_file``); None when it must start the exec way."""
        if self._closed:
            return None
        self.start()  # a server that died is replaced here
        if not self._ready.wait(READY_TIMEOUT):
            logger.warning(
                "fork server not ready after %.0fs; job=%s starts as a new interpreter", READY_TIMEOUT, job_id
            )
            return None
        request = {
            "job_id": job_id,
            "execution_id": execution_id,
            "trigger": trigger,
            "scheduled": scheduled,
            "run_date": run_date,
            "env": dict(env),
            "cwd": cwd,
            "owner": os.getpid(),
        }
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._lock:
                channel = self._channel
                if channel is None:
                    return None
                socket.send_fds(channel, [json.dumps(request).encode()], [log_file.fileno(), theirs.fileno()])
        except OSError as exc:
            mine.close()
            self._lost(f"cannot reach it ({exc})")
            return None
        finally:
            theirs.close()
        mine.settimeout(REPLY_TIMEOUT)
        try:
            reply = json.loads(mine.recv(MAX_MESSAGE) or b"{}")
        except (OSError, ValueError) as exc:
            reply = {"error": f"no answer in {REPLY_TIMEOUT:.0f}s ({exc})"}
        if "pid" in reply:
            return ForkedProcess(int(reply["pid"]), mine, [f"fork-server run {job_id}"])
        mine.close()
        if "stale" in reply:
            logger.info("fork server: %s changed since it was imported; starting a fresh one", reply["stale"])
            with self._lock:
                if self._channel is channel:
                    self._launch()
        else:
            self._lost(reply.get("error") or "it closed the run's socket without forking")
        return None

    def _lost(self, reason: str) -> None:
        """The server failed a request: log it and start a new one for the next runs."""
        with self._lock:
            process = self._process
            if process is not None and process.poll() is None:
                logger.error("fork server PID %s failed: %s; starting a new one", process.pid, reason)
            else:
                code = process.poll() if process is not None else None
                logger.error("fork server died (exit status %s): %s; starting a new one", code, reason)
            if not self._closed:
                self._launch()

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking runs; wait up to ``timeout`` for the server to end (after its runs)."""
        with self._lock:
            self._closed = True
            process = self._process
            self._retire()
        if process is not None:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("fork server PID %s still running its last runs; left to end", process.pid)
