"""A PID file held with ``flock`` for the daemon's whole life, and the start lock beside it.

Whether a daemon runs is decided by the lock, never by guessing from the PID: a PID file left
behind by ``kill -9`` is unlocked, so it never blocks a start and its PID is never signalled.

The start lock (``<pid file>.starting``) is held by ``start`` from its first step until the
daemon it spawned is ready or gone: concurrent starts queue on it (the later ones then find the
daemon running), and ``stop`` waits on it instead of reporting "not running" while a daemon is
still coming up.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

RUNNING, STALE, NOT_RUNNING = "running", "stale", "not running"


class AlreadyRunning(Exception):
    """Another process holds the lock; ``pid`` is the PID it wrote (or None)."""

    def __init__(self, pid: int | None):
        self.pid = pid
        super().__init__(f"already running (PID {pid})" if pid else "already running")


def _read_pid(fd: int) -> int | None:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 64).decode("ascii", "replace").strip()
    return int(raw) if raw.isdigit() else None


def _lock_exclusive(fd: int, attempts: int = 10) -> bool:
    """Try LOCK_EX a few times: a concurrent :func:`probe` holds LOCK_SH for microseconds."""
    for attempt in range(attempts):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            if attempt + 1 < attempts:
                time.sleep(0.02)
    return False


class PidFile:
    """Acquire with :meth:`acquire`; the lock lasts until :meth:`release` or process exit."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Lock the file and write our PID; raise AlreadyRunning when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            if not _lock_exclusive(fd):
                pid = _read_pid(fd)
                os.close(fd)
                raise AlreadyRunning(pid)
            # The holder before us may have unlinked the file after we opened it: retry on the
            # path's current inode so two daemons can never lock two different files.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        """Remove the file and drop the lock (in that order, so no one locks a doomed inode)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None


@dataclass(frozen=True)
class PidState:
    state: str  # RUNNING, STALE or NOT_RUNNING
    pid: int | None


def probe(path: Path) -> PidState:
    """Tell, by the lock, whether a daemon holds ``path``; never signals anything."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return PidState(NOT_RUNNING, None)
    try:
        pid = _read_pid(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return PidState(RUNNING, pid)
            raise
        fcntl.flock(fd, fcntl.LOCK_UN)
        return PidState(STALE, pid)
    finally:
        os.close(fd)


def start_lock_path(pid_file: Path) -> Path:
    return pid_file.with_name(pid_file.name + ".starting")


@contextmanager
def starting(pid_file: Path) -> Iterator[None]:
    """Hold the start lock for the block, waiting while another start holds it."""
    path = start_lock_path(pid_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # the lock goes with the descriptor; the file stays for the next start


def start_in_progress(pid_file: Path) -> bool:
    """True while a ``start`` holds the start lock (its daemon is not ready yet)."""
    try:
        fd = os.open(start_lock_path(pid_file), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return True
        raise
    finally:
        os.close(fd)
    return False
