"""The leader lock on a real MariaDB: acquire, lose, confirm with an injected clock."""

from __future__ import annotations

import pytest

from fund_scheduler.daemon.leader import LOCK_IDLE_TIMEOUT_S, Leadership
from fund_scheduler.store.engine import make_engine


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(mariadb_db_url):
    engine = make_engine(mariadb_db_url)
    yield engine
    engine.dispose()


def _holder(mariadb_server, leadership: Leadership):
    return mariadb_server.execute("SELECT IS_USED_LOCK(%s)", (leadership.name,))[0][0]


@pytest.mark.mariadb
def test_one_holder_and_the_lock_connection_times_out_when_idle(engine, mariadb_server):
    first, second = Leadership(engine), Leadership(engine)
    try:
        assert first.try_acquire() is True
        assert second.try_acquire() is False and second.held is False
        holder = _holder(mariadb_server, first)
        cursor = first._conn.cursor()  # the server drops it after this many idle seconds
        cursor.execute("SELECT @@SESSION.wait_timeout, CONNECTION_ID()")
        assert cursor.fetchone() == (LOCK_IDLE_TIMEOUT_S, holder)
        cursor.close()
        first.release()
        assert _holder(mariadb_server, first) is None
        assert second.try_acquire() is True
    finally:
        first.release()
        second.release()


@pytest.mark.mariadb
def test_confirm_trusts_a_recent_check_and_rechecks_an_old_one(engine, mariadb_server):
    clock = Clock()
    leadership = Leadership(engine, clock=clock)
    try:
        assert leadership.try_acquire() is True
        mariadb_server.execute(f"KILL {int(_holder(mariadb_server, leadership))}")
        clock.now += 5.9
        assert leadership.confirm(6.0) is True  # confirmed 5.9 s ago: no round trip
        clock.now += 0.2
        assert leadership.confirm(6.0) is False  # too old: asked the server, the connection is gone
        assert leadership.held is False
        assert leadership.confirm(6.0) is False  # lost stays lost until try_acquire
        assert leadership.try_acquire() is True
        clock.now += 100
        assert leadership.confirm(6.0) is True  # old but still held: the server says so
        assert leadership.confirmed_at == clock.now
    finally:
        leadership.release()


def test_sqlite_is_always_the_leader(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/s.db")
    leadership = Leadership(engine)
    assert leadership.enabled is False
    assert leadership.try_acquire() and leadership.still_held() and leadership.confirm(0)
    leadership.release()
    assert leadership.held is True
    engine.dispose()
