"""The daemon's migration check at start: the newest revision read from the file names equals
Alembic's head, and a database is current only once upgraded to it (Alembic not imported)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fund_scheduler.store.engine import make_engine
from fund_scheduler_migrations import runner


def test_the_newest_revision_is_alembics_head_and_a_database_is_current_only_once_upgraded(tmp_path: Path):
    assert runner.newest_revision() == runner.head()
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        assert runner.is_current(engine) is False  # no alembic_version yet
        runner.upgrade(engine, "0007")
        assert runner.is_current(engine) is False
        runner.upgrade(engine)
        assert runner.is_current(engine) is True
    finally:
        engine.dispose()


def test_the_check_imports_no_alembic(tmp_path: Path):
    probe = (
        "import sys\n"
        "from fund_scheduler.store.engine import make_engine\n"
        "from fund_scheduler_migrations.runner import is_current\n"
        f"print(is_current(make_engine('sqlite:///{tmp_path / 'x.sqlite'}')), 'alembic' in sys.modules)\n"
    )
    project = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == ["False", "False"], done.stderr
