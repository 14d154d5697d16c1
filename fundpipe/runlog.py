"""One ``data_update_log`` row per pipeline step: written ``running`` at the start, then closed.

The row's message is one line: the control characters of a file name, a fund code or an
exception's text in it are shown by their escapes (:func:`fund_common.escaping.one_line`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from fund_common.clock import utcnow_naive
from fund_common.escaping import one_line
from fundpipe.errors import FundPipelineError
from fundpipe.schema import data_update_log

__all__ = ["StepRecord", "logged_step"]

MESSAGE_LIMIT = 4000
logger = logging.getLogger("fundpipe")


@dataclasses.dataclass
class StepRecord:
    """What the step reports; fill it in inside :func:`logged_step`'s block."""

    id: int
    batch_id: str | None = None
    rows_in: int | None = None
    rows_loaded: int | None = None
    rows_rejected: int | None = None
    message: str | None = None


@contextmanager
def logged_step(
    engine: sa.Engine, step: str, as_of: dt.date, *, batch_id: str | None = None
) -> Iterator[StepRecord]:
    """Record ``step`` in ``data_update_log`` around the block.

    The row is committed as ``running`` before the block, so a crash leaves a trace. It is
    closed ``success`` with the record's counts, or ``failed`` with the exception's type and
    message (counts kept) when the block raises; the exception propagates.
    """
    with engine.begin() as conn:
        key = conn.execute(
            sa.insert(data_update_log).values(
                step=step, as_of=as_of, batch_id=batch_id, started_at=utcnow_naive(), status="running"
            )
        ).inserted_primary_key
    if key is None:  # every supported driver reports the id of a single-row insert
        raise FundPipelineError(f"{step}: the database gave no id for the new data_update_log row")
    record = StepRecord(id=int(key[0]), batch_id=batch_id)
    try:
        yield record
    except BaseException as exc:
        try:
            _close(engine, record, "failed", f"{type(exc).__name__}: {exc}")
        except Exception:  # the step's own error matters more; keep it
            logger.exception("%s: could not mark data_update_log row %s failed", step, record.id)
        raise
    _close(engine, record, "success", record.message)


def _close(engine: sa.Engine, record: StepRecord, status: str, message: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(data_update_log)
            .where(data_update_log.c.id == record.id)
            .values(
                finished_at=utcnow_naive(),
                status=status,
                batch_id=record.batch_id,
                rows_in=record.rows_in,
                rows_loaded=record.rows_loaded,
                rows_rejected=record.rows_rejected,
                message=None if message is None else one_line(message)[:MESSAGE_LIMIT],
            )
        )
