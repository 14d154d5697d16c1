"""Reading a run's log for the front-ends (the CLI's ``logs``, ``GET /api/executions/<id>/log``):
which file, or why there is none, and a byte range of it as the API answers it.

Reads the history and the files only: it works with or without a running daemon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from fund_common.runstatus import FINAL, RAN, UNFINISHED
from fund_scheduler.run.joblog import chunk_start, decoded_chunk, read_chunk, run_log_path
from fund_scheduler.store import history, log_chunks

__all__ = ["NoRunLog", "RunLog", "locate", "log_answer"]


class NoRunLog(LookupError):
    """An execution without a log to read; the message says why (unknown, never ran, deleted)."""


@dataclass(frozen=True)
class RunLog:
    """An execution's history row and the path of its log (absent yet while it starts); a run on
    another host: its log as its worker shipped it to the database (``shipped``)."""

    row: dict[str, Any]
    path: Path
    shipped: Engine | None = None

    @property
    def final(self) -> bool:
        return self.row["status"] in FINAL


def locate(engine: Engine, log_dir: Path, execution_id: int, retention_days: int) -> RunLog:
    """Execution ``execution_id``'s row and log; :class:`NoRunLog` when there is none to read:
    no such execution (its id below the oldest kept: deleted by retention), a row that never ran
    (missed, skipped, blocked, coalesced), a log deleted by retention or otherwise missing."""
    row = history.get(engine, execution_id)
    retention = f"HISTORY_RETENTION_DAYS={retention_days}"
    if row is None:
        oldest = _oldest_id(engine)
        if oldest is not None and execution_id < oldest:
            raise NoRunLog(f"execution {execution_id} and its log were deleted by retention ({retention})")
        raise NoRunLog(f"no execution {execution_id}")
    path = run_log_path(log_dir, row["job_id"], execution_id)
    status = row["status"]
    if row.get("executor") == history.REMOTE and not path.is_file():  # on a worker's host
        if status in UNFINISHED or log_chunks.size(engine, execution_id) is not None:
            return RunLog(row, path, shipped=engine)
    elif status in UNFINISHED or path.is_file():
        return RunLog(row, path)
    if status not in RAN:
        raise NoRunLog(f"execution {execution_id} ({status}) never ran: it has no log")
    ended = row.get("finished_at") or row["started_at"]
    if ended < datetime.now(UTC) - timedelta(days=retention_days):
        raise NoRunLog(f"log of execution {execution_id} was deleted by retention ({retention})")
    why = f": {row['error']}" if row.get("error") else ""
    raise NoRunLog(f"log of execution {execution_id} is missing ({path}){why}")


def _oldest_id(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(func.min(history.job_executions.c.id))).scalar()


def log_answer(
    run_log: RunLog, *, offset: int | None = None, limit: int | None = None, tail: int | None = None
) -> dict[str, Any]:
    """``{"execution_id", "offset", "next_offset", "size", "complete", "status", "text"}``: bytes
    ``offset`` (0) to ``offset + limit`` (the end), or the last ``tail``, of the run's log.
    ``complete``: the run has ended and nothing is left after ``next_offset``; a follower asks
    again from ``next_offset`` until then. A running run whose log is not there yet is empty."""
    row = run_log.row
    if run_log.shipped is not None:
        shipped = log_chunks.size(run_log.shipped, row["id"]) or 0
        start = chunk_start(shipped, offset, tail)
        data = log_chunks.read(run_log.shipped, row["id"], start, limit)
        chunk = decoded_chunk(start, data, shipped, final=run_log.final)
        return _answer(run_log, chunk.offset, chunk.next_offset, chunk.size, chunk.text)
    try:
        chunk = read_chunk(run_log.path, offset, limit, tail, final=run_log.final)
        start, next_offset, size, text = chunk.offset, chunk.next_offset, chunk.size, chunk.text
    except FileNotFoundError:
        if run_log.final:
            raise NoRunLog(f"log of execution {row['id']} was deleted meanwhile ({run_log.path})") from None
        start = next_offset = size = 0
        text = ""
    return _answer(run_log, start, next_offset, size, text)


def _answer(run_log: RunLog, start: int, next_offset: int, size: int, text: str) -> dict[str, Any]:
    row = run_log.row
    return {
        "execution_id": row["id"],
        "offset": start,
        "next_offset": next_offset,
        "size": size,
        "complete": run_log.final and next_offset >= size,
        "status": row["status"],
        "text": text,
    }
