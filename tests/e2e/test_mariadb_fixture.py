"""The MariaDB test fixture itself: a real server, quoting, utf8mb4, isolation, restart."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.support import mariadb as mdb
from tests.support.mariadb import (
    DEFAULT_PASSWORD,
    MariaDBServer,
    ServerBinaryNotFound,
    find_server_binaries,
    skip_or_fail,
)

# The fixtures, usable before (and harmless after) tests/conftest.py imports them too:
# every import is its own FixtureDef, but the server behind them is one per process.
mariadb_url = mdb.mariadb_url
mariadb_db_url = mdb.mariadb_db_url
mariadb_server = mdb.mariadb_server

pytestmark = pytest.mark.mariadb

INJECTION = "x' OR '1'='1"
CJK = "华夏成长混合"
EMOJI = "📈"  # 4-byte UTF-8: only survives with utf8mb4 end to end


def test_url_quotes_the_password_and_selects_utf8mb4(mariadb_url: str) -> None:
    assert DEFAULT_PASSWORD not in mariadb_url  # '@', ':', '/', '%' all escaped
    url = make_url(mariadb_url)
    assert url.password == DEFAULT_PASSWORD
    assert url.host == "127.0.0.1"
    assert url.database == "fundsched_test"
    assert url.query["charset"] == "utf8mb4"


def test_roundtrip_with_bound_parameters_and_utf8mb4(mariadb_db_url: str) -> None:
    engine = sa.create_engine(mariadb_db_url, pool_pre_ping=True)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "CREATE TABLE funds (id INT AUTO_INCREMENT PRIMARY KEY, "
                    "code VARCHAR(64) NOT NULL, name VARCHAR(64) NOT NULL)"
                )
            )
            conn.execute(
                sa.text("INSERT INTO funds (code, name) VALUES (:code, :name)"),
                [
                    {"code": "000001", "name": CJK + EMOJI},
                    {"code": INJECTION, "name": "quote test"},
                ],
            )
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT code, name FROM funds ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [
                ("000001", CJK + EMOJI),
                (INJECTION, "quote test"),
            ]
            hit = conn.execute(
                sa.text("SELECT COUNT(*) FROM funds WHERE code = :c"), {"c": INJECTION}
            ).scalar_one()
            assert hit == 1
            charset = conn.execute(sa.text("SELECT @@character_set_connection")).scalar_one()
            assert charset == "utf8mb4"
    finally:
        engine.dispose()


def test_each_test_gets_an_empty_database(mariadb_db_url: str, mariadb_url: str) -> None:
    name = make_url(mariadb_db_url).database
    assert name is not None and name.startswith("fundsched_t_") and name != "fundsched_test"
    engine = sa.create_engine(mariadb_db_url)
    try:
        assert sa.inspect(engine).get_table_names() == []  # the table above was in another db
    finally:
        engine.dispose()


def test_set_global_is_restored(mariadb_server: MariaDBServer) -> None:
    before = int(mariadb_server.get_global("wait_timeout"))
    with mariadb_server.global_variable("wait_timeout", 5):
        assert int(mariadb_server.get_global("wait_timeout")) == 5
    assert int(mariadb_server.get_global("wait_timeout")) == before


def test_missing_binaries_name_the_searched_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARIADB_BIN_DIRS", "/nonexistent")
    with pytest.raises(ServerBinaryNotFound, match="install mariadb-server.*/nonexistent"):
        find_server_binaries()


def test_stop_and_start_keep_port_and_data() -> None:
    """A private server (the shared one must stay up): outage, then recovery with pre-ping."""
    try:
        server = MariaDBServer()
    except ServerBinaryNotFound as exc:
        skip_or_fail(exc)
    with server:
        url, port = server.url, server.port
        engine = sa.create_engine(url, pool_pre_ping=True)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("CREATE TABLE t (v VARCHAR(20))"))
                conn.execute(sa.text("INSERT INTO t VALUES (:v)"), {"v": CJK})

            server.stop()
            assert not server.running
            with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

            server.start()
            assert server.running and server.port == port and server.url == url
            # the pooled connection died with the old server; pre-ping replaces it
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT v FROM t")).scalar_one() == CJK

            server.kill()  # a crash: InnoDB recovers on the next start
            server.start()
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT COUNT(*) FROM t")).scalar_one() == 1
        finally:
            engine.dispose()
    assert not server.base_dir.exists()
