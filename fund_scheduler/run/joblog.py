"""A job's own log, ``logs/jobs/<job_id>.log``: every execution's output after a header line.

The file is appended to; above ``SCHEDULER_JOB_LOG_MAX_BYTES`` it is rotated to
``<job_id>.log.1`` before the next run. The history row keeps the output's last characters.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from fund_scheduler.store.history import OUTPUT_TAIL_CHARS

__all__ = ["header", "job_log_path", "open_job_log", "read_tail"]


def job_log_path(log_dir: Path, job_id: str) -> Path:
    return log_dir / f"{job_id}.log"


def open_job_log(log_dir: Path, job_id: str, max_bytes: int) -> tuple[Path, BinaryIO]:
    """The job's log opened for appending (rotated first when above ``max_bytes``)."""
    path = job_log_path(log_dir, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > max_bytes:
        path.replace(path.with_suffix(".log.1"))
    return path, open(path, "ab")  # noqa: SIM115 - closed by the caller


def header(job_id: str, execution_id: int, trigger: str) -> bytes:
    """``=== <local time> job=<id> execution=<n> trigger=<t> ===``, the line before a run's output."""
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    return f"=== {now} job={job_id} execution={execution_id} trigger={trigger} ===\n".encode()


def read_tail(path: Path, offset: int, limit: int = OUTPUT_TAIL_CHARS) -> str:
    """The last ``limit`` characters written to ``path`` after ``offset`` ("" when unreadable)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(offset, size - limit * 4))
            data = f.read()
    except OSError:
        return ""
    return data.decode("utf-8", "replace")[-limit:]
