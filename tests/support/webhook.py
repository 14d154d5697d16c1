"""A local webhook receiver for the alert tests: records each POST's body (JSON or a form).

Plugged in from ``tests/conftest.py``; its ``hook`` fixture yields a fresh receiver whose URL
carries :data:`SECRET` as the robot key, so tests can check that the key is never logged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

SECRET = "s3cr3t-robot-key"


class Hook:
    """A webhook receiver: records each POST's ``path``, content ``type`` and ``body`` (a JSON
    body also as ``json``; a form as a dict of its first values); answers ``reply``."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.reply: tuple[int, dict] = (200, {"errcode": 0, "errmsg": "ok"})
        self.arrived = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                kind = self.headers.get("Content-Type", "")
                form = "x-www-form-urlencoded" in kind
                body = {k: v[0] for k, v in parse_qs(raw).items()} if form else json.loads(raw)
                with hook.arrived:  # recorded before the answer: posts keep the sender's order
                    hook.posts.append({"path": self.path, "type": kind, "body": body, "json": body})
                    hook.arrived.notify_all()
                status, answer = hook.reply
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/robot/send?key={SECRET}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, count: int, timeout: float = 10) -> list[dict]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.posts) >= count, timeout), self.posts
        return self.posts

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()
