"""``scheduler.log`` when it cannot be written (fund_scheduler.logsetup.RetryingFileHandler): real
ENOSPC from /dev/full (and from a full 64 KiB tmpfs where this user may mount one), real
ENOTDIR; the handler counts the lost lines, says so once on stderr, retries, and resumes with a
line saying how many were lost."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from fund_scheduler.logsetup import RetryingFileHandler, log_problems

T0 = datetime(2025, 3, 3, 11, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"test.logsetup.{id(handler)}")
    logger.propagate = False
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    return logger


def test_a_full_disk_loses_lines_counted_and_logging_resumes_saying_how_many(tmp_path, capsys) -> None:
    path = tmp_path / "scheduler.log"
    path.symlink_to("/dev/full")
    clock = Clock()
    handler = RetryingFileHandler(path, maxBytes=1000, backupCount=2, encoding="utf-8", clock=clock)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    log = _logger(handler)
    for n in range(3):
        log.info("line %d", n)

    assert handler.failure is not None and handler.failure.lost == 3
    assert handler.failure.message == f"cannot write {path}: No space left on device"
    err = capsys.readouterr().err
    assert err == f"logging: cannot write {path}: No space left on device; lines are lost until it can\n"
    clock.now = T0 + timedelta(minutes=5)
    assert handler.retry() is handler.failure  # still full: nothing written, nothing more lost
    assert handler.failure.lost == 3

    path.unlink()  # space again
    log.info("back")
    assert path.read_text().splitlines() == [
        f"scheduler.logging: {path} written again; it could not be from 2025-03-03 11:00:00 UTC "
        "to 2025-03-03 11:05:00 UTC (No space left on device); log lines lost: 3",
        f"{log.name}: back",
    ]
    assert handler.failure is None and capsys.readouterr().err == ""
    handler.close()


def test_status_and_health_see_it_and_their_retry_resumes_it(tmp_path) -> None:
    path = tmp_path / "scheduler.log"
    path.symlink_to("/dev/full")
    handler = RetryingFileHandler(path, encoding="utf-8", clock=Clock())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logging.getLogger("scheduler.runner").warning("to a full disk")
        assert log_problems() == [
            f"cannot write {path}: No space left on device (since 2025-03-03 11:00:00 UTC; log lines lost: 1)"
        ]
        path.unlink()
        assert log_problems() == []
        assert path.read_text().endswith("log lines lost: 1\n")
    finally:
        root.removeHandler(handler)
        handler.close()


def test_a_log_folder_under_a_regular_file_is_named(tmp_path) -> None:
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "scheduler.log"
    handler = RetryingFileHandler(path, encoding="utf-8", delay=True)
    _logger(handler).error("nowhere to go")
    assert handler.failure is not None
    assert handler.failure.message == f"cannot write {path}: Not a directory"
    handler.close()


@pytest.fixture
def full_tmpfs(tmp_path):
    """A 64 KiB tmpfs filled to the last byte (real ENOSPC); skipped where mounting is refused."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        filler = mount / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"x" * 512):
                pass
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)
        yield mount, filler
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_real_full_filesystem_and_the_space_coming_back(full_tmpfs) -> None:
    mount, filler = full_tmpfs
    path = mount / "scheduler.log"
    handler = RetryingFileHandler(path, maxBytes=10_000, backupCount=1, encoding="utf-8")
    log = _logger(handler)
    log.info("x" * 5000)
    log.info("y" * 5000)
    assert handler.failure is not None and handler.failure.lost == 2
    assert handler.failure.reason == "No space left on device"
    filler.unlink()
    log.info("after")
    lines = path.read_text().splitlines()
    assert lines[-2].endswith("log lines lost: 2") and lines[-1] == "after"
    handler.close()
