"""Dependencies with deadlines in a started daemon (real SQLite, real child processes): a chain runs
in order once per business date, a deadline records ``blocked`` (alerted) or ``coalesced``, a late
upstream runs its dependent once (or not: ``on_late = "skip"``), a failed upstream stops the chain,
``after_mode = "any"``, ``--with-dependents``, and the business date of every kind of row.

Fire times are handed to the executor as the scheduler would (in 2030, so none is late); the
daemon's own cron never fires during a test (``FAR_AWAY``); the daemon's clock is injected.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

from fund_scheduler.api.app import create_app
from fund_scheduler.daemon.daemon import Daemon
from fund_scheduler.daemon.operations import Operations
from fund_scheduler.daemon.parts import build_parts
from fund_scheduler.jobs.registry import load_registry
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler_migrations.runner import upgrade
from tests.support.harness import FAR_AWAY, wait_for
from tests.support.webhook import Hook

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2030, 3, 5)  # a Tuesday
NOW = datetime(2030, 3, 5, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai, on DAY


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


class Chain:
    """A started daemon on the jobs of ``jobs_toml``; collects every finished row."""

    def __init__(self, root: Path, jobs_toml: str, **env: str):
        package = root / "no_bundled_jobs"
        package.mkdir()
        (package / "__init__.py").write_text('"""No jobs: the test defines its own in jobs.toml."""\n')
        (root / "jobs.toml").write_text(jobs_toml)
        environ = {
            "SCHEDULER_HOME": str(root),
            "SCHEDULER_JOBS_CONFIG": str(root / "jobs.toml"),
            "SCHEDULER_JOBS_PACKAGES": "no_bundled_jobs",
            "SCHEDULER_RUN_ON_FIRST_START": "false",
            "SCHEDULER_TIMEZONE": "Asia/Shanghai",
            **env,
        }
        self.settings = Settings.from_env(environ)
        registry = load_registry(
            self.settings.jobs_packages, self.settings.jobs_config, self.settings.timezone, environ
        )
        assert not registry.problems, registry.problems
        self.now = datetime.now(UTC)  # at start: the real time (no catch-up of the years to 2030)
        self.daemon = Daemon(build_parts(self.settings, registry), clock=lambda: self.now, migrate=upgrade)
        self.ops = Operations(self.daemon)
        self.rows: list[dict] = []
        self._arrived = threading.Condition()
        self.daemon.runner.on_finished.append(self._finished)
        # Told after the daemon's own handler (which starts the dependents) is done with a run.
        self.handled = 0
        self.daemon.scheduler.add_listener(self._handled, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self.daemon.start()
        self.now = NOW

    def _finished(self, row: dict) -> None:
        with self._arrived:
            self.rows.append(row)
            self._arrived.notify_all()

    def _handled(self, _event: object) -> None:
        with self._arrived:
            self.handled += 1

    def fire(self, job_id: str, when: datetime) -> None:
        """The scheduler's hand-over of the fire time ``when`` of ``job_id``."""
        self.daemon.executor.submit_job(self.daemon.scheduler.get_job(job_id), [when])

    def wait(self, done: Callable[[list[dict]], bool], what: str, timeout: float = 30) -> list[dict]:
        """Wait until ``done(finished rows)`` (the runs are real processes); the rows."""
        with self._arrived:
            assert self._arrived.wait_for(lambda: done(self.rows), timeout), (what, self.rows)
            return list(self.rows)

    def wait_for(self, job_id: str, count: int = 1) -> list[dict]:
        rows = self.wait(
            lambda rows: sum(r["job_id"] == job_id for r in rows) >= count, f"{count} x {job_id}"
        )
        return [r for r in rows if r["job_id"] == job_id]

    def settle(self) -> list[dict]:
        """Every row, once no run is going and the daemon has handled the end of each (so started
        every dependent it will)."""

        def settled() -> bool:
            with self._arrived:
                return self.daemon.runner.active_count == 0 and self.handled >= len(self.rows)

        wait_for(settled, 30, "every run ended and handled")
        return history.recent(self.daemon.engine, limit=100)[::-1]

    def close(self) -> None:
        self.daemon.request_stop("test over")
        self.daemon.shutdown()
        self.daemon.close()


def command_jobs(*jobs: tuple[str, str, str]) -> str:
    """jobs.toml of command jobs: (id, extra TOML lines, the shell line it runs)."""
    parts = []
    for job_id, extra, line in jobs:
        parts.append(f'[jobs.{job_id}]\ncron = "{FAR_AWAY}"\ncommand = ["sh", "-c", {line!r}]\n{extra}\n')
    return "\n".join(parts).replace("'", '"')


@pytest.fixture
def make_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Chain]]:
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[Chain] = []

    def make(jobs_toml: str, **env: str) -> Chain:
        made.append(Chain(tmp_path, jobs_toml, **env))
        return made[-1]

    yield make
    for chain in made:
        chain.close()


def by_job(rows: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in rows:
        found.setdefault(row["job_id"], []).append(row)
    return found


def upstream_flag(tmp_path: Path) -> str:
    """A shell line that succeeds while ``tmp_path/ok`` exists."""
    return f"test -e {tmp_path / 'ok'}"


DAILY = command_jobs(
    ("collect", "", "echo collected for $SCHEDULER_RUN_DATE"),
    ("validate", 'after = ["collect"]', "true"),
    ("metrics", 'after = ["validate"]', "true"),
)


def test_a_chain_runs_in_order_once_per_date_and_the_deadlines_then_run_nothing(make_chain) -> None:
    chain = make_chain(DAILY)
    chain.fire("collect", at(19))
    chain.wait_for("metrics")
    chain.fire("validate", at(19, 30))
    chain.fire("metrics", at(20, 30))
    chain.wait(lambda rows: sum(r["status"] == "coalesced" for r in rows) == 2, "two deadlines coalesced")
    rows = chain.settle()
    jobs = by_job(rows)
    runs = [r for r in rows if r["status"] == "success"]
    assert [(r["job_id"], r["trigger"]) for r in runs] == [
        ("collect", "schedule"),
        ("validate", "dependency"),
        ("metrics", "dependency"),
    ]
    assert runs[0]["started_at"] <= runs[1]["started_at"] <= runs[2]["started_at"]
    assert {r["run_date"] for r in rows} == {DAY}
    assert "collected for 2030-03-05" in runs[0]["output_tail"]
    for job_id, run in (("validate", runs[1]), ("metrics", runs[2])):
        deadline = jobs[job_id][-1]
        assert deadline["status"] == "coalesced" and deadline["error"] == f"covered by execution {run['id']}"
        assert deadline["scheduled_run_time"] is not None
    steps = {s["job"]: s for s in chain.ops.chain()}
    assert list(steps) == ["collect", "validate", "metrics"]
    assert steps["validate"]["after"] == ["collect"] and steps["collect"]["dependents"] == ["validate"]
    # The business date of the view is today's (the clock's): DAY.
    assert all(s["state"] == "succeeded" for s in steps.values()), steps


def test_a_deadline_before_the_upstream_succeeded_records_blocked_and_alerts(make_chain, tmp_path) -> None:
    hook = Hook()
    try:
        chain = make_chain(
            command_jobs(
                ("collect", "", upstream_flag(tmp_path)),
                ("validate", 'after = ["collect"]', "true"),
                ("report", 'after = ["collect"]\non_late = "skip"', "true"),
            ),
            ALERT_WEBHOOK_URL=hook.url,
        )
        chain.fire("collect", at(19))  # fails: no flag
        failed = chain.wait_for("collect")[0]
        assert failed["status"] == "failed"
        chain.fire("validate", at(19, 30))
        chain.fire("report", at(19, 30))
        blocked = chain.wait_for("validate")[0]
        assert blocked["status"] == "blocked" and blocked["run_date"] == DAY
        assert blocked["scheduled_run_time"] == at(19, 30)
        assert re.fullmatch(
            rf"waiting for collect: failed at \d\d:\d\d \(execution {failed['id']}\)", blocked["error"]
        ), blocked["error"]
        assert chain.wait_for("report")[0]["status"] == "blocked"
        posts = hook.wait(3)
        titles = sorted(p["json"]["text"].splitlines()[0] for p in posts)
        assert "fund-scheduler: job validate blocked: waiting for collect (failed)" in titles
        assert "fund-scheduler: job collect failed" in titles
        assert chain.ops.chain()[1]["state"] == "blocked"

        # The upstream succeeds late the same day: validate runs once (on_late run), report not.
        (tmp_path / "ok").touch()
        chain.fire("collect", at(19, 45))
        late = chain.wait_for("validate", 2)[1]
        assert (late["status"], late["trigger"], late["run_date"]) == ("success", "dependency", DAY)
        chain.fire("collect", at(19, 50))  # another success the same day runs nothing again
        chain.wait_for("collect", 3)
        rows = by_job(chain.settle())
        assert [r["status"] for r in rows["validate"]] == ["blocked", "success"]
        assert [r["status"] for r in rows["report"]] == ["blocked"]
        recovered = hook.wait(5)
        assert any(p["json"]["kind"] == "recovered" and p["json"]["job"] == "validate" for p in recovered), (
            recovered
        )
    finally:
        hook.close()


def test_a_failed_upstream_stops_the_chain(make_chain) -> None:
    chain = make_chain(
        command_jobs(
            ("collect", "", "true"),
            ("validate", 'after = ["collect"]', "exit 3"),
            ("metrics", 'after = ["validate"]', "true"),
        )
    )
    chain.fire("collect", at(19))
    chain.wait_for("validate")
    rows = by_job(chain.settle())
    assert [r["status"] for r in rows["validate"]] == ["failed"]
    assert "metrics" not in rows
    chain.fire("metrics", at(20, 30))
    blocked = chain.wait_for("metrics")[0]
    assert blocked["status"] == "blocked"
    assert blocked["error"].startswith("waiting for validate: failed at ")


def test_after_mode_any_and_all(make_chain) -> None:
    chain = make_chain(
        command_jobs(
            ("primary", "", "exit 1"),
            ("mirror", "", "true"),
            ("either", 'after = ["primary", "mirror"]\nafter_mode = "any"', "true"),
            ("both", 'after = ["primary", "mirror"]', "true"),
        )
    )
    chain.fire("primary", at(19))
    chain.wait_for("primary")
    chain.fire("mirror", at(19))
    either = chain.wait_for("either")[0]
    assert (either["status"], either["trigger"]) == ("success", "dependency")
    chain.fire("both", at(19, 30))
    both = chain.wait_for("both")[0]
    assert both["status"] == "blocked"
    assert both["error"].startswith("waiting for primary: failed at ") and "mirror" not in both["error"]


def test_a_deadline_after_the_upstreams_succeeded_runs_the_dependent(make_chain) -> None:
    """The daemon was down when the upstream succeeded: the deadline runs the dependent."""
    chain = make_chain(DAILY)
    engine = chain.daemon.engine
    done = history.start(engine, "collect", scheduled_run_time=at(19), trigger="schedule")
    history.finish(engine, done, "success")
    chain.fire("validate", at(19, 30))
    ran = chain.wait_for("validate")[0]
    assert (ran["status"], ran["trigger"], ran["run_date"]) == ("success", "schedule", DAY)
    metrics = chain.wait_for("metrics")[0]  # a scheduled run cascades too
    assert (metrics["trigger"], metrics["run_date"]) == ("dependency", DAY)


def test_manual_runs_start_dependents_only_when_asked(make_chain) -> None:
    chain = make_chain(DAILY)
    plain = chain.ops.run("collect", wait=True)
    assert plain["status"] == "success"
    rows = chain.settle()
    assert [r["job_id"] for r in rows] == ["collect"]
    assert rows[0]["run_date"] == DAY and rows[0]["trigger"] == "manual"
    asked = chain.ops.run("collect", wait=True, with_dependents=True)
    assert asked["status"] == "success"
    metrics = chain.wait_for("metrics")[0]
    assert (metrics["trigger"], metrics["run_date"]) == ("dependency", DAY)
    assert [r["job_id"] for r in chain.settle()] == ["collect", "collect", "validate", "metrics"]


def test_the_business_date_of_each_kind_of_row(make_chain) -> None:
    chain = make_chain(DAILY)
    chain.now = datetime(2030, 3, 5, 20, 0, tzinfo=UTC)  # already 04:00 on 6 March in Shanghai
    manual = chain.ops.run("collect", wait=True)
    assert chain.ops.execution(manual["execution_id"])["run_date"] == date(2030, 3, 6)
    early = at(1, 0, date(2030, 3, 7))  # 17:00 UTC on 6 March
    chain.fire("validate", early)
    blocked = chain.wait_for("validate")[0]
    assert (blocked["status"], blocked["run_date"]) == ("blocked", date(2030, 3, 7))
    missed = chain.daemon.runner.record("metrics", "missed", scheduled_run_time=early.astimezone(UTC))
    assert missed["run_date"] == date(2030, 3, 7)
    skipped = chain.daemon.runner.record("metrics", "skipped", scheduled_run_time=None)
    assert skipped["run_date"] == date(2030, 3, 6)


def test_the_http_api_shows_the_chain_and_runs_it(make_chain) -> None:
    chain = make_chain(DAILY)
    client = create_app(chain.ops, "token").test_client()
    auth = {"Authorization": "Bearer token"}
    steps = client.get("/api/chain").get_json()["chain"]
    assert [(s["job"], s["state"]) for s in steps] == [
        ("collect", "no_session"),  # FAR_AWAY: no fire time today
        ("validate", "no_session"),
        ("metrics", "no_session"),
    ]
    job = client.get("/api/jobs/validate").get_json()
    assert (job["after"], job["after_mode"], job["on_late"], job["dependents"]) == (
        ["collect"],
        "all",
        "run",
        ["metrics"],
    )
    listed = {row["id"]: row for row in client.get("/api/jobs").get_json()["jobs"]}
    assert job == listed["validate"]  # one job's row, built alone, is its row in the list
    assert client.get("/api/jobs/nosuch").status_code == 404
    bad = client.post("/api/jobs/collect/run", json={"with_dependents": "yes"}, headers=auth)
    assert bad.status_code == 400 and "with_dependents" in bad.get_json()["error"]
    started = client.post("/api/jobs/collect/run", json={"with_dependents": True}, headers=auth)
    assert started.status_code == 202 and started.get_json()["with_dependents"] is True
    chain.wait_for("metrics")
    chain.settle()
    steps = client.get("/api/chain").get_json()["chain"]
    assert [s["state"] for s in steps] == ["succeeded", "succeeded", "succeeded"]
    execution = client.get(f"/api/executions/{started.get_json()['execution_id']}").get_json()
    assert execution["run_date"] == DAY.isoformat()
