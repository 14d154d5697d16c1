"""Scratch schemas for unit tests: every table of the product created straight from the
metadata (the product's own databases are created and evolved by the Alembic migrations alone;
``tests/e2e/test_migrations.py`` checks that both agree)."""

from __future__ import annotations

import sqlalchemy as sa


def create_fund_tables(engine: sa.Engine) -> None:
    """The fund tables (``fundpipe.schema``) on ``engine``."""
    from fundpipe.schema import metadata

    metadata.create_all(engine, checkfirst=True)


def create_scheduler_tables(engine: sa.Engine) -> None:
    """The job store and the run history (``fund_scheduler.store``) on ``engine``."""
    from fund_common.calendars import table as calendar_table
    from fund_scheduler.store import audit, checks, history, job_changes, jobstore, requests, workers

    for metadata in (audit.metadata, job_changes.metadata, requests.metadata, workers.metadata):
        metadata.create_all(engine, checkfirst=True)
    history.metadata.create_all(engine, checkfirst=True)
    jobstore.metadata.create_all(engine, checkfirst=True)
    checks.metadata.create_all(engine, checkfirst=True)
    calendar_table.metadata.create_all(engine, checkfirst=True)


def create_all_tables(engine: sa.Engine) -> None:
    create_scheduler_tables(engine)
    create_fund_tables(engine)


def scheduler_db(url: str) -> sa.Engine:
    """``make_engine(url)`` with the scheduler's tables created (a scratch job store and history)."""
    from fund_scheduler.store.engine import make_engine

    engine = make_engine(url)
    create_scheduler_tables(engine)
    return engine
