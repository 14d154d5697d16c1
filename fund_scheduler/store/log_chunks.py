"""``run_log_chunks``: the log of a run on a worker, shipped by its worker as the run writes it,
so ``logs ID`` and the page read it from any host. Each chunk holds the bytes ``start`` to
``start + size`` of the worker's log file (at most :data:`CHUNK_BYTES`, a MySQL BLOB's size)."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from fund_scheduler.store.engine import writing
from fund_scheduler.store.history import run_log_chunks

__all__ = ["CHUNK_BYTES", "append", "read", "size"]

#: The most bytes one chunk holds (a MySQL BLOB holds 65,535).
CHUNK_BYTES = 60_000

t = run_log_chunks


def append(engine: Engine, execution_id: int, seq: int, start: int, data: bytes) -> None:
    """Store chunk ``seq`` of run ``execution_id``'s log: its bytes from ``start``."""
    if len(data) > CHUNK_BYTES:
        raise ValueError(f"a log chunk holds at most {CHUNK_BYTES} bytes, got {len(data)}")
    with writing(engine) as conn:
        conn.execute(
            insert(t).values(execution_id=execution_id, seq=seq, start=start, size=len(data), data=data)
        )


def size(engine: Engine, execution_id: int) -> int | None:
    """How many bytes of run ``execution_id``'s log were shipped; None: no chunk at all."""
    query = select(func.max(t.c.start + t.c.size)).where(t.c.execution_id == execution_id)
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    return None if found is None else int(found)


def read(engine: Engine, execution_id: int, start: int, length: int | None = None) -> bytes:
    """Bytes ``start`` to ``start + length`` (the end) of run ``execution_id``'s shipped log."""
    end = None if length is None else start + length
    query = select(t.c.start, t.c.data).where(t.c.execution_id == execution_id, t.c.start + t.c.size > start)
    if end is not None:
        query = query.where(t.c.start < end)
    with engine.connect() as conn:
        pieces = [(int(first), bytes(data)) for first, data in conn.execute(query.order_by(t.c.seq))]
    out = bytearray()
    for first, data in pieces:
        begin = max(start - first, 0)
        stop = len(data) if end is None else min(end - first, len(data))
        out += data[begin:stop]
    return bytes(out)
