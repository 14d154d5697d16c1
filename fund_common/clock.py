"""The current time in the two forms the project uses: aware UTC for the daemon's history and
logs, naive UTC for the columns every table stores (``DATETIME`` without a zone)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["as_naive_utc", "utcnow", "utcnow_naive"]


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def utcnow_naive() -> datetime:
    """Now, as a naive UTC datetime (the form the tables store)."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_naive_utc(moment: datetime) -> datetime:
    """``moment`` in naive UTC; a naive ``moment`` is taken to be UTC already."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)
