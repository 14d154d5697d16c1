"""The bundled jobs wired to the run history: the weekly job hands the week's runs to the report."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_weekly_report_shows_the_runs_of_its_week(home):
    collected = home.cli("run-job", "daily_collection", timeout=180)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    weekly = home.cli("run-job", "weekly_full_calc", timeout=180)
    assert weekly.returncode == 0, weekly.stdout + weekly.stderr
    [report] = (home.root / "reports").glob("weekly-*.html")
    page = report.read_text(encoding="utf-8")
    assert '<td class="job">daily_collection</td>' in page
    assert "no run history available" not in page
