"""The exchange_calendars table on SQLite and MariaDB: a round trip, a replacing save, the stamp,
a bad row left out, and a database without the table reading as empty (the shared ``engine``
fixture: a fund database, no calendar table until a test creates it)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import sqlalchemy as sa

from fund_common.calendars import SessionCalendar
from fund_common.calendars.store import read_all, save, stamp, stored_names
from fund_common.calendars.table import exchange_calendars, metadata

D = dt.date
T0 = dt.datetime(2026, 12, 1, 2, 0, 0, 654321, tzinfo=dt.UTC)
XSHG = SessionCalendar(
    "XSHG",
    D(2006, 12, 4),
    D(2026, 12, 31),
    closed={D(2026, 10, 1): "National Day", D(2015, 9, 3): ""},
    extra={D(2027, 2, 20): "extra session"},
    source="exchange_calendars 4.13.2",
)


def test_a_calendar_round_trips(engine: sa.Engine) -> None:
    metadata.create_all(engine)
    save(engine, XSHG, "4.13.2", now=T0)
    stored = read_all(engine)
    assert list(stored) == ["XSHG"]
    assert stored["XSHG"].calendar == XSHG
    assert stored["XSHG"].calendar.closed == XSHG.closed and stored["XSHG"].calendar.extra == XSHG.extra
    assert stored["XSHG"].library_version == "4.13.2"
    assert stored["XSHG"].computed_at == T0.replace(microsecond=0)
    assert stored["XSHG"].computed_at.tzinfo == dt.UTC


def test_saving_again_replaces_the_row_and_moves_the_stamp(engine: sa.Engine) -> None:
    metadata.create_all(engine)
    assert stamp(engine) is None and stored_names(engine) == []
    save(engine, XSHG, "4.13.2", now=T0)
    save(engine, SessionCalendar("XNYS", D(2026, 1, 1), D(2027, 12, 3)), "4.13.2", now=T0)
    assert stamp(engine) == T0.replace(microsecond=0)
    later = SessionCalendar("XSHG", D(2006, 12, 4), D(2027, 12, 31), source="exchange_calendars 4.14")
    save(engine, later, "4.14", now=T0 + dt.timedelta(days=1))
    assert stamp(engine) == (T0 + dt.timedelta(days=1)).replace(microsecond=0)
    assert read_all(engine)["XSHG"].calendar == later and stored_names(engine) == ["XNYS", "XSHG"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(exchange_calendars)).scalar() == 2


def test_a_row_that_is_no_calendar_is_left_out_with_a_warning(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    metadata.create_all(engine)
    save(engine, XSHG, "4.13.2", now=T0)
    with engine.begin() as conn:
        conn.execute(
            exchange_calendars.insert(),
            [
                {
                    "name": "BAD",
                    "body": "{not json",
                    "library_version": "4",
                    "computed_at": T0.replace(tzinfo=None),
                },
                {
                    "name": "ODD",
                    "body": '{"name": "ODD"}',
                    "library_version": "4",
                    "computed_at": T0.replace(tzinfo=None),
                },
            ],
        )
    with caplog.at_level(logging.WARNING, logger="fund_common.calendars"):
        assert list(read_all(engine)) == ["XSHG"]
    assert [r.getMessage().split(" left out")[0] for r in caplog.records] == [
        "exchange_calendars row 'BAD'",
        "exchange_calendars row 'ODD'",
    ]
    assert stored_names(engine) == ["BAD", "ODD", "XSHG"]  # `calendars refresh` still sees them


def test_a_database_without_the_table_holds_nothing(engine: sa.Engine) -> None:
    assert read_all(engine) == {} and stamp(engine) is None and stored_names(engine) == []
