"""The daemon may import the calendar modules and load stored calendars: none of it loads
exchange_calendars, pandas or numpy (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.harness import PROJECT

CHECK = textwrap.dedent(
    """
    import datetime as dt, sys
    import sqlalchemy as sa
    import fund_common.calendars
    import fund_common.calendars.library, fund_common.calendars.operator_file, fund_common.calendars.store
    import fund_common.calendars.loading, fund_common.calendars.horizon
    import fund_scheduler.cli.app  # the daemon's process runs the CLI's `run`
    from fund_common.calendars import SessionCalendar, ending_soon, load_calendars
    from fund_common.calendars.library import library_version
    from fund_common.calendars.store import save, stamp
    from fund_common.calendars.table import metadata

    engine = sa.create_engine(f"sqlite:///{sys.argv[1]}/db.sqlite")
    metadata.create_all(engine)
    stored = SessionCalendar("XSHG", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    save(engine, stored, library_version() or "?")
    loaded = load_calendars(engine, ["XSHG", "XNYS"], sys.argv[1] + "/calendars.toml")
    assert loaded.problems and stamp(engine) is not None
    ending_soon(loaded.by_name["XSHG"], dt.date(2026, 12, 1))
    print(sorted(m for m in ("pandas", "numpy", "exchange_calendars") if m in sys.modules))
    """
)


def test_importing_and_loading_calendars_never_loads_pandas(tmp_path: Path) -> None:
    (tmp_path / "calendars.toml").write_text('[XSHG.closed]\n"2027-01-01" = "New Year\'s Day"\n')
    result = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path)], capture_output=True, text=True, cwd=PROJECT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
