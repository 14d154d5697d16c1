"""Each run's own log, ``logs/jobs/<job_id>/<execution_id>.log``: a header line, then the run's output.

A child process (``executor="process"``) writes its stdout and stderr straight into the file; an
in-thread run's file holds the log records of its thread (:class:`ThreadLogHandler`).
``logs/jobs/<job_id>/latest.log`` is a symlink to the job's newest run (``tail -F`` follows it
from run to run). :func:`run_log_path` is the one place that says where a run's log lies: the
runner, the CLI's ``logs`` and the HTTP API all ask it.

Size: a run's log is kept within ``SCHEDULER_JOB_LOG_MAX_BYTES`` (:class:`SizeCap`, checked
every second while the run goes and when it ends): past it the file keeps its first half, one
``=== N bytes cut … ===`` line, and the newest output. Retention: :func:`purge_run_logs` deletes
the logs of runs that ended more than ``HISTORY_RETENTION_DAYS`` ago (the cleanup job).

The history row keeps the output's last characters, control characters escaped
(:func:`read_tail`). A run whose log cannot be opened and its header written is not started
(the runner records why).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from fund_common.escaping import printable
from fund_scheduler.store.history import OUTPUT_TAIL_CHARS

__all__ = [
    "LATEST",
    "LogChunk",
    "SizeCap",
    "ThreadLogHandler",
    "banner",
    "header",
    "job_log_folder",
    "open_run_log",
    "point_latest",
    "purge_run_logs",
    "read_chunk",
    "read_tail",
    "run_log_path",
]

LATEST = "latest.log"
#: Bytes kept free after the head for the ``bytes cut`` line (the tail gets the rest of the cap).
MARKER_ROOM = 200


def job_log_folder(log_dir: Path, job_id: str) -> Path:
    """``<log_dir>/<job_id>``: the folder of a job's run logs."""
    return log_dir / job_id


def run_log_path(log_dir: Path, job_id: str, execution_id: int) -> Path:
    """``<log_dir>/<job_id>/<execution_id>.log``: where execution ``execution_id`` of ``job_id``
    writes its output (``log_dir`` is ``Settings.job_log_dir``, ``logs/jobs``)."""
    return job_log_folder(log_dir, job_id) / f"{execution_id}.log"


def open_run_log(path: Path, first: bytes) -> BinaryIO:
    """``path`` opened for appending (its folder created when missing) with ``first`` written and
    flushed; ``OSError`` when any of it fails (a full disk, a folder that is a file)."""
    try:
        log_file = open(path, "ab")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        log_file = open(path, "ab")  # noqa: SIM115 - closed by the caller
    try:
        log_file.write(first)
        log_file.flush()
    except OSError:
        with contextlib.suppress(OSError):  # the bytes that could not be written fail again
            log_file.close()
        raise
    return log_file


def point_latest(path: Path) -> None:
    """Make ``latest.log`` beside ``path`` a relative symlink to it (replaced atomically); a
    filesystem that refuses is no reason to fail a run."""
    latest = path.parent / LATEST
    temporary = path.parent / f".{LATEST}.{os.getpid()}.{threading.get_ident()}"
    try:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        temporary.symlink_to(path.name)
        temporary.replace(latest)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


def header(job_id: str, execution_id: int, trigger: str) -> bytes:
    """``=== <local time> job=<id> execution=<n> trigger=<t> ===``, a run log's first line."""
    return banner(f"job={job_id} execution={execution_id} trigger={trigger}")


def banner(text: str) -> bytes:
    """``=== <local time> <text> ===``, a line of the daemon's own in a run log."""
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    return f"=== {now} {text} ===\n".encode()


class SizeCap:
    """Keeps one run's log within ``max_bytes``: once above, the file keeps its first
    ``max_bytes // 2`` bytes, one line ``=== N bytes cut (SCHEDULER_JOB_LOG_MAX_BYTES=…) ===``
    (N counts every byte cut so far) and its newest bytes up to the cap.

    The file is cut in place (the child appends with ``O_APPEND``, so it goes on writing at the
    new end); what the child writes during the cut itself (microseconds) may be lost with it.
    """

    def __init__(self, path: Path, max_bytes: int):
        self.path = path
        self.max_bytes = max_bytes
        self.cut = 0  # bytes cut so far
        self._marker = 0  # length of the marker line written at the head's end

    def apply(self) -> int:
        """Cut the file when above the cap; the bytes cut so far. ``OSError`` is left to the caller."""
        size = self.path.stat().st_size
        if size <= self.max_bytes:
            return self.cut
        head = self.max_bytes // 2
        keep = max(self.max_bytes - head - MARKER_ROOM, 0)
        with open(self.path, "rb") as f:
            f.seek(size - keep)
            tail = f.read(keep)
        self.cut += size - head - self._marker - len(tail)
        marker = f"\n=== {self.cut} bytes cut (SCHEDULER_JOB_LOG_MAX_BYTES={self.max_bytes}) ===\n".encode()
        os.truncate(self.path, head)
        with open(self.path, "ab") as f:
            f.write(marker + tail)
        self._marker = len(marker)
        return self.cut


def read_tail(path: Path, offset: int, limit: int = OUTPUT_TAIL_CHARS) -> str:
    """The last ``limit`` characters written to ``path`` after ``offset`` ("" when unreadable),
    lines and tabs kept, every other control character shown by its escape (``\\x1b``:
    :func:`fund_common.escaping.printable`).

    Escaped here, where the history row's ``output_tail`` (and the ``error`` taken from its last
    line) is made, rather than in each front-end: the CLI, the page, the API and the alerts
    then all read harmless text, and the run log keeps the bytes the job wrote.
    """
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(offset, size - limit * 4))
            data = f.read()
    except OSError:
        return ""
    return printable(data.decode("utf-8", "replace"))[-limit:]


@dataclass(frozen=True)
class LogChunk:
    """Bytes ``offset`` to ``next_offset`` of a run log of ``size`` bytes, decoded."""

    offset: int
    next_offset: int
    size: int
    text: str


def read_chunk(
    path: Path,
    offset: int | None = None,
    limit: int | None = None,
    tail: int | None = None,
    *,
    final: bool = True,
) -> LogChunk:
    """Up to ``limit`` bytes of ``path`` from ``offset`` (default 0: the whole file), or its last
    ``tail`` bytes; ``OSError`` (``FileNotFoundError``) when it cannot be read.

    Decoded as UTF-8 with replacement, control characters but lines and tabs escaped. Unless
    ``final`` (the run has ended), a character whose bytes are not all written yet is left for
    the next read: ``next_offset`` stops before it. An offset past the end (the file was cut to
    its cap meanwhile) reads from the end.
    """
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        start = chunk_start(size, offset, tail)
        f.seek(start)
        data = f.read(limit if limit is not None else -1)
    return decoded_chunk(start, data, size, final=final)


def chunk_start(size: int, offset: int | None, tail: int | None) -> int:
    """Where a read of ``offset`` (or the last ``tail`` bytes) of ``size`` bytes starts."""
    return max(size - tail, 0) if tail is not None else min(offset or 0, size)


def decoded_chunk(start: int, data: bytes, size: int, *, final: bool) -> LogChunk:
    """``data`` (a log's bytes from ``start``, of ``size`` in all) as :func:`read_chunk` answers."""
    if not final or start + len(data) < size:
        data = _whole_characters(data)
    return LogChunk(start, start + len(data), size, printable(data.decode("utf-8", "replace")))


def _whole_characters(data: bytes) -> bytes:
    """``data`` without a UTF-8 sequence cut short at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= needed else data[:-back]
    return data


def run_logs(log_dir: Path) -> Iterable[Path]:
    """Every run log under ``log_dir`` (``<job>/<n>.log``), and the old per-job files
    (``<job>.log``, ``<job>.log.1``) of earlier versions."""
    yield from log_dir.glob("*/*.log")
    yield from log_dir.glob("*.log")
    yield from log_dir.glob("*.log.*")


def purge_run_logs(log_dir: Path, cutoff: float) -> int:
    """Delete the run logs last written before ``cutoff`` (a POSIX time) and the ``latest.log``
    links left pointing at nothing; return how many logs were deleted."""
    removed = 0
    for path in run_logs(log_dir):
        if path.name == LATEST or path.is_symlink():
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    for folder in log_dir.iterdir() if log_dir.is_dir() else ():
        latest = folder / LATEST  # a glob skips a link to nothing: looked at by name
        if latest.is_symlink() and not latest.exists():
            with contextlib.suppress(FileNotFoundError):
                latest.unlink()
    return removed


class ThreadLogHandler(logging.Handler):
    """Writes the records logged by one thread (an in-thread run's) to its run log, one line each,
    until removed. The file is the caller's; what cannot be written is counted in :attr:`lost`
    and the run goes on (its history row keeps the tail)."""

    def __init__(self, log_file: BinaryIO, thread_id: int | None = None):
        super().__init__()
        self.log_file = log_file
        self.thread_id = threading.get_ident() if thread_id is None else thread_id
        self.lost = 0

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread_id and bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        self.write_text(self.format(record) + "\n")

    def write_text(self, text: str) -> None:
        """Append ``text`` (the run's traceback, its result line) to the log."""
        if not text:
            return
        try:
            self.log_file.write(text.encode("utf-8", "replace"))
            self.log_file.flush()
        except (OSError, ValueError):  # a full disk, a closed file: counted, the run goes on
            self.lost += 1
