"""The weekly report: sections, embedded PNG charts, offline page, escaping, empty weeks; the job
runs are handed in (``runs=``), as the daemon hands its run history to weekly_full_calc."""

import base64
import datetime as dt
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import pytest
import sqlalchemy as sa

from fund_common.calendars import weekdays_only
from fund_common.runstatus import RunStatus
from fundpipe import report, tasks
from fundpipe.schema import data_update_log, fund_info, fund_metrics
from fundpipe.settings import PROJECT_DIR, FundSettings
from tests.support.schema import create_fund_tables

MONDAY = dt.date(2024, 6, 3)
SUNDAY = dt.date(2024, 6, 9)
WEEKDAYS = [MONDAY + dt.timedelta(days=i) for i in range(5)]
CALENDAR = weekdays_only("WEEKDAYS")  # the week of 2024-06-03 has five sessions on XSHG too
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECTIONS = {"summary", "calendar", "job-runs", "freshness", "rows", "durations", "sharpe"}
HOSTILE = "<script>alert(1)</script>"


def run(job_id, started_at, status="success", duration=2.0):
    finished = None if status == "running" else started_at + dt.timedelta(seconds=duration or 0)
    return {
        "job_id": job_id,
        "scheduled_run_time": started_at,
        "started_at": started_at,
        "finished_at": finished,
        "status": status,
        "duration": None if status == "running" else duration,
        "exit_code": 0 if status == "success" else 1,
        "trigger": "schedule",
    }


def week_runs():
    """A week in UTC: daily chain at 11:00 (19:00 Shanghai), Wednesday's validation failed, the
    Sunday 02:00 Shanghai jobs at Saturday 18:00 UTC, and one run on each side of the week."""
    rows = []
    for i, day in enumerate(WEEKDAYS):
        at = dt.datetime.combine(day, dt.time(11, 0))
        rows.append(run("daily_collection", at, duration=2.0 + i))
        status = "failed" if day.weekday() == 2 else "success"
        rows.append(run("daily_validation", at + dt.timedelta(minutes=1), status, 1.5))
        rows.append(run("daily_metrics", at + dt.timedelta(minutes=2), duration=4.0))
    saturday_evening = dt.datetime(2024, 6, 8, 18, 0)
    rows.append(run("weekly_full_calc", saturday_evening, "running"))
    rows.append(run("weekly_pipeline", saturday_evening, "missed", 0.0))
    rows.append(run("daily_collection", dt.datetime(2024, 6, 2, 10, 0)))  # Sun 18:00 of the week before
    rows.append(run("late_job", dt.datetime(2024, 6, 9, 17, 0)))  # Mon 01:00 Shanghai, next week
    return rows


@pytest.fixture(scope="module")
def week_db(tmp_path_factory):
    """A demo database: 12 funds, a week of daily runs Mon-Fri (the week's runs: week_runs())."""
    path = tmp_path_factory.mktemp("report") / "fund.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    create_fund_tables(engine)
    settings = FundSettings(demo_funds=12, demo_history_days=70)
    for day in WEEKDAYS:
        tasks.collect(engine, settings, day)
        tasks.validate(engine, settings, day)
        tasks.compute_metrics(engine, settings, day)
    yield engine
    engine.dispose()


class Page(HTMLParser):
    """What the tests look at: sections, images, every tag, table rows as (class, text) cells."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.sections, self.images, self.tags, self.rows = [], [], [], []
        self._row = self._cell = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = [attrs.get("class") or "", ""]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append((self._cell[0], self._cell[1].strip()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def row(self, first_cell):
        matches = [r for r in self.rows if r and r[0][1] == first_cell]
        assert len(matches) >= 1, f"no table row starting with {first_cell!r}"
        return matches[0]


def test_weekly_full_calc_writes_the_report_with_sections_and_charts(week_db, tmp_path):
    settings = FundSettings(demo_funds=12, demo_history_days=70, report_dir=str(tmp_path / "reports"))
    summary = tasks.weekly_full_calc(week_db, settings, SUNDAY, runs=week_runs(), timezone="Asia/Shanghai")

    path = Path(summary["report"])
    assert path == tmp_path / "reports" / "weekly-2024-W23.html"
    assert summary["report_seconds"] >= 0
    json.dumps(summary)
    with week_db.connect() as conn:
        message = conn.execute(
            sa.select(data_update_log.c.message).order_by(data_update_log.c.id.desc())
        ).scalar()
    assert str(path) in message

    text = path.read_text(encoding="utf-8")
    page = Page(text)
    assert set(page.sections) >= SECTIONS
    assert "http://" not in text and "https://" not in text
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)

    assert len(page.images) == 2
    for img in page.images:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix)
        png = base64.b64decode(img["src"][len(prefix) :], validate=True)
        assert png.startswith(PNG_SIGNATURE) and len(png) > 1000

    # the grid: Wednesday's failed validation, Sunday (Shanghai) runs, nothing outside the week
    validation = page.row("daily_validation")
    wednesday = validation[3]
    assert wednesday == ("bad", "1 failed")
    assert [c for c, _ in validation[1:8]] == ["ok", "ok", "bad", "ok", "ok", "none", "none"]
    assert validation[8:] == [("n", "5"), ("n", "4"), ("n", "1"), ("n", "80.0 %")]
    assert page.row("weekly_full_calc")[7] == ("run", "1 running")
    assert page.row("weekly_pipeline")[7] == ("warn", "1 missed")
    collection = page.row("daily_collection")
    assert collection[8] == ("n", "5")  # the run of the Sunday before is not counted
    assert not [r for r in page.rows if r[0][1] == "late_job"]

    nav = page.row("fund_nav (nav_date)")
    assert [v for _, v in nav[1:]][::2] == ["2024-06-07", "2"] and nav[4] == ("n", "0")
    assert page.row("fund_metrics (calc_date)")[1][1] == "2024-06-07"
    assert "Funds by Sharpe ratio, within each fund type" in text
    for heading in ("bond (2 funds)", "hybrid (3 funds)", "money_market (1 fund)", "stock (6 funds)"):
        assert f"<h3>{heading}</h3>" in text


def test_rows_loaded_and_quarantined_match_the_log(week_db):
    data = report.weekly_report_data(week_db, SUNDAY, CALENDAR, runs=week_runs(), tz="Asia/Shanghai")
    with week_db.connect() as conn:
        logged = conn.execute(
            sa.select(
                sa.func.sum(data_update_log.c.rows_loaded), sa.func.sum(data_update_log.c.rows_rejected)
            ).where(data_update_log.c.step == "validate", data_update_log.c.as_of.between(MONDAY, SUNDAY))
        ).one()
    loads = data["loads"]
    assert [d["date"] for d in loads] == [(MONDAY + dt.timedelta(days=i)).isoformat() for i in range(7)]
    assert sum(d["loaded"] for d in loads) == logged[0] > 0
    assert sum(d["quarantined"] for d in loads) == logged[1] > 0  # the demo source's faults
    assert sum(r["rows"] for r in data["quarantine_rules"]) == logged[1]
    assert all(r["rule"] and r["example"] for r in data["quarantine_rules"])
    assert loads[5]["runs"] == loads[6]["runs"] == 0  # weekend
    sharpe = data["sharpe"]
    assert sharpe["calc_date"] == "2024-06-07" and sharpe["funds"] == 12
    assert [(g["label"], g["funds"]) for g in sharpe["types"]] == [
        ("bond", 2),
        ("hybrid", 3),
        ("money_market", 1),
        ("stock", 6),
    ]
    for group in sharpe["types"]:
        top = [f["sharpe_ratio"] for f in group["top"]]
        assert top == sorted(top, reverse=True) and group["bottom"] == []  # fewer than TOP_N funds
        assert all(f["fund_name"] for f in group["top"])
    json.dumps(data)


def test_a_run_falls_on_its_day_in_the_report_timezone(week_db):
    shanghai = report.weekly_report_data(week_db, SUNDAY, CALENDAR, runs=week_runs(), tz="Asia/Shanghai")
    utc = report.weekly_report_data(week_db, SUNDAY, CALENDAR, runs=week_runs())
    by_job = {j["job_id"]: j for j in shanghai["jobs"]}
    assert by_job["weekly_pipeline"]["days"][6]["counts"] == {"missed": 1}  # Sunday 02:00 Shanghai
    assert "late_job" not in by_job  # Monday 01:00 in Shanghai: next week
    by_job = {j["job_id"]: j for j in utc["jobs"]}
    assert by_job["weekly_pipeline"]["days"][5]["counts"] == {"missed": 1}  # Saturday 18:00 UTC
    assert by_job["late_job"]["days"][6]["status"] == "success"
    assert utc["timezone"] == "UTC" and shanghai["timezone"] == "Asia/Shanghai"


def test_values_from_the_database_are_escaped(week_db, tmp_path):
    with week_db.begin() as conn:
        now = dt.datetime(2024, 6, 8)
        conn.execute(
            sa.insert(fund_metrics).values(
                fund_code=HOSTILE,
                calc_date=dt.date(2024, 6, 7),
                window_days=70,
                n_obs=70,
                sharpe_ratio=99.0,
                updated_at=now,
            )
        )
        conn.execute(
            sa.insert(fund_info).values(
                fund_code=HOSTILE, fund_name='<img src=x onerror="alert(2)">', fund_type="a&b", updated_at=now
            )
        )
    runs = [*week_runs(), run(HOSTILE, now)]
    try:
        path = report.write_weekly_report(week_db, tmp_path, SUNDAY, CALENDAR, runs=runs, tz="Asia/Shanghai")
        text = path.read_text(encoding="utf-8")
    finally:
        with week_db.begin() as conn:
            conn.execute(sa.delete(fund_metrics).where(fund_metrics.c.fund_code == HOSTILE))
            conn.execute(sa.delete(fund_info).where(fund_info.c.fund_code == HOSTILE))
    assert "<script" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    page = Page(text)
    assert "script" not in page.tags
    assert page.row(HOSTILE)[3] == ("none", "–")  # the job's grid row: it ran on Saturday (index 6)
    funds = [r for r in page.rows if r[0][1] == HOSTILE and len(r) == 8]  # top of its type by Sharpe
    assert funds and funds[0][1:3] == [("", '<img src=x onerror="alert(2)">'), ("n", "99.000")]
    assert "<h3>a&amp;b (1 fund)</h3>" in text  # the fund type heads its ranking
    assert len(page.images) == 2  # the hostile job id is in the durations chart too


def test_report_of_an_empty_week(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    create_fund_tables(engine)
    text = report.write_weekly_report(engine, tmp_path / "out", SUNDAY, CALENDAR).read_text(encoding="utf-8")
    page = Page(text)
    assert set(page.sections) >= SECTIONS
    assert page.images == []
    assert text.count("no run history available") == 3  # summary, grid, durations
    for phrase in ("no rows loaded this week", "no row quarantined this week", "no fund metrics yet"):
        assert phrase in text
    assert page.row("fund_nav (nav_date)")[1] == ("", "never")

    # a run history, but nothing ran that week (the runs handed in are all outside it)
    outside = [run("daily_collection", dt.datetime(2024, 6, 2, 10)), run("x", dt.datetime(2024, 6, 10))]
    path = report.write_weekly_report(engine, tmp_path / "out", SUNDAY, CALENDAR, runs=outside)
    text = path.read_text(encoding="utf-8")
    assert "no job ran this week" in text and "no finished job run this week" in text
    assert "no run history available" not in text


def test_weekly_full_calc_on_an_empty_database_still_writes_a_report(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    create_fund_tables(engine)
    settings = FundSettings(report_dir=str(tmp_path / "r"))
    summary = tasks.weekly_full_calc(engine, settings, "2024-06-09")
    assert summary["calc_date"] is None
    assert summary["report"] == str(tmp_path / "r" / "weekly-2024-W23.html")
    assert Path(summary["report"]).is_file()


def test_the_report_is_replaced_atomically(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    first = report.write_weekly_report(engine, tmp_path, SUNDAY, CALENDAR, now=dt.datetime(2024, 6, 9, 1))
    second = report.write_weekly_report(engine, tmp_path, SUNDAY, CALENDAR, now=dt.datetime(2024, 6, 9, 2))
    assert first == second
    assert "2024-06-09 02:00:00 UTC" in second.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "weekly-2024-W23.html"]
    assert os.stat(second).st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_report_and_no_temp_file(tmp_path, monkeypatch):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    path = report.write_weekly_report(engine, tmp_path, SUNDAY, CALENDAR)
    before = path.read_bytes()

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(report.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        report.write_weekly_report(engine, tmp_path, SUNDAY, CALENDAR)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "weekly-2024-W23.html"]


@pytest.mark.parametrize(
    ("day", "name", "monday"),
    [
        (dt.date(2024, 6, 9), "weekly-2024-W23.html", dt.date(2024, 6, 3)),
        (dt.date(2024, 6, 3), "weekly-2024-W23.html", dt.date(2024, 6, 3)),
        (dt.date(2024, 12, 30), "weekly-2025-W01.html", dt.date(2024, 12, 30)),
        (dt.date(2021, 1, 3), "weekly-2020-W53.html", dt.date(2020, 12, 28)),
    ],
)
def test_report_name_is_the_iso_week(day, name, monday):
    assert report.report_name(day) == name
    assert report.week_bounds(day) == (monday, monday + dt.timedelta(days=6))


@pytest.mark.parametrize(
    ("tz", "start", "end"),
    [
        (None, dt.datetime(2024, 6, 3), dt.datetime(2024, 6, 10)),
        ("Asia/Shanghai", dt.datetime(2024, 6, 2, 16), dt.datetime(2024, 6, 9, 16)),
        (ZoneInfo("America/New_York"), dt.datetime(2024, 6, 3, 4), dt.datetime(2024, 6, 10, 4)),
    ],
)
def test_week_window_is_the_iso_week_in_the_zone_as_aware_utc(tz, start, end):
    for day in (MONDAY, dt.date(2024, 6, 6), SUNDAY):
        window = report.week_window(day, tz)
        assert window == (start.replace(tzinfo=dt.UTC), end.replace(tzinfo=dt.UTC))
        assert all(moment.utcoffset() == dt.timedelta(0) for moment in window)


def test_week_window_over_a_daylight_saving_change_is_167_hours():
    start, end = report.week_window(dt.date(2024, 3, 31), "Europe/Berlin")  # CET -> CEST that Sunday
    assert (start, end) == (
        dt.datetime(2024, 3, 24, 23, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 31, 22, tzinfo=dt.UTC),
    )
    assert end - start == dt.timedelta(hours=167)


def test_runs_handed_in_as_aware_times_and_run_statuses(tmp_path):
    """started_at naive (UTC) or aware in any zone; status a RunStatus or its value; the colours,
    the worst of a day, which runs have a duration and the success rate are fund_common's."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    shanghai = ZoneInfo("Asia/Shanghai")
    runs = [
        # Monday 00:30 in Shanghai, given as Sunday 16:30 UTC (aware) and as Shanghai time
        run("a", dt.datetime(2024, 6, 2, 16, 30, tzinfo=dt.UTC), RunStatus.SUCCESS, 3.0),
        run("a", dt.datetime(2024, 6, 3, 0, 40, tzinfo=shanghai), "skipped", 7.0),  # no duration
        run("b", dt.datetime(2024, 6, 4, 3), RunStatus.INTERRUPTED, 5.0),  # naive: UTC
        run("b", dt.datetime(2024, 6, 4, 4), RunStatus.MISSED, 0.0),
        run("c", dt.datetime(2024, 6, 5, 3), "no-such-status", 1.0),
        run("d", dt.datetime(2024, 6, 2, 15, 59, tzinfo=dt.UTC)),  # Sunday before, in Shanghai
    ]
    data = report.weekly_report_data(engine, SUNDAY, CALENDAR, runs=runs, tz=shanghai)
    jobs = {j["job_id"]: j for j in data["jobs"]}
    assert sorted(jobs) == ["a", "b", "c"]
    assert jobs["a"]["days"][0] == {"counts": {"success": 1, "skipped": 1}, "status": "skipped"}
    assert jobs["a"]["durations"] == [["2024-06-03T00:30:00", 3.0]]
    assert jobs["b"]["days"][1] == {"counts": {"interrupted": 1, "missed": 1}, "status": "interrupted"}
    assert jobs["b"]["durations"] == [["2024-06-04T11:00:00", 5.0]]
    assert jobs["c"]["days"][2]["status"] == "failed"  # an unknown status counts as the worst
    totals = data["totals"]
    assert (totals["runs"], totals["success"], totals["failed"], totals["success_rate"]) == (5, 1, 4, 0.2)
    assert list(totals["by_status"]) == ["success", "interrupted", "missed", "skipped", "no-such-status"]
    json.dumps(data)

    page = Page(report.render_html(data, {}))
    assert [c for c, _ in page.row("a")[1:3]] == ["warn", "none"]
    assert page.row("b")[2] == ("bad", "1 interrupted, 1 missed")
    assert page.row("c")[3] == ("bad", "1 no-such-status")
    assert page.row("a")[8:] == [("n", "2"), ("n", "1"), ("n", "1"), ("n", "50.0 %")]


def test_no_runs_and_an_empty_run_history_differ(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    none = report.weekly_report_data(engine, SUNDAY, CALENDAR)
    empty = report.weekly_report_data(engine, SUNDAY, CALENDAR, runs=[])
    assert (none["history_available"], empty["history_available"]) == (False, True)
    assert none["jobs"] == empty["jobs"] == [] and none["totals"] == empty["totals"]
    assert "no job ran this week" in report.render_html(empty, {})
    assert "no job ran this week" not in report.render_html(none, {})


def test_the_template_escapes_everything_and_refuses_a_missing_value(tmp_path):
    template = (PROJECT_DIR / "fundpipe" / "report" / "templates" / "weekly.html.j2").read_text()
    compact = template.replace(" ", "")
    assert "|safe" not in compact and "{%autoescape" not in compact  # no way around the escaping
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    data = report.weekly_report_data(engine, SUNDAY, CALENDAR)
    page = report.render_html({**data, "title": "<b>&"}, {})
    assert "<title>Fund pipeline weekly report &lt;b&gt;&amp;</title>" in page
    with pytest.raises(jinja2.UndefinedError, match="title"):
        report.render_html({k: v for k, v in data.items() if k != "title"}, {})


def test_fund_report_dir_setting():
    assert FundSettings().report_dir == str(PROJECT_DIR / "reports")
    assert FundSettings.from_env({}).report_dir == str(PROJECT_DIR / "reports")
    assert FundSettings.from_env({"SCHEDULER_HOME": "/srv/fs"}).report_dir == "/srv/fs/reports"
    env = {"SCHEDULER_HOME": "/srv/fs", "FUND_REPORT_DIR": "weekly"}
    assert FundSettings.from_env(env).report_dir == "/srv/fs/weekly"
    env["FUND_REPORT_DIR"] = " /var/reports "
    assert FundSettings.from_env(env).report_dir == "/var/reports"


def test_importing_report_and_monitor_loads_no_matplotlib_nor_pandas():
    code = (
        "import sys, fundpipe.report, fundpipe.monitor, fundpipe.settings; "
        "print(sorted(m for m in ('matplotlib', 'pandas', 'scheduler', 'jobs') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_DIR
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.mariadb
def test_weekly_report_on_mariadb(mariadb_db_url, tmp_path):
    engine = sa.create_engine(mariadb_db_url, pool_pre_ping=True)
    create_fund_tables(engine)
    try:
        settings = FundSettings(demo_funds=12, demo_history_days=70, report_dir=str(tmp_path))
        for day in WEEKDAYS[:2]:
            tasks.collect(engine, settings, day)
            tasks.validate(engine, settings, day)
            tasks.compute_metrics(engine, settings, day)
        summary = tasks.weekly_full_calc(engine, settings, SUNDAY, runs=week_runs(), timezone="Asia/Shanghai")
        data = report.weekly_report_data(engine, SUNDAY, CALENDAR, runs=week_runs(), tz="Asia/Shanghai")
    finally:
        engine.dispose()
    page = Page(Path(summary["report"]).read_text(encoding="utf-8"))
    assert set(page.sections) >= SECTIONS and len(page.images) == 2
    assert page.row("daily_validation")[3] == ("bad", "1 failed")
    assert (
        sum(r["rows"] for r in data["quarantine_rules"]) == sum(d["quarantined"] for d in data["loads"]) > 0
    )
    assert data["sharpe"]["calc_date"] == "2024-06-04" and data["sharpe"]["funds"] == 12
    assert sum(len(g["top"]) for g in data["sharpe"]["types"]) == 12


def test_a_coalesced_fire_time_is_no_run_in_the_weekly_counts() -> None:
    from fundpipe.report.data import count_summary

    summary = count_summary({"success": 3, "coalesced": 4, "failed": 1})
    assert (summary["runs"], summary["success"], summary["failed"]) == (4, 3, 1)
    assert summary["success_rate"] == 0.75
    assert summary["by_status"] == {"success": 3, "failed": 1, "coalesced": 4}


def test_the_reports_of_the_national_day_weeks_count_sessions_and_name_the_closed_days(tmp_path, xshg):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    create_fund_tables(engine)
    national_day = {"name": "National Day"}
    first = report.weekly_report_data(engine, dt.date(2026, 10, 4), xshg)["calendar"]
    assert first == {
        "name": "XSHG",
        "source": xshg.source,
        "sessions": 3,
        "closed": [{"date": "2026-10-01", **national_day}, {"date": "2026-10-02", **national_day}],
    }
    second = report.weekly_report_data(engine, dt.date(2026, 10, 11), xshg)["calendar"]
    assert (second["sessions"], [c["date"] for c in second["closed"]]) == (
        2,
        ["2026-10-05", "2026-10-06", "2026-10-07"],
    )
    usual = report.weekly_report_data(engine, dt.date(2026, 10, 18), xshg)["calendar"]
    assert (usual["sessions"], usual["closed"]) == (5, [])

    text = report.write_weekly_report(engine, tmp_path, dt.date(2026, 10, 4), xshg).read_text(
        encoding="utf-8"
    )
    assert "Trading calendar XSHG" in text and "3 sessions this week" in text
    assert "<td>Thu 2026-10-01</td><td>National Day</td>" in text
    quiet = report.write_weekly_report(engine, tmp_path, dt.date(2026, 10, 18), xshg).read_text(
        encoding="utf-8"
    )
    assert "no weekday closed this week" in quiet
    engine.dispose()
