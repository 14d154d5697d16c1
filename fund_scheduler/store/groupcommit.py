"""Group commit: many threads' writes of one kind in one transaction.

Each caller of :meth:`GroupCommit.submit` waits for its own result. The first caller while no
write is under way becomes the writer: it takes every item queued so far, its own included,
writes them with one call of the batch function and hands each caller its result. Callers that
arrive meanwhile queue up; when the write ends, one of them writes the next batch. A lone caller
writes at once (no timer, no thread of its own); two hundred runs due in the same second cost a
few transactions instead of two hundred, and none waits for SQLite's busy handler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["GroupCommit"]

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Waiting(Generic[Item]):
    __slots__ = ("done", "item", "outcome")

    def __init__(self, item: Item):
        self.item = item
        self.done = False
        self.outcome: Any = None


class GroupCommit(Generic[Item, Result]):
    """Writes items through ``write(items) -> results`` (one result per item, in order; a result
    that is an exception is raised to that item's caller; an exception raised by ``write``
    itself is raised to every caller of the batch)."""

    def __init__(self, write: Callable[[list[Item]], Sequence[Result | BaseException]]):
        self._write = write
        self._turn = threading.Condition()
        self._queue: list[_Waiting[Item]] = []
        self._writing = False
        self.batches = 0  # how many writes so far (for tests and benchmarks)

    def submit(self, item: Item) -> Result:
        """Write ``item`` (with whatever else is queued); its result."""
        mine = _Waiting(item)
        with self._turn:
            self._queue.append(mine)
            while self._writing and not mine.done:
                self._turn.wait()
            if not mine.done:
                self._writing = True
                batch, self._queue = self._queue, []
        if not mine.done:
            self._write_batch(batch)
        outcome = mine.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _write_batch(self, batch: list[_Waiting[Item]]) -> None:
        outcomes: Sequence[Any]
        try:
            outcomes = self._write([waiting.item for waiting in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"group commit: {len(outcomes)} results for {len(batch)} items")
        except BaseException as exc:  # noqa: BLE001 - every caller of the batch gets it
            outcomes = [exc] * len(batch)
        with self._turn:
            for waiting, outcome in zip(batch, outcomes, strict=True):
                waiting.outcome = outcome
                waiting.done = True
            self.batches += 1
            self._writing = False
            self._turn.notify_all()
