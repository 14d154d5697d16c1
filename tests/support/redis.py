"""A real, throw-away ``redis-server`` for the tests (the Celery broker of remote runs).

``RedisServer`` knows nothing of pytest: it finds the installed ``redis-server`` (Debian package
``redis-server``), starts it on a free TCP port of 127.0.0.1 with a password, its own data
directory and the append-only file on (so a restart keeps what was queued), and stops it and
deletes everything again. ``restart()`` stops it (SIGTERM: it writes its data and exits) and
starts it again on the same port and data: what a broker restart does to the workers.

Fixture (plug it in from ``tests/conftest.py``)::

    from tests.support.redis import redis_url  # noqa: F401

* ``redis_url`` (session): ``redis://:<password>@127.0.0.1:PORT/0`` of one server shared by the
  session; skips the test when no ``redis-server`` is installed, fails instead when
  ``REDIS_REQUIRED=1`` (CI sets it).

``python -m tests.support.redis`` starts a server by hand and prints its URL until Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

STARTUP_TIMEOUT = 20.0  # seconds until the server answers PING


def redis_binary() -> str | None:
    """The installed ``redis-server``, or None."""
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.path.exists(p)), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(port: int, password: str, *words: str, timeout: float = 2.0) -> bytes:
    """One Redis command over RESP (no client library needed): the reply's first line (``+PONG``,
    ``:1``, ``-ERR ...``), or a bulk reply's value (``$-1``, nil, stays as it is)."""
    payload = f"*2\r\n$4\r\nAUTH\r\n${len(password.encode())}\r\n{password}\r\n".encode()
    request = f"*{len(words)}\r\n".encode() + b"".join(
        f"${len(w.encode())}\r\n{w}\r\n".encode() for w in words
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(payload + request)
        stream = conn.makefile("rb")
        auth = stream.readline()
        if not auth.startswith(b"+OK"):
            raise ConnectionError(f"redis AUTH refused: {auth!r}")
        reply = stream.readline().rstrip(b"\r\n")
        if reply.startswith(b"$") and reply != b"$-1":
            return stream.readline().rstrip(b"\r\n")
        return reply


class RedisServer:
    """One ``redis-server`` process with its own port, password and data directory."""

    def __init__(self, binary: str):
        self.binary = binary
        self.port = _free_port()
        self.password = secrets.token_urlsafe(18)
        self.root = Path(tempfile.mkdtemp(prefix="fsh-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{quote(self.password, safe='')}@127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        # The password goes through stdin as a config file, never through argv (ps shows argv).
        config = (
            f"port {self.port}\nbind 127.0.0.1\nrequirepass {self.password}\ndir {self.root}\n"
            "appendonly yes\nappendfsync always\nsave \"\"\nprotected-mode yes\ndaemonize no\n"
            f"logfile {self.root / 'redis.log'}\n"
        )
        self.process = subprocess.Popen(
            [self.binary, "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True
        )
        assert self.process.stdin is not None
        self.process.stdin.write(config.encode())
        self.process.stdin.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                if command(self.port, self.password, "PING") == b"+PONG":
                    return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                log_file = self.root / "redis.log"
                log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}: {log}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM (redis writes its append-only file and exits), then wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port, password and data (a broker restart)."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_or_skip() -> RedisServer:
    binary = redis_binary()
    if binary is None:
        reason = "redis-server not found (apt-get install redis-server)"
        if os.environ.get("REDIS_REQUIRED") == "1":
            pytest.fail(f"REDIS_REQUIRED=1 but {reason}")
        pytest.skip(reason)
    return RedisServer(binary).start()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server = start_or_skip()
    try:
        yield server.url
    finally:
        server.close()


if __name__ == "__main__":  # pragma: no cover - by hand
    found = redis_binary()
    if found is None:
        raise SystemExit("redis-server not found (apt-get install redis-server)")
    server = RedisServer(found).start()
    print(server.url, flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
