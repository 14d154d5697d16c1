"""The throw-away redis-server of the tests (tests/support/redis.py): it answers with its
password only, the password is not on its command line, what was stored survives a restart, and
closing it leaves nothing behind. Skipped without redis-server unless ``REDIS_REQUIRED=1``."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support.redis import command, start_or_skip


def test_a_started_server_answers_with_its_password_only_and_keeps_data_over_a_restart() -> None:
    server = start_or_skip()
    root = server.root
    try:
        assert command(server.port, server.password, "PING") == b"+PONG"
        assert server.url.startswith("redis://:") and server.url.endswith(f"@127.0.0.1:{server.port}/0")
        with socket.create_connection(("127.0.0.1", server.port), timeout=2) as conn:
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            assert conn.makefile("rb").readline().startswith(b"-NOAUTH")
        assert server.process is not None
        argv = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
        assert server.password.encode() not in argv
        assert command(server.port, server.password, "RPUSH", "queue", "execution-42") == b":1"
        server.restart()
        assert command(server.port, server.password, "LPOP", "queue") == b"execution-42"
        assert command(server.port, server.password, "LPOP", "queue") == b"$-1"  # nothing left
    finally:
        server.close()
    assert not root.exists()
