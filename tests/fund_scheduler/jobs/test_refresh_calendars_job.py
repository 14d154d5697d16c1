"""The bundled ``refresh_calendars`` job: XSHG and every calendar already stored are recomputed
by exchange_calendars and stored again (its run is a child process of the daemon: it may import
the library)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from types import SimpleNamespace

from fund_common.calendars import SessionCalendar
from fund_common.calendars.library import library_version
from fund_common.calendars.store import read_all, save
from jobs.refresh_calendars import refresh_calendars
from tests.support.schema import scheduler_db


def test_it_refreshes_xshg_and_the_stored_calendars(tmp_path: Path) -> None:
    engine = scheduler_db(f"sqlite:///{tmp_path}/s.db")
    old = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    save(engine, SessionCalendar("XHKG", dt.date(2026, 1, 1), dt.date(2026, 1, 31)), "4.0.0", now=old)
    ctx = SimpleNamespace(engine=engine, logger=logging.getLogger("test.refresh"))
    result = refresh_calendars(ctx)
    stored = read_all(engine)
    assert sorted(stored) == ["XHKG", "XSHG"]
    assert {row.library_version for row in stored.values()} == {library_version()}
    assert all(row.computed_at > old for row in stored.values())
    assert stored["XHKG"].calendar.last > dt.date(2026, 1, 31)
    assert [line.split(":")[0] for line in result["calendars"]] == ["XSHG", "XHKG"]
    engine.dispose()
