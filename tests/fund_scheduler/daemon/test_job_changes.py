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
from fund_scheduler.jobs.edits import EditRequest
from fund_scheduler.store import audit, job_changes
from tests.support.harness import SchedulerHome, wait_for
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


def test_reload_through_the_socket_http_and_sighup_says_what_changed_refuses_a_bad_file_audited(root) -> None:
    socket_user = f"unix:{getpass.getuser()}"
    jobs_toml = root / "jobs.toml"
    auth = {"Authorization": f"Bearer {OPERATOR}"}
    with _daemon(root) as d:
        socket, engine = d.settings.control_socket, d.daemon.engine
        original = jobs_toml.read_text()
        jobs_toml.write_text(original + '[jobs.nightly]\ncron = "0 3 * * *"\ncommand = ["true"]\n')
        answer = request(socket, {"cmd": "reload"})
        assert answer["added"] == ["nightly"] and "1 added" in answer["summary"]
        assert d.daemon.scheduler.get_job("nightly") is not None

        jobs_toml.write_text(original + '[jobs.nightly]\ncron = "99 3 * * *"\ncommand = ["true"]\n')
        with pytest.raises(SchedulerError) as caught:
            request(socket, {"cmd": "reload"})
        assert caught.value.exit_code == 2 and "reload refused" in str(caught.value)
        assert "nightly" in str(caught.value)
        assert d.daemon.scheduler.get_job("nightly") is not None  # the running jobs stay
        assert any("nightly" in p for p in d.ops.report()["config_problems"])  # `status` says so
        viewer = http.post(f"{d.base}/api/reload", headers={"Authorization": f"Bearer {VIEWER}"}, timeout=10)
        assert viewer.status_code == 403
        refused = http.post(f"{d.base}/api/reload", headers=auth, timeout=10)
        assert refused.status_code == 400 and "nightly" in refused.json()["error"]

        jobs_toml.write_text(original)
        done = http.post(f"{d.base}/api/reload", headers=auth, timeout=10)
        assert done.status_code == 200, done.text
        assert done.json()["set_aside"] == ["nightly"] and d.daemon.scheduler.get_job("nightly") is None
        assert d.ops.report()["config_problems"] == []

        d.daemon.request_reload()  # what the SIGHUP handler does
        wait_for(
            lambda: audit.recent(engine, limit=1, action="reload")[0]["actor"] == "signal:SIGHUP",
            10,
            "the SIGHUP reload's audit row",
        )
        rows = audit.recent(engine, limit=10, action="reload")
        assert [(r["actor"], r["via"], r["outcome"][:14]) for r in rows] == [
            ("signal:SIGHUP", "signal", "ok"),
            ("token:alice", "http", "ok"),
            ("token:alice", "http", "reload refused"),
            (socket_user, "socket", "reload refused"),
            (socket_user, "socket", "ok"),
        ]
        assert rows[1]["after"]["set_aside"] == ["nightly"] and rows[4]["after"]["added"] == ["nightly"]


def test_job_set_without_a_daemon_goes_to_the_database_checked_whole_audited_and_applied(root) -> None:
    cli_user = f"cli:{getpass.getuser()}"
    with _daemon(root) as d:  # creates the database, then stops
        before = _trigger(d, "tick")
    home = SchedulerHome(root)
    refused = home.cli("job", "set", "tick", "cron=99 * * * *")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "runtime change of job 'tick'" in refused.stderr
    done = home.cli("job", "set", "tick", "cron=15 4 * * *", "retries=2")
    assert done.returncode == 0, done.stderr
    assert "stored in the database" in done.stdout and "cron='15 4 * * *'" in done.stdout
    unknown = home.cli("job", "remove", "nope")
    assert unknown.returncode == 2 and "nope" in unknown.stderr

    with _daemon(root) as d:  # the stored change applies at start
        engine = d.daemon.engine
        assert _trigger(d, "tick") != before and d.daemon.registry.specs["tick"].retries == 2
        assert job_changes.read_all(engine)["tick"]["changed_by"] == cli_user
        rows = audit.recent(engine, limit=3)
        assert [(r["actor"], r["via"], r["action"], r["target"], r["outcome"] == "ok") for r in rows] == [
            (cli_user, "cli", "job_remove", "nope", False),
            (cli_user, "cli", "job_set", "tick", True),
            (cli_user, "cli", "job_set", "tick", False),
        ]
        assert rows[1]["after"] == {"fields": {"cron": "15 4 * * *", "retries": 2}, "removed": False}
        assert d.daemon.apply_stored_changes() is False  # nothing new

        # Another process (a CLI on another host) stores a change while this daemon runs.
        job_changes.save_edit(
            engine,
            EditRequest("job_set", "tick", reset=True),
            base=d.daemon.base_registry,
            actor=None,
            default_tz=d.settings.timezone,
            now=d.daemon.clock(),
        )
        assert d.daemon.apply_stored_changes() is True
        assert _trigger(d, "tick") == before and d.daemon.registry.specs["tick"].retries == 0
        assert d.daemon.apply_stored_changes() is False
