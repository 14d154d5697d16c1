"""Process groups of job runs: ending one, telling whether a PID still runs, and settling the
runs a dead daemon left behind.

Every job child runs in its own session (its own process group), so a timeout or a shutdown ends
the whole group, grandchildren included, and a signal to the daemon never reaches the jobs. A
child carries ``SCHEDULER_EXECUTION_ID`` and ``SCHEDULER_OWNER_PID`` in its environment: a
PID is only ever acted on after its environment says it is that execution's child.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from fund_common.runstatus import RunStatus
from fund_scheduler.store import history

__all__ = ["KILL_GRACE_SECONDS", "kill_group", "process_alive", "reap_orphans"]

logger = logging.getLogger("scheduler.runner")

KILL_GRACE_SECONDS = 5.0


def kill_group(proc: subprocess.Popen, grace: float = KILL_GRACE_SECONDS) -> None:
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


def _job_process(pid: int | None, execution_id: int) -> Any:
    """The live process ``pid`` if it is the child of ``execution_id`` (checked by its environment)."""
    import psutil

    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        environ = proc.environ()
    except (psutil.Error, OSError):
        return None
    if environ.get("SCHEDULER_EXECUTION_ID") != str(execution_id):
        return None  # the PID was reused by an unrelated process
    return proc


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
    import psutil

    interrupted = kept = 0
    for row in history.running_rows(engine):
        proc = _job_process(row["pid"], row["id"])
        reason = "the daemon stopped before the run finished"
        if proc is not None:
            owner = proc.environ().get("SCHEDULER_OWNER_PID", "")
            if owner.isdigit() and int(owner) != os.getpid() and process_alive(int(owner)):
                kept += 1
                continue
            logger.warning(
                "job=%s execution=%s orphaned by a dead daemon is still running (PID %s); "
                "terminating its process group",
                row["job_id"],
                row["id"],
                proc.pid,
            )
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)
                _gone, alive = psutil.wait_procs([proc], timeout=grace)
                if not alive:
                    break
            reason = "orphaned by a daemon that died; process group terminated at the next start"
        history.finish(engine, row["id"], RunStatus.INTERRUPTED, error=reason)
        interrupted += 1
        if on_finished is not None:
            on_finished(history.get(engine, row["id"]) or {})
    return interrupted, kept
