"""A local spool for history writes the database could not take, and the flusher that replays them.

When ``job_executions`` cannot be written because the database is unreachable
(:func:`is_database_error`), the write goes to ``$SCHEDULER_HOME/data/spool/history.jsonl``
instead: one JSON object per line, appended and fsynced. A background :class:`SpoolFlusher`
thread in the daemon replays the lines in order once the database answers again, and removes
each line only after it was written. Retry is event-driven (woken by each append) with an
exponential backoff between failed attempts (1 s doubling to :data:`MAX_BACKOFF`), never a
tight poll.

Two kinds of entries:

``{"op": "record", "key": ..., "row": {...}}``
    a whole finished row (a run that could not start, a missed or skipped run). Replay is
    idempotent: the row is inserted unless a row with the same job, start time, status, trigger
    and host already exists (times are spooled to the whole second, which every backend keeps).
``{"op": "finish", "execution_id": N, "row": {...}}``
    the final status of a run whose ``running`` row was written before the database went away.
    Replaying it twice writes the same values twice.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from fund_scheduler.store import history
from fund_scheduler.store.engine import describe_error, is_database_error

logger = logging.getLogger("scheduler.spool")

MAX_BACKOFF = 10.0
_TIMES = ("scheduled_run_time", "started_at", "finished_at")
_FINAL = ("status", "finished_at", "exit_code", "error", "output_tail")


def whole_second(value: datetime | None = None) -> datetime:
    return (value or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def _encode(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in _TIMES:
        if isinstance(out.get(key), datetime):
            out[key] = out[key].astimezone(UTC).isoformat()
    return out


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in _TIMES:
        if out.get(key):
            out[key] = datetime.fromisoformat(out[key]).astimezone(UTC).replace(tzinfo=None)
    return out


class Spool:
    """The append-only spool file; thread-safe. ``on_append`` is called after each append."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / "history.jsonl"
        self._lock = threading.Lock()
        self.on_append: list = []

    # -- writing ---------------------------------------------------------------------------
    def _append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        for callback in list(self.on_append):
            callback()

    def record(self, row: dict[str, Any]) -> None:
        """Spool a whole finished row (``id`` is ignored: the database assigns it on replay)."""
        row = {k: v for k, v in row.items() if k != "id"}
        self._append({"op": "record", "key": uuid.uuid4().hex, "row": _encode(row)})

    def finish(self, execution_id: int, row: dict[str, Any]) -> None:
        """Spool the final values of the existing row ``execution_id``."""
        self._append({"op": "finish", "execution_id": execution_id, "row": _encode(row)})

    # -- reading ---------------------------------------------------------------------------
    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            try:
                lines = self.path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return []
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except ValueError:
                entries.append({"op": "corrupt", "line": line})
        return entries

    def drop_first(self, count: int) -> None:
        """Remove the first ``count`` entries (replayed); later appends are kept."""
        if count <= 0:
            return
        with self._lock:
            lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
            rest = lines[count:]
            if not rest:
                self.path.unlink()
                return
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(rest)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)

    # -- replaying -------------------------------------------------------------------------
    def flush(self, engine: Engine) -> int:
        """Write every pending entry in order; return how many. Raises on a database error."""
        entries = self.pending()
        done = 0
        try:
            for entry in entries:
                try:
                    apply_entry(engine, entry)
                except IntegrityError as exc:  # e.g. a unique key says the row is there already
                    logger.warning(
                        "spool: entry not written, conflicts with a stored row (%s)", describe_error(exc)
                    )
                done += 1
        finally:
            self.drop_first(done)
        return done


def apply_entry(engine: Engine, entry: dict[str, Any]) -> None:
    table = history.job_executions
    op = entry.get("op")
    if op == "corrupt":
        logger.error("spool: dropping an unreadable line: %.200s", entry.get("line"))
        return
    row = _decode(entry.get("row") or {})
    with engine.begin() as conn:
        if op == "finish":
            values = {k: row[k] for k in row if k in _FINAL}
            started = conn.execute(
                select(table.c.started_at).where(table.c.id == entry["execution_id"])
            ).scalar_one_or_none()
            if started is None:
                logger.error("spool: execution %s not in the history; dropped", entry["execution_id"])
                return
            if row.get("finished_at") is not None:
                values["duration"] = max((row["finished_at"] - started).total_seconds(), 0.0)
            conn.execute(update(table).where(table.c.id == entry["execution_id"]).values(**values))
            return
        if op == "record":
            same = and_(
                table.c.job_id == row["job_id"],
                table.c.started_at == row["started_at"],
                table.c.status == row["status"],
                table.c.trigger == row["trigger"],
                table.c.host == row.get("host"),
            )
            if conn.execute(select(table.c.id).where(same).limit(1)).first() is None:
                columns = {c.name for c in table.columns} - {"id"}
                conn.execute(insert(table).values(**{k: v for k, v in row.items() if k in columns}))
            return
    logger.error("spool: unknown entry %r dropped", op)


class SpoolFlusher:
    """Daemon thread replaying the spool: woken by appends, backing off while the database is away."""

    def __init__(self, spool: Spool, engine: Engine):
        self.spool = spool
        self.engine = engine
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="spool-flusher", daemon=True)
        spool.on_append.append(self._wake.set)

    def start(self) -> None:
        self._wake.set()  # a spool left by an earlier run is replayed at start
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            if not self.spool.pending():
                continue
            try:
                count = self.spool.flush(self.engine)
            except Exception as exc:  # noqa: BLE001 - retried with backoff; the daemon stays up
                level = logging.INFO if is_database_error(exc) else logging.ERROR
                logger.log(
                    level, "spool: not written yet (%s); retrying in %.0fs", describe_error(exc), backoff
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                self._wake.set()
                continue
            backoff = 1.0
            if count:
                logger.info("spool: wrote %d spooled history entries to the database", count)
