"""The page's views over HTTP (Flask test client): the executions filtered by job, status, trigger
and business date and paged by the ``before_id`` cursor, bad parameters refused naming them, the
failures of the last 24 h in ``/health``, and the weekly reports served read-only (list, file,
its CSP, and every way out of the folder answered 404)."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from fund_common.clock import utcnow
from fund_scheduler.api.app import create_app
from fund_scheduler.settings import Settings
from fund_scheduler.store import history
from fund_scheduler.store.engine import make_engine
from tests.support.inprocess import InProcessDaemon

REPORT = "weekly-2026-W48.html"
REPORT_HTML = "<!doctype html><title>week 48</title><p>report of week 48</p>"


class PageOps:
    """What the routes under test ask of the daemon's Operations, over a SQLite history."""

    def __init__(self, root: Path):
        self.engine = make_engine(f"sqlite:///{root / 'history.db'}")
        history.metadata.create_all(self.engine)
        self.reports_dir = root / "reports"
        self.reports_dir.mkdir()

    def executions(self, *, job_id: str | None, status: str | None, limit: int, **filters: Any) -> list[dict]:
        return history.recent(self.engine, job_id=job_id, status=status, limit=limit, **filters)


@pytest.fixture
def ops(tmp_path: Path) -> PageOps:
    return PageOps(tmp_path)


@pytest.fixture
def client(ops: PageOps):
    return create_app(ops, "token").test_client()


def add_runs(ops: PageOps, rows: list[tuple[str, str, str, date]], hour: int = 0) -> list[int]:
    """Rows (job, status, trigger, run_date) started from ``hour``, one minute apart; their ids."""
    start = datetime(2026, 12, 1, hour, 0)
    ids = []
    with ops.engine.begin() as conn:
        for i, (job, status, trigger, run_date) in enumerate(rows):
            at = start + timedelta(minutes=i)
            values = dict(
                job_id=job, status=status, trigger=trigger, run_date=run_date, started_at=at, finished_at=at
            )
            ids.append(conn.execute(insert(history.job_executions).values(**values)).inserted_primary_key[0])
    return ids


D1, D2, D3 = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)


def ids_of(answer) -> list[int]:
    assert answer.status_code == 200, answer.get_json()
    return [r["id"] for r in answer.get_json()["executions"]]


def test_executions_are_filtered_by_job_status_trigger_and_business_date(client, ops) -> None:
    a1, a2, b1, a3, b2 = add_runs(
        ops,
        [
            ("job_a", "success", "schedule", D1),
            ("job_a", "failed", "manual", D2),
            ("job_b", "failed", "retry", D2),
            ("job_a", "failed", "schedule", D3),
            ("job_b", "success", "backfill", D1),
        ],
    )
    assert ids_of(client.get("/api/executions")) == [b2, a3, b1, a2, a1]
    assert ids_of(client.get("/api/executions?job=job_a&status=failed")) == [a3, a2]
    assert ids_of(client.get("/api/executions?trigger=backfill")) == [b2]
    assert ids_of(client.get("/api/executions?trigger=manual&job=job_a")) == [a2]
    assert ids_of(client.get("/api/executions?date_from=2026-12-01")) == [a3, b1, a2]
    assert ids_of(client.get("/api/executions?date_to=2026-12-01")) == [b2, b1, a2, a1]
    assert ids_of(client.get("/api/executions?date_from=2026-12-01&date_to=2026-12-01&status=failed")) == [
        b1,
        a2,
    ]
    assert ids_of(client.get("/api/executions?job=nobody")) == []


def test_executions_are_paged_by_a_cursor_stable_while_new_rows_arrive(client, ops) -> None:
    ids = add_runs(ops, [("job_a", "success", "schedule", D1)] * 7)
    newest_first = ids[::-1]
    first = client.get("/api/executions?limit=3").get_json()
    assert [r["id"] for r in first["executions"]] == newest_first[:3]
    assert first["next_before_id"] == newest_first[2] and first["limit"] == 3
    add_runs(ops, [("job_a", "failed", "manual", D2)] * 2, hour=5)  # new rows do not shift the next page
    second = client.get(f"/api/executions?limit=3&before_id={first['next_before_id']}").get_json()
    assert [r["id"] for r in second["executions"]] == newest_first[3:6]
    last = client.get(f"/api/executions?limit=3&before_id={second['next_before_id']}").get_json()
    assert [r["id"] for r in last["executions"]] == newest_first[6:]
    assert last["next_before_id"] is None
    exact = client.get(f"/api/executions?limit=1&before_id={newest_first[5]}").get_json()
    assert exact["next_before_id"] is None  # one row left: no empty page offered
    # A filter and the cursor together.
    failed = client.get("/api/executions?status=failed&limit=1").get_json()
    rest = client.get(
        f"/api/executions?status=failed&limit=1&before_id={failed['next_before_id']}"
    ).get_json()
    assert len(rest["executions"]) == 1 and rest["executions"][0]["status"] == "failed"
    assert rest["next_before_id"] is None


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("trigger=cron", "trigger='cron'"),
        ("status=broken", "status='broken'"),
        ("date_from=2026-13-01", "date_from='2026-13-01'"),
        ("date_to=yesterday", "date_to='yesterday'"),
        ("date_from=2026-12-02&date_to=2026-12-01", "date_from='2026-12-02' is after date_to='2026-12-01'"),
        ("before_id=abc", "before_id='abc'"),
        ("before_id=0", "before_id='0'"),
        ("before_id=-5", "before_id='-5'"),
        ("before_id=99999999999999999999", "before_id='99999999999999999999'"),
        ("limit=0", "limit='0'"),
        ("job=x'%3B DROP TABLE job_executions;--&trigger=manual%27 OR 1=1", 'trigger="manual\' OR 1=1"'),
    ],
)
def test_bad_parameters_are_refused_naming_them(client, query: str, named: str) -> None:
    answer = client.get(f"/api/executions?{query}")
    assert answer.status_code == 400
    assert named in answer.get_json()["error"]


def test_a_job_id_with_sql_is_only_a_value(client, ops) -> None:
    add_runs(ops, [("job_a", "success", "schedule", D1)])
    assert ids_of(client.get("/api/executions?job=job_a' OR '1'='1")) == []
    assert len(ids_of(client.get("/api/executions"))) == 1


def test_health_lists_the_failures_of_the_last_24_hours_without_changing_the_status(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with InProcessDaemon(home) as d:
        engine = d.daemon.engine
        assert d.health().json()["failures_24h"]["count"] == 0
        history.record(engine, "job_a", "failed", scheduled_run_time=None, trigger="manual", now=utcnow())
        history.record(engine, "job_b", "timeout", scheduled_run_time=None, now=utcnow())
        history.record(
            engine, "job_a", "failed", scheduled_run_time=None, now=utcnow() + timedelta(seconds=1)
        )
        history.record(engine, "job_c", "failed", scheduled_run_time=None, now=utcnow() - timedelta(hours=25))
        answer = d.health()
        assert answer.status_code == 200 and answer.json()["status"] == "healthy"
        failures = answer.json()["failures_24h"]
        assert failures["count"] == 3 and failures["hours"] == 24
        assert [(g["job_id"], g["status"], g["count"]) for g in failures["jobs"]] == [
            ("job_a", "failed", 2),
            ("job_b", "timeout", 1),
        ]


def write_report(ops: PageOps, name: str, text: str = REPORT_HTML, mtime: float | None = None) -> Path:
    path = ops.reports_dir / name
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_reports_are_listed_newest_week_first_with_size_and_time(client, ops) -> None:
    assert client.get("/reports/").get_json() == {"reports": []}
    write_report(ops, "weekly-2026-W47.html", "x" * 10, mtime=1_700_000_000)
    write_report(ops, REPORT)
    write_report(ops, "weekly-2025-W52.html")
    write_report(ops, "notes.txt")  # not a report: not listed
    write_report(ops, "weekly-2026-W48.html.bak")
    (ops.reports_dir / "weekly-2026-W49.html").mkdir()  # a folder: not listed
    answer = client.get("/reports/")
    assert answer.status_code == 200
    reports = answer.get_json()["reports"]
    assert [r["name"] for r in reports] == [REPORT, "weekly-2026-W47.html", "weekly-2025-W52.html"]
    assert [r["week"] for r in reports] == ["2026-W48", "2026-W47", "2025-W52"]
    assert reports[1]["size"] == 10 and reports[1]["modified"] == "2023-11-14T22:13:20+00:00"
    assert reports[0]["url"] == f"/reports/{REPORT}"


def test_a_missing_reports_folder_lists_nothing(tmp_path) -> None:
    ops = PageOps(tmp_path)
    ops.reports_dir.rmdir()
    assert create_app(ops, "token").test_client().get("/reports/").get_json() == {"reports": []}


def test_a_report_is_served_under_its_own_csp(client, ops) -> None:
    write_report(ops, REPORT)
    answer = client.get(f"/reports/{REPORT}")
    assert answer.status_code == 200
    assert answer.get_data(as_text=True) == REPORT_HTML
    assert answer.mimetype == "text/html"
    csp = answer.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; img-src data:; style-src 'unsafe-inline'")
    assert "script-src" not in csp
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_and_the_api_forbid_anything_inline_or_foreign(client) -> None:
    for path in ("/", "/static/app.js", "/api/executions", "/reports/"):
        csp = client.get(path).headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "style-src 'self';" in csp, path
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, path


def test_the_reports_are_read_only(client, ops) -> None:
    write_report(ops, REPORT)
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)(f"/reports/{REPORT}").status_code == 405
    assert (ops.reports_dir / REPORT).read_text() == REPORT_HTML


def test_no_way_out_of_the_reports_folder(client, ops, tmp_path) -> None:
    secret = tmp_path / "secret.html"
    secret.write_text("SECRET")
    (ops.reports_dir / "weekly-2026-W01.html").symlink_to(secret)  # a link leading out
    write_report(ops, REPORT)
    (ops.reports_dir / "weekly-2026-W02.html").symlink_to(ops.reports_dir / REPORT)  # a link inside
    assert client.get("/reports/weekly-2026-W02.html").status_code == 200
    for path in (
        "/reports/weekly-2026-W01.html",
        "/reports/../secret.html",
        "/reports/..%2fsecret.html",
        "/reports/%2e%2e/secret.html",
        "/reports/%2e%2e%2fsecret.html",
        "/reports/..%5csecret.html",
        f"/reports/{secret}",
        f"/reports/%2F{str(secret).lstrip('/')}",
        "/reports//etc/passwd",
        "/reports/weekly-2026-W48.html%00.txt",
        "/reports/weekly-2026-W99.html",
        "/reports/weekly-2026-W48.htm",
        "/reports/WEEKLY-2026-W48.html",
        "/reports/weekly-2026-W03.html",  # well-formed, absent
        "/reports/sub/weekly-2026-W48.html",
    ):
        answer = client.get(path, follow_redirects=True)  # "//" is merged by a redirect first
        assert answer.status_code == 404, path
        assert "SECRET" not in answer.get_data(as_text=True), path


def test_the_reports_folder_setting_defaults_to_the_pipelines(tmp_path) -> None:
    home = tmp_path / "home"
    base = {"SCHEDULER_HOME": str(home)}
    assert Settings.from_env(base).reports_folder == (home / "reports").resolve()
    fund = Settings.from_env({**base, "FUND_REPORT_DIR": "out"})
    assert fund.reports_folder == (home / "out").resolve()
    own = Settings.from_env({**base, "FUND_REPORT_DIR": "out", "SCHEDULER_REPORTS_DIR": str(tmp_path / "r")})
    assert own.reports_folder == (tmp_path / "r").resolve()
    assert own.describe()["SCHEDULER_REPORTS_DIR"] == str((tmp_path / "r").resolve())
