"""``scheduler.log``'s records, one line each (fund_scheduler.logsetup.OneLineFormatter and
RedactSecrets): a forged line, an escape sequence, a secret in any URL form never get through."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from fund_scheduler import logsetup
from fund_scheduler.settings import Settings

FORGED = "2026-01-01 00:00:00,000 INFO    scheduler.daemon: forged"


def _configured(tmp_path: Path, queued: bool = False, **environ: str) -> Path:
    settings = Settings.from_env({"SCHEDULER_HOME": str(tmp_path), **environ})
    logsetup.configure(settings, console=False, queued=queued)
    return settings.scheduler_log


@pytest.mark.parametrize("queued", [False, True], ids=["direct", "queued (the daemon's)"])
def test_every_record_is_one_line_whatever_its_message_and_exception_hold(tmp_path, queued) -> None:
    log = _configured(tmp_path, queued)
    logger = logging.getLogger("scheduler.test")
    try:
        logger.warning("csv source: rejected %s (empty)", f"bad\n{FORGED}.csv")
        logger.info("output: %s", "\x1b[2J\x1b[31mRED\r\x07")
        try:
            raise ValueError(f"bad value\n{FORGED}")
        except ValueError:
            logger.exception("job=%s failed", "j")
    finally:
        logsetup.configure(Settings.from_env({"SCHEDULER_HOME": str(tmp_path)}), console=False, to_file=False)
    text = log.read_text()
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    assert not any(line.startswith(FORGED) for line in text.splitlines())
    assert f"rejected bad\\n{FORGED}.csv (empty)" in text
    assert "output: \\x1b[2J\\x1b[31mRED\\r\\x07" in text
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("job=j failed"))
    assert lines[start + 1] == "Traceback (most recent call last):"  # our traceback: multi-line
    assert lines[start + 2].startswith("  File ")
    assert lines[-1] == f"ValueError: bad value\\n{FORGED}"  # its message: one line


def test_secrets_are_masked_in_every_url_form_even_in_urls_no_setting_names(tmp_path) -> None:
    feed = "https://feed.example/nav?date={date}&passwd=2024-06-03"
    log = _configured(tmp_path, FUND_HTTP_URL=feed, FEED_PASSWORD="Sx9-q")
    logger = logging.getLogger("scheduler.test")
    try:
        logger.error("fetch https://feed.example/nav?date=2024-06-03&passwd=2024-06-03 failed")
        logger.error("other: mysql://fs:Kp9-AT@tail@db/x and https://h/x?token=zz9yy8 and Sx9-q")
    finally:
        logsetup.configure(Settings.from_env({"SCHEDULER_HOME": str(tmp_path)}), console=False, to_file=False)
    text = log.read_text()
    assert "fetch https://feed.example/nav?date=***&passwd=*** failed" in text  # every occurrence
    assert "2024-06-03" not in text
    assert "other: mysql://fs:***@db/x and https://h/x?token=*** and ***" in text


def test_queued_records_of_many_threads_are_all_written_masked_each_threads_in_order(tmp_path) -> None:
    log = _configured(tmp_path, True, DATABASE_URL="mysql+pymysql://u:hunter2secret@db/fund")
    logger = logging.getLogger("scheduler.test")

    def emit(thread: int) -> None:
        for n in range(200):
            logger.info("thread %d record %d (password hunter2secret)", thread, n)

    threads = [threading.Thread(target=emit, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logsetup.configure(Settings.from_env({"SCHEDULER_HOME": str(tmp_path)}), console=False, to_file=False)
    lines = log.read_text().splitlines()  # the writer thread wrote everything queued when replaced
    assert len(lines) == 1600 and "hunter2secret" not in "\n".join(lines)
    for t in range(8):
        mine = [int(line.rsplit("record ", 1)[1].split()[0]) for line in lines if f"thread {t} " in line]
        assert mine == list(range(200))
