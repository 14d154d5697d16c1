"""Process groups of job runs: ending one, telling whether a PID still runs, and settling the
runs a dead daemon left behind.

Every job child runs in its own session (its own process group), so a timeout or a shutdown ends
the whole group, grandchildren included, and a signal to the daemon never reaches the jobs. A
child carries ``SCHEDULER_EXECUTION_ID`` and ``SCHEDULER_OWNER_PID`` in its environment (a run
forked by the fork server, whose ``/proc`` environment is the server's, in its process title): a
PID is only ever acted on after it says it is that execution's child (:func:`run_identity`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from fund_common.runstatus import RunStatus
from fund_scheduler.store import history

__all__ = [
    "KILL_GRACE_SECONDS",
    "ChildProcess",
    "end_orphan",
    "kill_group",
    "process_alive",
    "reap_orphans",
    "run_identity",
    "run_process",
]

logger = logging.getLogger("scheduler.runner")

KILL_GRACE_SECONDS = 5.0
#: The process title of a forked run (:func:`fund_scheduler.run.zygote.run_title`).
RUN_TITLE = re.compile(r"^fund-scheduler run job=\S+ execution=(\d+) owner=(\d+)$")


class ChildProcess(Protocol):
    """A run's process as the runner waits on it: a ``subprocess.Popen`` or a forked run."""

    pid: int
    returncode: int | None

    def wait(self, timeout: float | None = None) -> int | None: ...

    def poll(self) -> int | None: ...


def kill_group(proc: ChildProcess, grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM the process group of ``proc``; SIGKILL it if the leader outlives ``grace``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        if sig == signal.SIGKILL:
            break
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; SIGKILL whatever it left behind in its group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def process_alive(pid: int) -> bool:
    """True when ``pid`` runs (a zombie left unreaped by its parent does not count)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def run_identity(proc: Any) -> tuple[int, int] | None:
    """(execution id, owner PID) of the ``psutil.Process`` ``proc`` when it is a job run: from
    its environment (an exec'd run) or its process title (a forked run); None otherwise."""
    import psutil

    try:
        title = " ".join(part for part in proc.cmdline() if part).strip()
        match = RUN_TITLE.match(title)
        if match:
            return int(match[1]), int(match[2])
        environ = proc.environ()
    except (psutil.Error, OSError):
        return None
    execution, owner = environ.get("SCHEDULER_EXECUTION_ID", ""), environ.get("SCHEDULER_OWNER_PID", "")
    if not execution.isdigit():
        return None
    return int(execution), int(owner) if owner.isdigit() else 0


def run_process(pid: int | None, execution_id: int) -> tuple[Any, int] | None:
    """The live process ``pid`` and its owner's PID, if it is the run of ``execution_id``."""
    import psutil

    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
    except psutil.Error:
        return None
    identity = run_identity(proc)
    if identity is None or identity[0] != execution_id:
        return None  # the PID was reused by an unrelated process
    return proc, identity[1]


def end_orphan(proc: Any, grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM the process group of the ``psutil.Process`` ``proc`` (a run whose owner is gone),
    SIGKILL it after ``grace``."""
    import psutil

    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        _gone, alive = psutil.wait_procs([proc], timeout=grace)
        if not alive:
            break


def reap_orphans(
    engine: Engine,
    grace: float = KILL_GRACE_SECONDS,
    on_finished: Callable[[dict], None] | None = None,
) -> tuple[int, int]:
    """Settle rows a dead owner left ``running`` on this host; return (interrupted, left running).

    A job child whose owner (a daemon killed with ``kill -9``) is gone would otherwise keep running
    beside the next daemon's run of the same job: its process group is terminated and the row
    recorded ``interrupted``. A child whose owner is alive (a one-shot ``run-job``) is left alone.
    ``on_finished`` (e.g. :meth:`Runner.notify_finished`) gets each row so recorded.
    """

    interrupted = kept = 0
    for row in history.running_rows(engine):
        found = run_process(row["pid"], row["id"])
        reason = "the daemon stopped before the run finished"
        if found is not None:
            proc, owner = found
            if owner and owner != os.getpid() and process_alive(owner):
                kept += 1
                continue
            logger.warning(
                "job=%s execution=%s orphaned by a dead daemon is still running (PID %s); "
                "terminating its process group",
                row["job_id"],
                row["id"],
                proc.pid,
            )
            end_orphan(proc, grace)
            reason = "orphaned by a daemon that died; process group terminated at the next start"
        history.finish(engine, row["id"], RunStatus.INTERRUPTED, error=reason)
        interrupted += 1
        if on_finished is not None:
            on_finished(history.get(engine, row["id"]) or {})
    return interrupted, kept
