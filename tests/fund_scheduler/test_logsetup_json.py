"""``SCHEDULER_LOG_FORMAT=json``: every line of ``scheduler.log`` one JSON object (time, level,
logger, message, process, thread, the job's fields, the traceback), masked as the text is;
stderr and the default stay text (fund_scheduler.logsetup.JsonLineFormatter, file_formatter)."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from datetime import datetime
from pathlib import Path

import pytest

from fund_scheduler import logsetup
from fund_scheduler.settings import Settings

FORGED = '{"time": "2026-01-01T00:00:00.000+08:00", "level": "INFO", "message": "forged"}'
DB_PASSWORD = "Kp9-AT-hunter2"
TOKEN = "tok-zz9yy8-secret"


def _configured(tmp_path: Path, *, queued: bool = False, console: bool = False, **environ: str) -> Path:
    settings = Settings.from_env({"SCHEDULER_HOME": str(tmp_path), **environ})
    logsetup.configure(settings, console=console, queued=queued)
    return settings.scheduler_log


def _reset(tmp_path: Path) -> None:
    """Back to no file handler; a queued writer writes what it holds first."""
    logsetup.configure(Settings.from_env({"SCHEDULER_HOME": str(tmp_path)}), console=False, to_file=False)


def _objects(log: Path) -> list[dict]:
    text = log.read_text(encoding="utf-8")
    lines = text.splitlines()  # splits at \x85, \u2028 and friends too: none may be raw
    assert text.count("\n") == len(lines)
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("queued", [False, True], ids=["direct", "queued (the daemon's)"])
def test_each_record_is_one_json_object_with_its_fields_and_secrets_masked(tmp_path, queued) -> None:
    log = _configured(
        tmp_path,
        queued=queued,
        SCHEDULER_LOG_FORMAT="json",
        DATABASE_URL=f"mysql+pymysql://fs:{DB_PASSWORD}@db/fund",
        FEED_TOKEN=TOKEN,
    )
    logger = logging.getLogger("scheduler.test")
    try:
        logger.info("job=%s execution=%s success (for %s)", "daily_collection", 42, "2026-12-04")
        logger.warning("csv source: rejected %s (基金代码 000001)", f"bad\n{FORGED}.csv")
        logger.error("cannot connect with password %s and token %s", DB_PASSWORD, TOKEN)
        try:
            raise ValueError(f"login fs:{DB_PASSWORD} refused\n{FORGED}")
        except ValueError:
            logger.exception("execution=%s: the run failed in the daemon", 7)
        worker = threading.Thread(
            target=logger.info, args=("from a thread",), name="runner\u2028\x85-1"
        )  # a reader taking U+2028 or NEL for a line's end still sees one line
        worker.start()
        worker.join()
    finally:
        _reset(tmp_path)
    done, rejected, refused, failed, threaded = _objects(log)
    text = log.read_text(encoding="utf-8")
    assert DB_PASSWORD not in text and TOKEN not in text

    assert list(done) == ["time", "level", "logger", "message", "process", "thread", "job_id", "execution_id"]
    assert datetime.fromisoformat(done["time"]).utcoffset() is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", done["time"])
    assert (done["level"], done["logger"], done["process"]) == ("INFO", "scheduler.test", os.getpid())
    assert done["message"] == "job=daily_collection execution=42 success (for 2026-12-04)"
    assert (done["job_id"], done["execution_id"]) == ("daily_collection", 42)
    assert done["thread"] == threading.current_thread().name

    # The message as the text format shows it: a line break inside is its escape, never a line.
    assert rejected["message"] == f"csv source: rejected bad\\n{FORGED}.csv (基金代码 000001)"
    assert "基金代码" in text  # non-ASCII readable, not \\u escapes
    assert "job_id" not in rejected and "exc_info" not in rejected

    assert refused["message"] == "cannot connect with password *** and token ***"
    assert refused["level"] == "ERROR"

    assert failed["execution_id"] == 7 and "job_id" not in failed
    assert failed["message"] == "execution=7: the run failed in the daemon"
    trace = failed["exc_info"].splitlines()
    assert trace[0] == "Traceback (most recent call last):" and trace[1].startswith("  File ")
    assert trace[-1] == f"ValueError: login fs:*** refused\\n{FORGED}"

    assert threaded["thread"] == "runner\u2028\x85-1"
    assert "\\u2028\\u0085-1" in text


def test_job_fields_come_from_attributes_a_jobs_logger_or_the_leading_job_and_execution() -> None:
    def fields(message: str, name: str = "scheduler.runner", **attributes: object) -> dict:
        record = logging.LogRecord(name, logging.INFO, __file__, 1, message, None, None)
        record.__dict__.update(attributes)
        return logsetup.job_fields(record, message)

    assert fields("job=nav_check execution=5 failed") == {"job_id": "nav_check", "execution_id": 5}
    assert fields("job=nav_check: set aside") == {"job_id": "nav_check"}
    assert fields("execution=12 cancelled by web:ops") == {"execution_id": 12}
    assert fields("job=a not started after job=b succeeded") == {"job_id": "a"}  # the subject only
    assert fields("backfill 3 of job=nav: 2 run(s)") == {}  # only what the message starts with
    assert fields("job=Forged.csv execution=x") == {}  # never a job id no job can have
    assert fields("loaded 12 funds", name="jobs.daily_collection") == {"job_id": "daily_collection"}
    assert fields("job=other done", job_id="mine", execution_id=9) == {"job_id": "mine", "execution_id": 9}


def test_stderr_stays_text_for_people_while_the_file_is_json(tmp_path, capsys) -> None:
    log = _configured(tmp_path, console=True, SCHEDULER_LOG_FORMAT="json")
    try:
        logging.getLogger("scheduler.test").warning("job=%s is disabled: %s", "weekly", "no calendar")
    finally:
        _reset(tmp_path)
    [record] = _objects(log)
    assert record["message"] == "job=weekly is disabled: no calendar" and record["job_id"] == "weekly"
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith(" WARNING scheduler.test: job=weekly is disabled: no calendar")


def test_text_stays_the_default_format(tmp_path) -> None:
    log = _configured(tmp_path)
    try:
        logging.getLogger("scheduler.test").info("job=%s execution=%s success", "nav", 3)
    finally:
        _reset(tmp_path)
    [line] = log.read_text().splitlines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO    scheduler\.test: job=nav execution=3 success", line
    )


def test_the_written_again_line_after_a_write_failure_is_json_too(tmp_path) -> None:
    settings = Settings.from_env({"SCHEDULER_HOME": str(tmp_path), "SCHEDULER_LOG_FORMAT": "json"})
    now = datetime.fromisoformat("2026-12-04T10:00:00+00:00")
    handler = logsetup.RetryingFileHandler(tmp_path / "x.log", encoding="utf-8", clock=lambda: now)
    handler.setFormatter(logsetup.file_formatter(settings))
    handler.failure = logsetup.WriteFailure(str(tmp_path / "x.log"), "No space left on device", now, lost=3)
    handler.emit(logging.LogRecord("scheduler.test", logging.INFO, __file__, 1, "after", None, None))
    handler.close()
    resumed, after = _objects(tmp_path / "x.log")
    assert resumed["logger"] == "scheduler.logging" and resumed["level"] == "WARNING"
    assert resumed["message"].endswith("(No space left on device); log lines lost: 3")
    assert after["message"] == "after"
