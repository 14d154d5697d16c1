"""A real, throw-away MariaDB/MySQL server for the tests.

``MariaDBServer`` knows nothing of pytest: it finds the installed server binaries, initialises a
temporary datadir, starts the server on a free TCP port on 127.0.0.1 with its own Unix socket,
creates a database and a password-protected user, and stops it and deletes everything again.

Fixtures (plug them in from ``tests/conftest.py``)::

    from tests.support.mariadb import (  # noqa: F401
        mariadb_db_url, mariadb_module_db_url, mariadb_server, mariadb_url,
    )

* ``mariadb_url`` (session): ``mysql+pymysql://fundsched:<quoted>@127.0.0.1:PORT/fundsched_test
  ?charset=utf8mb4`` of one server shared by the whole session; skips the test when no server
  binary is installed.
* ``mariadb_db_url`` (function): a fresh, uniquely named database on that server for one test,
  dropped afterwards; global variables changed with ``set_global`` are restored afterwards too.
* ``mariadb_module_db_url`` (module): the same, shared by the tests of one module.
* ``mariadb_server`` (session): the shared ``MariaDBServer`` (for ``set_global`` and friends).
  Tests that stop or kill a server should use their own instance, not this one.

Environment:

* ``MARIADB_BIN_DIRS``: ``os.pathsep``-separated directories searched for the binaries *instead
  of* ``$PATH`` + the usual sbin/libexec directories (``MARIADB_BIN_DIRS=/nonexistent`` hides them).
* ``MARIADB_REQUIRED=1``: fail instead of skip when no binary is found (CI sets it).
* ``MARIADB_STARTUP_TIMEOUT``: seconds to wait for the server to accept connections (default 60).

``python -m tests.support.mariadb`` starts a server by hand and prints its URL until Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pymysql
import pytest
from sqlalchemy.engine import URL

SERVER_NAMES = ("mariadbd", "mysqld")
INSTALLER_NAMES = ("mariadb-install-db", "mysql_install_db")
EXTRA_BIN_DIRS = (
    "/usr/sbin",
    "/usr/libexec",
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/bin",
    "/usr/local/mysql/bin",
    "/usr/local/mysql/scripts",
    "/usr/local/mariadb/bin",
    "/usr/local/mariadb/scripts",
)
DEFAULT_DATABASE = "fundsched_test"
DEFAULT_USER = "fundsched"
# Characters that break a naively built URL: '@', ':', '/', '%'.
DEFAULT_PASSWORD = "p@ss:w/rd%"
DEFAULT_STARTUP_TIMEOUT = 60.0
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class MariaDBServerError(RuntimeError):
    """The server could not be initialised, started or reached."""


class ServerBinaryNotFound(MariaDBServerError):
    """No usable server (or datadir installer) binary is installed."""


def bin_search_dirs() -> list[str]:
    """Directories searched for the binaries, in order (``MARIADB_BIN_DIRS`` overrides all)."""
    override = os.environ.get("MARIADB_BIN_DIRS")
    if override is not None:
        candidates = override.split(os.pathsep)
    else:
        candidates = [*os.environ.get("PATH", "").split(os.pathsep), *EXTRA_BIN_DIRS]
    seen: list[str] = []
    for d in candidates:
        if d and d not in seen:
            seen.append(d)
    return seen


def _which(names: Sequence[str], dirs: Sequence[str]) -> str | None:
    for name in names:
        for d in dirs:
            path = os.path.join(d, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    return None


def find_server_binaries() -> tuple[str, str | None, str]:
    """Return ``(server, installer, version)``; raise ``ServerBinaryNotFound`` naming the dirs.

    ``installer`` is None for Oracle MySQL, whose server initialises itself
    (``--initialize-insecure``); MariaDB needs ``mariadb-install-db``/``mysql_install_db``.
    """
    dirs = bin_search_dirs()
    looked = f"looked in {os.pathsep.join(dirs) or '(no directories)'}"
    server = _which(SERVER_NAMES, dirs)
    if server is None:
        raise ServerBinaryNotFound(f"no MariaDB/MySQL server binary found (install mariadb-server); {looked}")
    try:
        version = subprocess.run(
            [server, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise ServerBinaryNotFound(f"{server} --version failed: {exc}") from exc
    # Prefer an installer next to the server (same install), then anywhere.
    server_dir = os.path.dirname(server)
    near = [server_dir, os.path.join(os.path.dirname(server_dir), "scripts")]
    installer = _which(INSTALLER_NAMES, near) or _which(INSTALLER_NAMES, dirs)
    if installer is None and "mariadb" in version.lower():
        raise ServerBinaryNotFound(
            f"found {server} but no {' or '.join(INSTALLER_NAMES)} to initialise a datadir "
            f"(install mariadb-server); {looked}"
        )
    return server, installer, version


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quote_ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"refusing unsafe SQL identifier {name!r}")
    return f"`{name}`"


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


_live_servers: weakref.WeakSet[MariaDBServer] = weakref.WeakSet()


@atexit.register
def _stop_leftover_servers() -> None:
    for server in list(_live_servers):
        if server._owner_pid == os.getpid():  # never from a forked child
            with contextlib.suppress(Exception):
                server.close()


class MariaDBServer:
    """One private server process on a temp datadir; ``start()``/``stop()`` as often as needed.

    The first ``start()`` initialises the datadir and creates ``database`` and ``user``; later
    calls restart the server on the same datadir, port and socket (data survives).
    ``close()`` stops it and deletes the temp directory. Usable as a context manager.
    """

    def __init__(
        self,
        *,
        database: str = DEFAULT_DATABASE,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        port: int | None = None,
        startup_timeout: float | None = None,
        server_args: Sequence[str] = (),
        base_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        _quote_ident(database)
        _quote_ident(user)
        self.database = database
        self.user = user
        self.password = password
        self.host = "127.0.0.1"
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        if startup_timeout is None:
            startup_timeout = float(os.environ.get("MARIADB_STARTUP_TIMEOUT", DEFAULT_STARTUP_TIMEOUT))
        self.startup_timeout = startup_timeout
        self.server_args = list(server_args)
        self.server_bin, self.installer_bin, self.version = find_server_binaries()
        self.is_mariadb = "mariadb" in self.version.lower()
        self._own_base = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="fundsched-mariadb-"))
        self.datadir = self.base_dir / "data"
        self.tmpdir = self.base_dir / "tmp"
        self.error_log = self.base_dir / "mariadbd.err"
        self.console_log = self.base_dir / "mariadbd.out"
        self.pid_file = self.base_dir / "mariadbd.pid"
        self.socket_path = self.base_dir / "mariadbd.sock"
        self._socket_dir: str | None = None
        if len(str(self.socket_path)) > 100:  # sun_path is 108 bytes
            self._socket_dir = tempfile.mkdtemp(prefix="mdb-", dir="/tmp")
            self.socket_path = Path(self._socket_dir) / "s.sock"
        self._proc: subprocess.Popen[bytes] | None = None
        self._provisioned = False
        self._saved_globals: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._owner_pid = os.getpid()
        self.last_start_seconds: float | None = None
        _live_servers.add(self)

    # ---- URLs -------------------------------------------------------------------------------

    def url_for(self, database: str | None = None) -> str:
        """SQLAlchemy URL (password quoted) for ``database`` (default: the server's database)."""
        return URL.create(
            "mysql+pymysql",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=database or self.database,
            query={"charset": "utf8mb4"},
        ).render_as_string(hide_password=False)

    @property
    def url(self) -> str:
        return self.url_for()

    # ---- lifecycle --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc else None

    def start(self) -> None:
        """Start (first time: initialise and provision) and return once connections work."""
        with self._lock:
            if self.running:
                return
            began = time.monotonic()
            if not (self.datadir / "mysql").is_dir():
                self._install_datadir()
            attempts = 1 if (self._fixed_port or self._provisioned) else 3
            for attempt in range(attempts):
                try:
                    self._launch_and_wait()
                    break
                except MariaDBServerError as exc:
                    if attempt + 1 < attempts and "already in use" in str(exc):
                        self.port = free_port()  # lost a race for the port: take another
                        continue
                    raise
            if not self._provisioned:
                self._provision()
                self._provisioned = True
            self.last_start_seconds = time.monotonic() - began

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful shutdown (SIGTERM), SIGKILL after ``timeout`` seconds."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None or proc.poll() is not None:
                return
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)

    def kill(self) -> None:
        """SIGKILL the server (a crash); ``start()`` recovers the datadir."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its temp directory."""
        try:
            self.stop()
        finally:
            if self._own_base:
                shutil.rmtree(self.base_dir, ignore_errors=True)
            if self._socket_dir:
                shutil.rmtree(self._socket_dir, ignore_errors=True)
            _live_servers.discard(self)

    def __enter__(self) -> MariaDBServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<MariaDBServer {self.host}:{self.port} {self.base_dir} {state}>"

    def log_tail(self, lines: int = 30) -> str:
        parts = [_tail(self.error_log, lines), _tail(self.console_log, lines)]
        return "\n".join(p for p in parts if p) or "(no server output)"

    def _user_flag(self) -> list[str]:
        # mysqld refuses to run as root unless told to; harmless otherwise, so only as root.
        return ["--user=root"] if os.geteuid() == 0 else []

    def _install_datadir(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        if self.installer_bin is not None:
            cmd = [
                self.installer_bin,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *self._user_flag(),
            ]
        else:  # Oracle MySQL 5.7+/8: the server initialises its own datadir
            cmd = [
                self.server_bin,
                "--no-defaults",
                "--initialize-insecure",
                f"--datadir={self.datadir}",
                *self._user_flag(),
            ]
        log = self.base_dir / "install-db.log"
        with log.open("wb") as out:
            try:
                rc = subprocess.run(
                    cmd,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=max(self.startup_timeout, 120),
                    check=False,
                ).returncode
            except subprocess.TimeoutExpired:
                rc = -1
        if rc != 0:
            raise MariaDBServerError(f"{' '.join(cmd)} failed (exit {rc}):\n{_tail(log, 40)}")

    def _server_command(self) -> list[str]:
        cmd = [
            self.server_bin,
            "--no-defaults",  # must be first: no /etc/mysql config may interfere
            f"--datadir={self.datadir}",
            f"--tmpdir={self.tmpdir}",
            f"--bind-address={self.host}",
            f"--port={self.port}",
            f"--socket={self.socket_path}",
            f"--pid-file={self.pid_file}",
            f"--log-error={self.error_log}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--max-connections=500",
            # a mysqld crash loses nothing with 2; only an OS crash would, which tests don't do
            "--innodb-flush-log-at-trx-commit=2",
            *self._user_flag(),
        ]
        if self._provisioned:  # restart: our own old socket may linger in TIME_WAIT etc.
            cmd.append("--port-open-timeout=15")
        if not self.is_mariadb:
            cmd.append("--mysqlx=OFF")  # else every server wants port 33060
        return [*cmd, *self.server_args]

    def _launch_and_wait(self) -> None:
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        with self.console_log.open("ab") as out:
            self._proc = subprocess.Popen(
                self._server_command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C at the terminal is pytest's, not the server's
            )
        deadline = time.monotonic() + self.startup_timeout
        last_error: Exception | None = None
        while True:
            if self._proc.poll() is not None:
                rc = self._proc.returncode
                self._proc = None
                tail = self.log_tail()
                reason = "already in use" if "already in use" in tail else f"exit {rc}"
                raise MariaDBServerError(
                    f"{self.server_bin} exited during start-up ({reason}) on port {self.port}; "
                    f"log tail:\n{tail}"
                )
            try:
                # Probe the socket ourselves first: pymysql leaks its socket when connect() fails.
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                    probe.settimeout(2)
                    probe.connect(str(self.socket_path))
                self.admin_connect(connect_timeout=2).close()
                return
            except (OSError, pymysql.err.MySQLError) as exc:
                last_error = exc
            if time.monotonic() > deadline:
                self.kill()
                raise MariaDBServerError(
                    f"{self.server_bin} did not accept connections within "
                    f"{self.startup_timeout:.0f} s ({last_error}); log tail:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _provision(self) -> None:
        pattern = "`fundsched\\_%`"  # every fundsched_* database, incl. per-test ones
        with self.admin_connect() as conn, conn.cursor() as cur:
            cur.execute(
                f"CREATE DATABASE IF NOT EXISTS {_quote_ident(self.database)} "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
            for host in ("%", "localhost"):
                cur.execute(
                    f"CREATE USER IF NOT EXISTS '{self.user}'@'{host.replace('%', '%%')}' IDENTIFIED BY %s",
                    (self.password,),
                )
                grant_on = [pattern]
                if not self.database.startswith("fundsched_"):
                    grant_on.append(_quote_ident(self.database))
                for target in grant_on:
                    cur.execute(f"GRANT ALL PRIVILEGES ON {target}.* TO '{self.user}'@'{host}'")
        # The real path the application takes: TCP, the user, the quoted password.
        with pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=self.database,
            connect_timeout=5,
        ):
            pass

    # ---- administration ---------------------------------------------------------------------

    def admin_connect(self, *, connect_timeout: float = 10, **kwargs: Any) -> pymysql.Connection:
        """A root connection over the Unix socket (autocommit)."""
        return pymysql.connect(
            unix_socket=str(self.socket_path),
            user="root",
            password="",
            connect_timeout=connect_timeout,
            autocommit=True,
            charset="utf8mb4",
            **kwargs,
        )

    def execute(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement as root; returns the rows (empty for non-queries)."""
        with self.admin_connect() as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def get_global(self, name: str) -> Any:
        _quote_ident(name)
        rows = self.execute(f"SELECT @@GLOBAL.{name}")
        return rows[0][0]

    def set_global(self, name: str, value: Any) -> Any:
        """``SET GLOBAL name = value``; returns the previous value (remembered for reset)."""
        _quote_ident(name)
        with self._lock:
            previous = self.get_global(name)
            self._saved_globals.setdefault(name, previous)
            self.execute(f"SET GLOBAL {name} = %s", (value,))
            return previous

    def reset_globals(self) -> None:
        """Restore every variable changed through ``set_global`` to its first-seen value."""
        with self._lock:
            saved, self._saved_globals = self._saved_globals, {}
            if self.running:
                for name, value in saved.items():
                    self.execute(f"SET GLOBAL {name} = %s", (value,))

    @contextlib.contextmanager
    def global_variable(self, name: str, value: Any) -> Iterator[None]:
        previous = self.set_global(name, value)
        try:
            yield
        finally:
            if self.running:
                self.execute(f"SET GLOBAL {name} = %s", (previous,))

    def create_database(self, name: str) -> str:
        """Create database ``name`` (the user may use any ``fundsched_*`` one); return its URL."""
        self.execute(f"CREATE DATABASE {_quote_ident(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        if not name.startswith("fundsched_"):
            for host in ("%", "localhost"):
                self.execute(f"GRANT ALL PRIVILEGES ON {_quote_ident(name)}.* TO '{self.user}'@'{host}'")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``; connections still holding metadata locks in it are killed first."""
        quoted = _quote_ident(name)
        with self.admin_connect() as conn, conn.cursor() as cur:
            cur.execute("SET SESSION lock_wait_timeout = 5")
            try:
                cur.execute(f"DROP DATABASE IF EXISTS {quoted}")
                return
            except pymysql.err.OperationalError as exc:
                if exc.args[0] != 1205:  # ER_LOCK_WAIT_TIMEOUT: a test left a transaction open
                    raise
            cur.execute(
                "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                (name,),
            )
            for (conn_id,) in cur.fetchall():
                with contextlib.suppress(pymysql.err.MySQLError):
                    cur.execute(f"KILL {int(conn_id)}")
            cur.execute(f"DROP DATABASE IF EXISTS {quoted}")


# ---- pytest fixtures ------------------------------------------------------------------------
# One server per test process even if these fixtures are imported into several modules/conftests
# (each import is a separate FixtureDef, so the server itself is a reference-counted singleton).

_session_lock = threading.Lock()
_session_server: MariaDBServer | None = None
_session_error: BaseException | None = None
_session_users = 0


def _acquire_session_server() -> MariaDBServer:
    global _session_server, _session_error, _session_users
    with _session_lock:
        if _session_error is not None:
            raise _session_error
        if _session_server is None:
            try:
                server = MariaDBServer()
            except ServerBinaryNotFound as exc:
                _session_error = exc
                raise
            try:
                server.start()
            except BaseException as exc:
                server.close()
                _session_error = exc
                raise
            _session_server = server
        _session_users += 1
        return _session_server


def _release_session_server() -> None:
    global _session_server, _session_users
    with _session_lock:
        _session_users -= 1
        if _session_users <= 0 and _session_server is not None:
            server, _session_server = _session_server, None
            server.close()


def skip_or_fail(exc: ServerBinaryNotFound) -> NoReturn:
    """``pytest.skip`` with the reason, or fail when ``MARIADB_REQUIRED`` is set (CI)."""
    if os.environ.get("MARIADB_REQUIRED", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"MARIADB_REQUIRED is set but {exc}", pytrace=False)
    pytest.skip(str(exc))


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """URL of the session's MariaDB server (database ``fundsched_test``); skips without one."""
    try:
        server = _acquire_session_server()
    except ServerBinaryNotFound as exc:
        skip_or_fail(exc)
    try:
        yield server.url
    finally:
        _release_session_server()


@pytest.fixture(scope="session")
def mariadb_server(mariadb_url: str) -> MariaDBServer:
    """The session's shared server. Restore what you change; don't stop it (use your own)."""
    assert _session_server is not None
    return _session_server


@contextlib.contextmanager
def _fresh_database(label: str) -> Iterator[str]:
    """A new database named after ``label`` on the session server; dropped afterwards."""
    server = _session_server
    assert server is not None
    if not server.running:  # an earlier test stopped the shared server: heal, don't cascade
        server.start()
    slug = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_").lower()[:32]
    name = f"fundsched_t_{slug}_{uuid.uuid4().hex[:8]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        if server.running:
            server.reset_globals()
            server.drop_database(name)


@pytest.fixture
def mariadb_db_url(mariadb_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a fresh database for this test only, on the session server; dropped afterwards."""
    with _fresh_database(request.node.name) as url:
        yield url


@pytest.fixture(scope="module")
def mariadb_module_db_url(mariadb_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a fresh database shared by one test module (e.g. one daemon for several tests)."""
    with _fresh_database(request.module.__name__.rsplit(".", 1)[-1]) as url:
        yield url


def main() -> None:
    """Start a server by hand: ``python -m tests.support.mariadb``; Ctrl-C stops it."""
    with MariaDBServer() as server:
        print(f"started in {server.last_start_seconds:.2f} s: {server.version}")
        print(f"url:    {server.url}")
        print(f"socket: {server.socket_path} (root, no password)")
        print(f"logs:   {server.error_log}")
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
