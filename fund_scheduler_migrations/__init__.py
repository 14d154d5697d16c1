"""The one Alembic environment of the project: job store, run history and fund tables.

It lives outside ``scheduler`` and ``fundpipe`` so it may import both (see ARCHITECTURE.md);
:mod:`fund_scheduler_migrations.runner` is what the daemon (through ``SCHEDULER_MIGRATIONS``) and
``scheduler_daemon.py db upgrade`` call.
"""
