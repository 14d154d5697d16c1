"""Alembic environment, configured in code by :func:`fund_scheduler_migrations.runner.config`
(no alembic.ini).

The target metadata is the current schema of every table the product owns: the scheduler's job
store and run history, and the fund tables. SQLite ALTERs run in batch mode (table rebuilds).
"""

from __future__ import annotations

from alembic import context

from fund_common.calendars import table as calendar_table
from fund_scheduler.store import checks, history
from fund_scheduler.store import jobstore as store
from fund_scheduler_migrations.runner import compare_type
from fundpipe import schema as fund_schema

target_metadata = [
    history.metadata,
    store.metadata,
    checks.metadata,
    calendar_table.metadata,
    fund_schema.metadata,
]


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=compare_type,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from fund_scheduler.store.engine import make_engine

    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise SystemExit("no database: run the migrations through fund_scheduler_migrations.runner")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
