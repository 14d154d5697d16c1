"""The ``check_states`` table: the current state of each check job (``ok`` or ``breach``).

A check job's run returns a result; the daemon keeps the latest state here, so a breach is
alerted once (``stale_data``) and its end once (``fresh_again``), across restarts and fail-overs.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

__all__ = ["check_states", "metadata"]

metadata = MetaData()
check_states = Table(
    "check_states",
    metadata,
    Column("job_id", String(191), primary_key=True),
    Column("state", String(16), nullable=False),  # ok | breach
    Column("since", DateTime, nullable=False),  # when this state began (naive UTC)
    Column("checked_at", DateTime, nullable=False),  # the last check's time (naive UTC)
    Column("summary", Text),  # one line
    Column("details", Text),  # JSON
    Column("execution_id", BigInteger().with_variant(Integer, "sqlite")),
)
