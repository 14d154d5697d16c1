"""A job's own log, ``logs/jobs/<job_id>.log``: every execution's output after a header line.

The file is appended to; above ``SCHEDULER_JOB_LOG_MAX_BYTES`` it is rotated to
``<job_id>.log.1`` before the next run. The history row keeps the output's last characters,
control characters escaped (:func:`read_tail`).
A run whose log cannot be opened and its header written is not started (the runner records why).
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from fund_common.escaping import printable
from fund_scheduler.store.history import OUTPUT_TAIL_CHARS

__all__ = ["banner", "header", "job_log_path", "open_job_log", "read_tail"]


def job_log_path(log_dir: Path, job_id: str) -> Path:
    return log_dir / f"{job_id}.log"


def open_job_log(log_dir: Path, job_id: str, max_bytes: int, first: bytes) -> tuple[Path, BinaryIO]:
    """The job's log opened for appending (rotated first when above ``max_bytes``) with ``first``
    written and flushed; ``OSError`` when any of it fails (a full disk, a folder that is a file)."""
    path = job_log_path(log_dir, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.stat().st_size > max_bytes:
        path.replace(path.with_suffix(".log.1"))
    log_file = open(path, "ab")  # noqa: SIM115 - closed by the caller
    try:
        log_file.write(first)
        log_file.flush()
    except OSError:
        with contextlib.suppress(OSError):  # the bytes that could not be written fail again
            log_file.close()
        raise
    return path, log_file


def header(job_id: str, execution_id: int, trigger: str) -> bytes:
    """``=== <local time> job=<id> execution=<n> trigger=<t> ===``, the line before a run's output."""
    return banner(f"job={job_id} execution={execution_id} trigger={trigger}")


def banner(text: str) -> bytes:
    """``=== <local time> <text> ===``, a line of the daemon's own in a job log."""
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    return f"=== {now} {text} ===\n".encode()


def read_tail(path: Path, offset: int, limit: int = OUTPUT_TAIL_CHARS) -> str:
    """The last ``limit`` characters written to ``path`` after ``offset`` ("" when unreadable),
    lines and tabs kept, every other control character shown by its escape (``\\x1b``:
    :func:`fund_common.escaping.printable`).

    Escaped here, where the history row's ``output_tail`` (and the ``error`` taken from its last
    line) is made, rather than in each front-end: the CLI, the page, the API and the alerts
    then all read harmless text, and the job log keeps the bytes the job wrote.
    """
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(offset, size - limit * 4))
            data = f.read()
    except OSError:
        return ""
    return printable(data.decode("utf-8", "replace"))[-limit:]
