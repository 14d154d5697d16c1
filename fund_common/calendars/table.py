"""The ``exchange_calendars`` table: each exchange's sessions as computed from the library.

One row per calendar: its :class:`~fund_common.calendars.model.SessionCalendar` as JSON (before
the operator file is applied), the ``exchange_calendars`` version that computed it and when.
Written by a child process (the daemon never imports the library, which imports pandas); read
by the daemon and by the fund pipeline. Created by the product's Alembic migrations.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text

__all__ = ["exchange_calendars", "metadata"]

metadata = MetaData()
exchange_calendars = Table(
    "exchange_calendars",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("body", Text, nullable=False),
    Column("library_version", String(32), nullable=False),
    Column("computed_at", DateTime, nullable=False),
)
