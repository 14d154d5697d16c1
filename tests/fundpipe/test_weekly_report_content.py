"""The weekly report's content (issue 14): Sharpe rankings within each fund type, runs on their
local day in the durations chart, the generating run left out of its own counts, per-session
NAV coverage and the funds without a NAV, the week's NAV corrections, CJK fonts."""

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from fund_common.calendars import SessionCalendar, weekdays_only
from fundpipe import report, tasks
from fundpipe.report import charts
from fundpipe.report.data import LIST_CAP, TOP_N, UNKNOWN_TYPE
from fundpipe.schema import fund_info, fund_metrics, fund_nav, fund_nav_corrections
from fundpipe.settings import PROJECT_DIR, FundSettings
from tests.support.schema import create_fund_tables

MONDAY = dt.date(2024, 6, 3)
WEDNESDAY = dt.date(2024, 6, 5)
FRIDAY = dt.date(2024, 6, 7)
SUNDAY = dt.date(2024, 6, 9)
CALENDAR = weekdays_only("WEEKDAYS")
STAMP = dt.datetime(2024, 6, 8)


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    create_fund_tables(engine)
    yield engine
    engine.dispose()


def add_funds(engine, funds):
    """``funds``: (code, type or None, active)."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(fund_info),
            [
                {
                    "fund_code": c,
                    "fund_name": f"name {c}",
                    "fund_type": t,
                    "is_active": a,
                    "updated_at": STAMP,
                }
                for c, t, a in funds
            ],
        )


def add_navs(engine, codes, day):
    with engine.begin() as conn:
        conn.execute(
            sa.insert(fund_nav),
            [{"fund_code": c, "nav_date": day, "unit_nav": 1.0, "updated_at": STAMP} for c in codes],
        )


def run(job_id, started_at, status="success", duration=2.0, id=None):
    return {"id": id, "job_id": job_id, "status": status, "started_at": started_at, "duration": duration}


# 1. rankings within each fund type


def test_funds_are_ranked_against_their_own_type_with_an_unknown_type_group(engine):
    money = [(f"MM{i:02d}", "money_market", True) for i in range(15)]
    stock = [(f"ST{i:02d}", "stock", True) for i in range(25)]
    add_funds(engine, [*money, *stock, ("BLANK", "", True)])  # an empty type is no type
    sharpe = {c: 11.0 + i * 0.5 for i, (c, _, _) in enumerate(money)}  # money market: 11 to 18
    sharpe |= {c: 2.0 - i * 0.2 for i, (c, _, _) in enumerate(stock)}
    sharpe |= {"BLANK": 0.5, "NOINFO": 30.0}  # NOINFO has no fund_info row
    with engine.begin() as conn:
        conn.execute(
            sa.insert(fund_metrics),
            [
                {
                    "fund_code": c,
                    "calc_date": FRIDAY,
                    "window_days": 756,
                    "n_obs": 500,
                    "sharpe_ratio": s,
                    "updated_at": STAMP,
                }
                for c, s in sharpe.items()
            ],
        )
    data = report.weekly_report_data(engine, SUNDAY, CALENDAR)
    json.dumps(data)
    ranking = data["sharpe"]
    assert ranking["funds"] == 42 and ranking["calc_date"] == "2024-06-07"
    groups = {g["label"]: g for g in ranking["types"]}
    assert [g["label"] for g in ranking["types"]] == ["money_market", "stock", UNKNOWN_TYPE]
    stock_group = groups["stock"]
    assert stock_group["funds"] == 25 and stock_group["fund_type"] == "stock"
    assert [f["fund_code"] for f in stock_group["top"]] == [f"ST{i:02d}" for i in range(TOP_N)]
    assert [f["fund_code"] for f in stock_group["bottom"]] == [f"ST{i:02d}" for i in range(24, 14, -1)]
    mm = groups["money_market"]
    assert len(mm["top"]) == TOP_N and [f["fund_code"] for f in mm["bottom"]] == [
        "MM00",
        "MM01",
        "MM02",
        "MM03",
        "MM04",
    ]  # the 5 not in the top: a fund is never at both ends
    unknown = groups[UNKNOWN_TYPE]
    assert unknown["fund_type"] is None
    assert [f["fund_code"] for f in unknown["top"]] == ["NOINFO", "BLANK"]

    text = report.render_html(data, {})
    assert "<h3>money_market (15 funds)</h3>" in text and "<h3>stock (25 funds)</h3>" in text
    assert f"<h3>{UNKNOWN_TYPE} (2 funds)</h3>" in text
    ranking_at = text.index('<section id="sharpe">')
    stock_at = text.index("<h3>stock")
    assert ranking_at < stock_at < text.index("<td>ST00</td>", stock_at) < text.index(f"<h3>{UNKNOWN_TYPE}")
    assert text.index("<td>MM14</td>", ranking_at) < stock_at  # money market only in its group


# 2. days by the local date of the run


def test_a_wednesday_night_run_is_plotted_and_labelled_on_wednesday(engine):
    from matplotlib.dates import date2num

    late = dt.datetime(2024, 6, 5, 15, 30, tzinfo=dt.UTC)  # Wednesday 23:30 in Shanghai
    data = report.weekly_report_data(
        engine, SUNDAY, CALENDAR, runs=[run("nightly", late)], tz="Asia/Shanghai"
    )
    [job] = data["jobs"]
    assert job["durations"] == [["2024-06-05T23:30:00", 2.0]]
    assert job["days"][2]["counts"] == {"success": 1}  # the grid's Wednesday

    start = dt.datetime.fromisoformat(data["week_start"])
    points = [(dt.datetime.fromisoformat(w), s) for w, s in job["durations"]]
    fig = charts.job_durations_figure({"nightly": points}, start, start + dt.timedelta(days=7))
    ax = fig.axes[0]
    [x] = ax.lines[0].get_xdata(orig=False)
    assert x == pytest.approx(date2num(dt.datetime(2024, 6, 5, 23, 30)))
    boundaries = list(ax.get_xticks(minor=True))
    labels = {float(t): lab.get_text() for t, lab in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)}
    assert len(labels) == 7 and all(not lab.startswith("Mon\n06-10") for lab in labels.values())
    day = max(b for b in boundaries if b <= x)  # the span holding the run
    [label] = [text for pos, text in labels.items() if day < pos < day + 1]
    assert label == "Wed\n06-05"
    nearest = min(labels, key=lambda pos: abs(pos - x))
    assert labels[nearest] == "Wed\n06-05"  # was Thursday's label, at Thursday's midnight


def test_day_axis_puts_each_label_in_the_middle_of_its_day():
    start = dt.datetime(2024, 6, 3)
    boundaries, centres, labels = charts.day_axis(start, start + dt.timedelta(days=7))
    assert len(boundaries) == 8 and len(centres) == len(labels) == 7
    assert [c - b for b, c in zip(boundaries, centres, strict=False)] == [0.5] * 7
    assert labels[0] == "Mon\n06-03" and labels[2] == "Wed\n06-05" and labels[-1] == "Sun\n06-09"


# 3. the generating run left out of its own counts


def test_the_run_writing_the_report_is_not_counted(engine, tmp_path):
    saturday = dt.datetime(2024, 6, 8, 18, 0, tzinfo=dt.UTC)
    runs = [
        run("daily_collection", dt.datetime(2024, 6, 3, 11, tzinfo=dt.UTC), id=1),
        run("weekly_full_calc", saturday - dt.timedelta(days=7, hours=-1), id=2),  # last week: not shown
        run("weekly_full_calc", saturday, "running", None, id=3),  # this run
        run("other", saturday, "running", None),  # no id: kept
    ]
    data = report.weekly_report_data(
        engine, SUNDAY, CALENDAR, runs=runs, tz="Asia/Shanghai", exclude_execution_id=3
    )
    assert [j["job_id"] for j in data["jobs"]] == ["daily_collection", "other"]
    assert data["totals"]["running"] == 1

    settings = FundSettings(report_dir=str(tmp_path / "reports"))
    summary = tasks.weekly_full_calc(
        engine, settings, SUNDAY, runs=runs, timezone="Asia/Shanghai", calendar=CALENDAR, execution_id=3
    )
    text = Path(summary["report"]).read_text(encoding="utf-8")
    assert '<td class="job">weekly_full_calc</td>' not in text
    assert '<td class="job">daily_collection</td>' in text
    without = tasks.weekly_full_calc(
        engine, settings, SUNDAY, runs=runs, timezone="Asia/Shanghai", calendar=CALENDAR
    )
    assert '<td class="job">weekly_full_calc</td>' in Path(without["report"]).read_text(encoding="utf-8")


def test_the_weekly_job_hands_its_own_execution_id_to_the_report(monkeypatch):
    import types
    from zoneinfo import ZoneInfo

    from fund_scheduler.store import history
    from jobs import weekly_full_calc as job

    seen = {}
    monkeypatch.setattr(history, "runs_between", lambda engine, start, end: ["the runs"])
    monkeypatch.setattr(tasks, "weekly_full_calc", lambda *args, **kwargs: seen.update(kwargs) or {})
    ctx = types.SimpleNamespace(
        engine=None, environ={}, run_date=SUNDAY, timezone=ZoneInfo("Asia/Shanghai"), execution_id=42
    )
    function = getattr(job.weekly_full_calc, "__wrapped__", job.weekly_full_calc)
    function(ctx)
    assert seen["execution_id"] == 42 and seen["runs"] == ["the runs"]


# 4. per-session coverage and the funds without a NAV


def test_coverage_per_session_and_the_funds_without_a_nav(engine):
    holiday = SessionCalendar(
        "TEST", dt.date(2024, 1, 1), dt.date(2024, 12, 31), closed={WEDNESDAY: "Dragon Boat"}, source="test"
    )
    codes = [f"F{i:03d}" for i in range(LIST_CAP + 5)]
    add_funds(engine, [(c, "stock", True) for c in codes] + [("GONE", "stock", False)])
    add_navs(engine, [*codes, "GONE"], MONDAY)
    add_navs(engine, codes[:20], dt.date(2024, 6, 4))
    add_navs(engine, codes[:10], WEDNESDAY)  # a closed day: not a session, not shown
    add_navs(engine, codes[:5], dt.date(2024, 6, 6))
    add_navs(engine, ["F000", "F001", "UNLISTED"], FRIDAY)  # UNLISTED is not in fund_info
    coverage = report.weekly_report_data(engine, SUNDAY, holiday)["coverage"]
    json.dumps(coverage)
    assert coverage["basis"] == "fund_info" and coverage["expected"] == 25
    assert [(d["date"], d["with_nav"]) for d in coverage["sessions"]] == [
        ("2024-06-03", 25),
        ("2024-06-04", 20),
        ("2024-06-06", 5),
        ("2024-06-07", 2),
    ]
    assert coverage["sessions"][1]["share"] == pytest.approx(0.8)
    assert coverage["last_session"] == "2024-06-07"
    assert [f["fund_code"] for f in coverage["missing"]] == codes[2 : 2 + LIST_CAP]
    assert coverage["missing"][0]["fund_name"] == "name F002"
    assert coverage["missing_more"] == 3

    text = report.render_html(report.weekly_report_data(engine, SUNDAY, holiday), {})
    section = text[text.index('<section id="coverage">') : text.index('<section id="corrections">')]
    assert '<td>Thu 2024-06-06</td><td class="n">5</td><td class="n">20.0 %</td>' in section
    assert "Wed 2024-06-05" not in section  # a closed day is no session
    assert "Funds without a NAV on 2024-06-07" in text and "and 3 more" in text


def test_without_fund_info_the_expected_funds_are_those_with_a_nav(engine):
    add_navs(engine, ["A", "B", "C"], dt.date(2024, 5, 31))  # the session before the week
    add_navs(engine, ["A", "B"], MONDAY)
    add_navs(engine, ["A", "D"], FRIDAY)
    coverage = report.weekly_report_data(engine, FRIDAY, CALENDAR)["coverage"]
    assert coverage["basis"] == "nav" and coverage["expected"] == 4
    assert [d["with_nav"] for d in coverage["sessions"]] == [2, 0, 0, 0, 2]
    assert coverage["missing"] == [
        {"fund_code": "B", "fund_name": None},
        {"fund_code": "C", "fund_name": None},
    ]
    assert "funds with a NAV this week or on the session before" in report.render_html(
        report.weekly_report_data(engine, FRIDAY, CALENDAR), {}
    )


# 5. the week's NAV corrections


def test_the_weeks_nav_corrections_with_old_and_new_values(engine):
    def correction(code, at, old, new):
        return {
            "fund_code": code,
            "nav_date": dt.date(2024, 6, 3),
            "old_unit_nav": old,
            "new_unit_nav": new,
            "old_accum_nav": old,
            "new_accum_nav": new,
            "batch_id": "b2",
            "old_batch_id": "b1",
            "corrected_at": at,
        }

    inside = [
        correction(f"C{i:02d}", dt.datetime(2024, 6, 4, 12, i), 1.0, 1.0 + i / 1000)
        for i in range(LIST_CAP + 2)
    ]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(fund_nav_corrections),
            [
                correction("BEFORE", dt.datetime(2024, 6, 2, 15, 59), 1.0, 2.0),  # Sun 23:59 Shanghai
                correction("LATE", dt.datetime(2024, 6, 9, 15, 30), 1.2345, 1.2346),  # Sun 23:30 Shanghai
                *inside,
            ],
        )
    corrections = report.weekly_report_data(engine, SUNDAY, CALENDAR, tz="Asia/Shanghai")["corrections"]
    json.dumps(corrections)
    assert corrections["count"] == LIST_CAP + 3
    codes = [r["fund_code"] for r in corrections["rows"]]
    assert len(codes) == LIST_CAP and "BEFORE" not in codes and codes[0] == "C00"
    first = corrections["rows"][1]
    assert (first["nav_date"], first["old_unit_nav"], first["new_unit_nav"]) == ("2024-06-03", 1.0, 1.001)
    assert first["corrected_at"] == "2024-06-04T20:01:00" and first["batch_id"] == "b2"

    text = report.render_html(report.weekly_report_data(engine, SUNDAY, CALENDAR, tz="Asia/Shanghai"), {})
    assert f"{LIST_CAP + 3} stored NAVs changed by a later delivery this week; the first {LIST_CAP}" in text
    assert '<td>C01</td><td>2024-06-03</td><td class="n">1.0000</td><td class="n">1.0010</td>' in text


def test_no_correction_says_so(engine):
    text = report.render_html(report.weekly_report_data(engine, SUNDAY, CALENDAR), {})
    assert "no NAV corrected this week" in text and "no session this week" not in text


# 6. CJK fonts


def test_the_page_css_falls_back_to_cjk_fonts():
    template = (PROJECT_DIR / "fundpipe" / "report" / "templates" / "weekly.html.j2").read_text()
    body = template[template.index("body{font:") : template.index(";color:", template.index("body{font:"))]
    families = [name.strip().strip('"') for name in body.split(",")]
    assert families[-1] == "sans-serif"
    cjk = [name for name in families if name in charts.CJK_FONTS]
    assert cjk == list(charts.CJK_FONTS)  # the charts try the same families, in the same order
    assert families.index("Roboto") < families.index(cjk[0])  # Latin text keeps its font


def test_charts_name_only_installed_cjk_fonts_and_log_no_font_warning(monkeypatch, caplog):
    from matplotlib import font_manager

    charts.font_families.cache_clear()
    installed = {f.name for f in font_manager.fontManager.ttflist}
    expected = tuple(name for name in charts.CJK_FONTS if name in installed)
    assert charts.font_families() == (*expected, "sans-serif")
    start = dt.datetime(2024, 6, 3)
    with caplog.at_level(logging.DEBUG, logger="matplotlib.font_manager"):
        png = charts.job_durations_chart({"daily": [(start, 1.0)]}, start, start + dt.timedelta(days=7))
        charts.daily_rows_chart([MONDAY], [3], [1])
    assert png.startswith(b"\x89PNG")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    fake = font_manager.FontEntry(fname="/nonexistent.otf", name="WenQuanYi Micro Hei")
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [*font_manager.fontManager.ttflist, fake])
    charts.font_families.cache_clear()
    try:
        assert charts.font_families()[0] == "WenQuanYi Micro Hei"
        assert charts.font_families()[-1] == "sans-serif"
    finally:
        charts.font_families.cache_clear()
