"""Apply the schema migrations: ``upgrade(engine_or_url)``, ``current(engine_or_url)``.

The daemon calls :func:`upgrade` at start (``SCHEDULER_MIGRATIONS=fund_scheduler_migrations.runner:upgrade``,
the default) and ``python scheduler_daemon.py db upgrade`` does the same by hand.

A database created before the migrations existed (tables made by ``create_all``, no
``alembic_version``) is *stamped* first with the revision its tables match, then upgraded, so
nothing is dropped or copied that need not be:

* every table of revision 0001 present, and ``fund_nav_staging.parse_error``,
  ``fund_source_files`` and ``fund_nav_corrections`` too: stamped ``0002``;
* every table of revision 0001 present, the later additions not (all of them): ``0001``;
* anything else (a partial set, e.g. a scheduler-only database whose fund jobs never ran): not
  stamped; the revisions create only the tables and columns that are missing, so the upgrade
  from the base fills the gaps and keeps the rest.

On MySQL/MariaDB the upgrade holds ``GET_LOCK('fund_scheduler_migrations')`` so daemons starting
together on several hosts migrate one at a time (the later ones find the head and do nothing).
On SQLite only one daemon runs per database file (the PID lock).

:func:`is_current` tells, without importing Alembic, whether a database is at the newest
revision: the daemon then skips the upgrade, and otherwise runs ``db upgrade`` in a child
process, so that Alembic (about 10 MiB) never stays in its memory.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:  # Alembic is imported where it is used: is_current() needs none of it
    from alembic.config import Config

logger = logging.getLogger("scheduler.migrations")

HERE = Path(__file__).resolve().parent
LOCK_NAME = "fund_scheduler_migrations"
LOCK_TIMEOUT_S = 300

#: Tables of revision 0001 (the schema of release 00aba28).
REV_0001_TABLES = frozenset(
    {
        "scheduler_jobs",
        "scheduler_jobs_rejected",
        "job_executions",
        "fund_info",
        "fund_nav",
        "fund_nav_staging",
        "fund_nav_quarantine",
        "fund_metrics",
        "data_update_log",
    }
)
#: Tables revision 0002 adds.
REV_0002_TABLES = frozenset({"fund_source_files", "fund_nav_corrections"})


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type) -> bool | None:
    """Alembic's type comparison, less one false positive: ``Float(25)`` (APScheduler's
    ``next_run_time``) is created as ``DOUBLE`` on MySQL/MariaDB and reflected as such."""
    if (
        context.dialect.name in ("mysql", "mariadb")
        and isinstance(metadata_type, sa.Float)
        and (metadata_type.precision or 0) > 24
        and isinstance(inspected_type, sa.Double | sa.Float)
    ):
        return False
    return None


def newest_revision() -> str:
    """The newest revision, from the file names of ``versions/`` (``0008_operating_runs.py``:
    ``0008``); the tests hold it equal to Alembic's head."""
    return max(path.name.split("_", 1)[0] for path in (HERE / "versions").glob("[0-9]*_*.py"))


def is_current(engine: sa.Engine) -> bool:
    """True when the database's ``alembic_version`` is :func:`newest_revision` (Alembic is not
    imported: a plain read)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return versions == [newest_revision()]


def config(connection: sa.Connection | None = None) -> Config:
    """The Alembic configuration, built in code (no alembic.ini, no path to get wrong)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None, "the migrations have no head revision"
    return revision


def _engine(engine_or_url: sa.Engine | sa.URL | str) -> tuple[sa.Engine, bool]:
    if isinstance(engine_or_url, sa.Engine):
        return engine_or_url, False
    from fund_scheduler.store.engine import make_engine

    return make_engine(engine_or_url), True


def current(engine_or_url: sa.Engine | sa.URL | str) -> str | None:
    """The database's revision; None when it has no ``alembic_version`` row."""
    from alembic.migration import MigrationContext

    engine, own = _engine(engine_or_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if own:
            engine.dispose()


def legacy_revision(conn: sa.Connection) -> str | None:
    """The revision an unversioned database built by ``create_all`` matches (see module doc)."""
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    if "alembic_version" in tables or not tables >= REV_0001_TABLES:
        return None
    parse_error = any(c["name"] == "parse_error" for c in inspector.get_columns("fund_nav_staging"))
    if parse_error and tables >= REV_0002_TABLES:
        return "0002"
    if not parse_error and not REV_0002_TABLES & tables:
        return "0001"
    return None


def upgrade(engine_or_url: sa.Engine | sa.URL | str, revision: str = "head") -> str | None:
    """Stamp an unversioned legacy database, upgrade to ``revision``; return the new revision."""
    from alembic import command
    from alembic.migration import MigrationContext

    engine, own = _engine(engine_or_url)
    try:
        with engine.begin() as conn:
            locked = conn.dialect.name in ("mysql", "mariadb")
            if locked:
                got = conn.execute(
                    sa.text("SELECT GET_LOCK(:name, :timeout)"),
                    {"name": LOCK_NAME, "timeout": LOCK_TIMEOUT_S},
                ).scalar()
                if got != 1:
                    raise RuntimeError(
                        f"schema migration lock {LOCK_NAME!r} not acquired in {LOCK_TIMEOUT_S} s"
                    )
            try:
                cfg = config(conn)
                before = MigrationContext.configure(conn).get_current_revision()
                if before is None:
                    stamp = legacy_revision(conn)
                    if stamp is not None:
                        logger.info("database without migration history matches revision %s: stamped", stamp)
                        command.stamp(cfg, stamp)
                        before = stamp
                command.upgrade(cfg, revision)
                after = MigrationContext.configure(conn).get_current_revision()
            finally:
                if locked:
                    conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
        if after != before:
            logger.info("database schema upgraded from %s to %s", before or "empty", after)
        return after
    finally:
        if own:
            engine.dispose()
