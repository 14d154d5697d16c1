"""The flock-held PID file: one holder, and running / stale / not running told by the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from fund_scheduler.daemon.pidfile import (
    NOT_RUNNING,
    RUNNING,
    STALE,
    AlreadyRunning,
    PidFile,
    PidState,
    probe,
)

PROJECT_DIR = Path(__file__).resolve().parents[3]

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from fund_scheduler.daemon.pidfile import PidFile

    PidFile(Path(sys.argv[1])).acquire()
    print("locked", flush=True)
    sys.stdin.readline()  # hold the lock until told (or killed)
    """
)

CONTENDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from fund_scheduler.daemon.pidfile import AlreadyRunning, PidFile

    try:
        PidFile(Path(sys.argv[1])).acquire()
    except AlreadyRunning as exc:
        print(f"refused {exc.pid}")
        sys.exit(3)
    print("acquired")
    """
)


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the PID file ``tmp_path/run/scheduler.pid``."""
    proc = subprocess.Popen(
        python(HOLDER, str(tmp_path / "run" / "scheduler.pid")),
        cwd=PROJECT_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def test_acquire_writes_our_pid_and_release_removes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "run" / "scheduler.pid"
    pidfile = PidFile(path)
    pidfile.acquire()
    assert path.read_text() == f"{os.getpid()}\n"
    assert probe(path) == PidState(RUNNING, os.getpid())
    pidfile.release()
    assert not path.exists()
    assert probe(path) == PidState(NOT_RUNNING, None)
    pidfile.release()  # harmless twice
    PidFile(path).release()  # and without acquire


def test_second_acquire_in_the_same_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.pid"
    first = PidFile(path)
    first.acquire()
    try:
        with pytest.raises(AlreadyRunning) as info:
            PidFile(path).acquire()
        assert info.value.pid == os.getpid()
        assert str(info.value) == f"already running (PID {os.getpid()})"
    finally:
        first.release()


def test_second_acquire_in_another_process_is_refused_with_the_pid(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.pid"
    pidfile = PidFile(path)
    pidfile.acquire()
    try:
        other = subprocess.run(
            python(CONTENDER, str(path)), cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30
        )
        assert other.returncode == 3, other.stderr
        assert other.stdout.strip() == f"refused {os.getpid()}"
        assert path.read_text() == f"{os.getpid()}\n"  # the loser did not overwrite it
    finally:
        pidfile.release()
    after = subprocess.run(python(CONTENDER, str(path)), cwd=PROJECT_DIR, capture_output=True, text=True)
    assert after.stdout.strip() == "acquired"


def test_acquire_refused_while_another_process_holds_it(tmp_path: Path, holder: subprocess.Popen) -> None:
    path = tmp_path / "run" / "scheduler.pid"
    with pytest.raises(AlreadyRunning) as info:
        PidFile(path).acquire()
    assert info.value.pid == holder.pid


def test_probe_running_then_stale_after_kill_9(tmp_path: Path, holder: subprocess.Popen) -> None:
    path = tmp_path / "run" / "scheduler.pid"
    assert probe(path) == PidState(RUNNING, holder.pid)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(10)
    assert path.exists()  # left behind by kill -9 ...
    assert probe(path) == PidState(STALE, holder.pid)  # ... but nobody holds its lock
    pidfile = PidFile(path)
    pidfile.acquire()  # a stale file never blocks a start
    try:
        assert probe(path) == PidState(RUNNING, os.getpid())
    finally:
        pidfile.release()
    assert probe(path) == PidState(NOT_RUNNING, None)


def test_exit_without_release_leaves_a_stale_file(tmp_path: Path, holder: subprocess.Popen) -> None:
    path = tmp_path / "run" / "scheduler.pid"
    holder.stdin.close()  # the holder returns without release(): the lock dies with the process
    assert holder.wait(10) == 0
    assert probe(path) == PidState(STALE, holder.pid)


@pytest.mark.parametrize(
    ("content", "pid"),
    [("", None), ("garbage\n", None), ("1\n", 1), (f"{os.getpid()}\n", os.getpid())],
    ids=["empty", "garbage", "pid-1-alive", "our-own-pid"],
)
def test_stale_file_is_told_by_the_lock_not_the_pid(tmp_path: Path, content: str, pid: int | None) -> None:
    # A live PID in an unlocked file is still stale: nothing is guessed from the PID.
    path = tmp_path / "scheduler.pid"
    path.write_text(content)
    assert probe(path) == PidState(STALE, pid)
    pidfile = PidFile(path)
    pidfile.acquire()
    try:
        assert path.read_text() == f"{os.getpid()}\n"
    finally:
        pidfile.release()


def test_probe_of_missing_file(tmp_path: Path) -> None:
    assert probe(tmp_path / "nope.pid") == PidState(NOT_RUNNING, None)
    assert probe(tmp_path / "no" / "dir" / "nope.pid") == PidState(NOT_RUNNING, None)
