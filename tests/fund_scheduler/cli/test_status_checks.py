"""``status`` lists each check job's state (the real CLI in a child process, a real database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fund_scheduler.store import checks
from fund_scheduler.store.engine import make_engine

SINCE = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SUMMARY = "fund_nav has 2026-12-02 for 180/300 active funds (60 %), expected 2026-12-03 by 20:00"


def test_status_prints_each_check_with_its_state_since_and_summary(home) -> None:
    assert home.cli("db", "upgrade").returncode == 0
    engine = make_engine(home.database_url)
    checks.save_state(
        engine,
        "fund_nav_freshness",
        state="breach",
        since=SINCE,
        checked_at=SINCE,
        summary=SUMMARY,
        details={"coverage": 0.6},
        execution_id=7,
    )
    engine.dispose()

    status = home.cli("status")
    assert status.returncode == 3, status.stderr  # not running
    lines = status.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("CHECK "))
    assert lines[header].split() == ["CHECK", "STATE", "SINCE", "SUMMARY"]
    rows = {line.split()[0]: line for line in lines[header + 2 : header + 4]}
    assert rows["fund_nav_freshness"].split()[1:5] == ["breach", "2026-12-03", "12:00:00", "UTC"]
    assert rows["fund_nav_freshness"].endswith(SUMMARY)
    assert rows["fund_metrics_freshness"].split()[1:3] == ["-", "-"]
    assert rows["fund_metrics_freshness"].endswith("not checked yet")

    report = json.loads(home.cli("status", "--json").stdout)
    states = {c["job_id"]: c["state"] for c in report["checks"]}
    assert states == {"fund_metrics_freshness": None, "fund_nav_freshness": "breach"}


def test_run_job_without_a_daemon_keeps_the_checks_state_as_the_daemon_would(home) -> None:
    from fundpipe.schema import fund_info

    assert home.cli("db", "upgrade").returncode == 0
    engine = make_engine(home.database_url)
    with engine.begin() as conn:
        conn.execute(fund_info.insert(), [{"fund_code": "000001", "is_active": True, "updated_at": SINCE}])

    ran = home.cli("run-job", "fund_nav_freshness")
    assert ran.returncode == 0, ran.stderr
    assert 'result: {"ok": false, "summary": "fund_nav has no rows on or before ' in ran.stdout
    state = checks.get_state(engine, "fund_nav_freshness")
    engine.dispose()
    assert state["state"] == "breach" and state["details"]["active_funds"] == 1
