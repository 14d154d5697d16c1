"""Job changes at runtime: created, changed and removed through the control socket (the CLI's
channel) and the HTTP API, stored in the database on top of code and jobs.toml, refused whole
when invalid (the running job unchanged), audited, and kept across a restart."""

from __future__ import annotations

import getpass
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests as http

from fund_scheduler.api.control import request
from fund_scheduler.cli.job_change_commands import parse_fields
from fund_scheduler.errors import ConfigError, SchedulerError
from fund_scheduler.store import audit, job_changes
from tests.support.inprocess import InProcessDaemon

OPERATOR = "changes-operator-token-0123456789"
VIEWER = "changes-viewer-token-0123456789"


@pytest.fixture
def root() -> Iterator[Path]:
    where = Path(tempfile.mkdtemp(prefix="fsj-"))
    tokens = where / "tokens"
    tokens.write_text(f"alice operator {OPERATOR}\nbob viewer {VIEWER}\n")
    tokens.chmod(0o600)
    yield where
    shutil.rmtree(where, ignore_errors=True)


def _daemon(root: Path) -> InProcessDaemon:
    return InProcessDaemon(root, SCHEDULER_API_TOKENS_FILE=str(root / "tokens"))


def _trigger(d: InProcessDaemon, job_id: str) -> str | None:
    row = d.ops.job(job_id)
    return row["trigger"] if row else None


def test_parse_fields_reads_values_as_jobs_toml_does() -> None:
    assert parse_fields(
        ("cron=15 4 * * *", "timeout=600", "enabled=false", 'command=["/bin/x", "-y"]', "at=")
    ) == {
        "cron": "15 4 * * *",
        "timeout": 600,
        "enabled": False,
        "command": ["/bin/x", "-y"],
        "at": None,
    }
    with pytest.raises(ConfigError, match="'oops' is not NAME=VALUE"):
        parse_fields(("oops",))


def test_add_set_remove_through_the_socket_and_http_refused_whole_and_kept_across_a_restart(root) -> None:
    socket_user = f"unix:{getpass.getuser()}"
    with _daemon(root) as d:
        socket = d.settings.control_socket
        engine = d.daemon.engine
        added = request(
            socket,
            {
                "cmd": "job-add",
                "job": "backup",
                "fields": {"cron": "0 3 * * *", "command": ["true"], "retries": 2},
            },
        )
        assert added["job"] == "backup" and not added["removed"]
        assert d.daemon.scheduler.get_job("backup") is not None
        assert d.daemon.registry.specs["backup"].retries == 2
        with pytest.raises(SchedulerError, match="job 'backup' exists"):
            request(
                socket,
                {"cmd": "job-add", "job": "backup", "fields": {"cron": "0 4 * * *", "command": ["true"]}},
            )

        before = _trigger(d, "tick")
        stored = job_changes.read_all(engine)
        with pytest.raises(SchedulerError) as caught:
            request(
                socket, {"cmd": "job-set", "job": "tick", "fields": {"cron": "99 * * * *", "timeout": 60}}
            )
        assert caught.value.exit_code == 2 and "runtime change of job 'tick'" in str(caught.value)
        assert job_changes.read_all(engine) == stored and _trigger(d, "tick") == before  # nothing changed
        with pytest.raises(SchedulerError, match="unknown field"):
            request(socket, {"cmd": "job-set", "job": "tick", "fields": {"colour": "red"}})

        auth = {"Authorization": f"Bearer {OPERATOR}"}
        patched = http.patch(f"{d.base}/api/jobs/tick", json={"cron": "15 4 * * *"}, headers=auth, timeout=10)
        assert patched.status_code == 200, patched.text
        assert _trigger(d, "tick") != before and d.daemon.registry.specs["tick"].changed == ("cron",)
        bad = http.patch(
            f"{d.base}/api/jobs/tick", json={"timezone": "Mars/Olympus"}, headers=auth, timeout=10
        )
        assert bad.status_code == 400 and "timezone" in bad.json()["error"]
        viewer = http.delete(
            f"{d.base}/api/jobs/tick", headers={"Authorization": f"Bearer {VIEWER}"}, timeout=10
        )
        assert viewer.status_code == 403
        created = http.post(
            f"{d.base}/api/jobs",
            json={"id": "poll", "interval": "15m", "command": ["true"]},
            headers=auth,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        assert (
            http.post(f"{d.base}/api/jobs", json={"id": "poll"}, headers=auth, timeout=10).status_code == 409
        )
        assert http.delete(f"{d.base}/api/jobs/poll", headers=auth, timeout=10).status_code == 200
        assert d.ops.job("poll") is None

        request(socket, {"cmd": "job-remove", "job": "backup"})
        assert d.ops.job("backup") is None
        entries = audit.recent(engine, limit=20)
        assert [(e["actor"], e["action"], e["target"], e["outcome"]) for e in entries[:4]] == [
            (socket_user, "job_remove", "backup", "ok"),
            ("token:alice", "job_remove", "poll", "ok"),
            ("token:alice", "job_add", "poll", "job 'poll' exists; change it with `job set`"),
            ("token:alice", "job_add", "poll", "ok"),
        ]
        assert entries[3]["after"] == {"fields": {"interval": "15m", "command": ["true"]}, "removed": False}
        refused = [e for e in entries if e["outcome"] != "ok" and e["action"] == "job_set"]
        assert refused and refused[-1]["actor"] == socket_user
        changed = d.ops.job("tick")["trigger"]

    with _daemon(root) as d:  # a restart: the database's changes still apply
        assert d.ops.job("tick")["trigger"] == changed
        assert d.ops.job("backup") is None and d.ops.job("poll") is None
        request(d.settings.control_socket, {"cmd": "job-set", "job": "tick", "reset": True})
        assert d.ops.job("tick")["trigger"] == before
        assert job_changes.read_all(d.daemon.engine) == {}
