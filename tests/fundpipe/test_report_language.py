"""The fund pipeline's shown text in the reader's language (issue 14): the weekly report (page,
charts), the fund data panel and the data-freshness checks' summaries, in English and 简体中文.

The language is a context (``i18n.use``); the Chinese expected here is the catalogue's text."""

import datetime as dt
import re
import warnings
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from fund_common import i18n
from fund_common.calendars import SessionCalendar
from fundpipe import monitor, report
from fundpipe.report import charts
from fundpipe.schema import fund_info, fund_metrics, fund_nav
from fundpipe.sla import sla_check
from tests.support.schema import create_fund_tables

MONDAY = dt.date(2024, 6, 3)
SUNDAY = dt.date(2024, 6, 9)
FRIDAY = dt.date(2024, 6, 7)
STAMP = dt.datetime(2024, 6, 8)
#: Wednesday closed for a holiday the calendars name in English.
CALENDAR = SessionCalendar(
    "XSHG",
    dt.date(2024, 1, 1),
    dt.date(2024, 12, 31),
    closed={dt.date(2024, 6, 5): "Dragon Boat Festival"},
)
#: Chinese text in the charts on a machine without a CJK font (see the glyph test below).
NO_CJK_FONT_WARNINGS = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
FUNDS = {"000001": "华夏成长混合", "110022": "易方达消费行业股票", "161725": "招商中证白酒指数(LOF)A"}


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    create_fund_tables(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(fund_info),
            [
                {
                    "fund_code": c,
                    "fund_name": n,
                    "fund_type": "混合型",
                    "is_active": True,
                    "updated_at": STAMP,
                }
                for c, n in FUNDS.items()
            ],
        )
        conn.execute(
            sa.insert(fund_nav),
            [
                {"fund_code": c, "nav_date": FRIDAY, "unit_nav": 1.0, "updated_at": STAMP}
                for c in list(FUNDS)[:2]
            ],
        )
        conn.execute(
            sa.insert(fund_metrics),
            [
                {
                    "fund_code": c,
                    "calc_date": FRIDAY,
                    "window_days": 756,
                    "n_obs": 500,
                    "sharpe_ratio": 1.0 + i,
                    "updated_at": STAMP,
                }
                for i, c in enumerate(FUNDS)
            ],
        )
    yield engine
    engine.dispose()


RUNS = [
    {
        "job_id": "daily_collection",
        "status": "success",
        "started_at": dt.datetime(2024, 6, 3, 11),
        "duration": 2.0,
    },
    {
        "job_id": "daily_collection",
        "status": "failed",
        "started_at": dt.datetime(2024, 6, 4, 11),
        "duration": 1.0,
    },
]


class Headings(HTMLParser):
    """The page's headings and table headers (h1-h4, th), as text; and ``<html lang>``."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.lang, self.texts, self._open = None, [], None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        elif tag in ("h1", "h2", "h3", "h4", "th", "title"):
            self._open = [tag, ""]

    def handle_endtag(self, tag):
        if self._open and tag == self._open[0]:
            self.texts.append(self._open[1].strip())
            self._open = None

    def handle_data(self, data):
        if self._open:
            self._open[1] += data


def write(engine, tmp_path, language):
    with i18n.use(language):
        path = report.write_weekly_report(engine, tmp_path / language, SUNDAY, CALENDAR, runs=RUNS, tz="UTC")
    return path.read_text(encoding="utf-8")


@NO_CJK_FONT_WARNINGS
def test_the_report_in_chinese(engine, tmp_path):
    text = write(engine, tmp_path, "zh_CN")
    page = Headings(text)
    assert page.lang == "zh-CN"
    for heading in (
        "<h1>基金数据管道周报 2024-W23</h1>",
        "<h2>摘要</h2>",
        "<h2>交易日历 XSHG</h2>",
        "<h2>每日任务运行</h2>",
        "<h2>数据时效</h2>",
        "<h2>加载与隔离行数</h2>",
        "<h2>任务耗时</h2>",
        "<h2>各交易日净值覆盖率</h2>",
        "<h2>净值更正</h2>",
        "<h2>各基金类型内的夏普比率排名</h2>",
        "<h3>混合型（3 只基金）</h3>",
        "<h3>2024-06-07 没有净值的基金</h3>",
    ):
        assert heading in text, heading
    for name in FUNDS.values():  # the funds' own names, escaped only where HTML needs it
        assert f"<td>{name}</td>" in text, name
    assert "<p>本周 4 个交易日。</p>" in text
    assert "<td>周三 2024-06-05</td><td>端午节</td>" in text  # the closed day and its holiday
    assert '<td class="bad" title="失败 1">失败 1</td>' in text and ">成功 1</td>" in text
    assert "本周合计：2 次运行，成功率 50.0 %（成功 1，失败 1）。" in text
    assert "<th>周一<br>06-03</th>" in text
    # no heading or table header left in English: what is left of the Latin script is codes and data
    words = {w for t in page.texts for w in re.findall(r"[A-Za-z][A-Za-z_()]*", t)}
    assert words <= {"XSHG", "W", "as_of"}, words
    english = set(Headings(write(engine, tmp_path, "en")).texts)
    assert not english & set(page.texts) - {""}


def test_the_report_in_english(engine, tmp_path):
    text = write(engine, tmp_path, "en")
    assert Headings(text).lang == "en"
    for heading in (
        "<h1>Fund pipeline weekly report 2024-W23</h1>",
        "<h2>Summary</h2>",
        "<h2>Job runs per day</h2>",
        "<h2>Funds by Sharpe ratio, within each fund type</h2>",
        "<h3>混合型 (3 funds)</h3>",
    ):
        assert heading in text, heading
    for name in FUNDS.values():
        assert f"<td>{name}</td>" in text, name
    assert "<p>4 sessions this week.</p>" in text
    assert "<td>Wed 2024-06-05</td><td>Dragon Boat Festival</td>" in text
    assert '<td class="bad" title="1 failed">1 failed</td>' in text and ">1 ok</td>" in text
    assert "Week total: 2 runs, 50.0 % success (success 1, failed 1)." in text
    for data in (*FUNDS.values(), "混合型"):
        text = text.replace(data, "")
    assert not re.search(r"[\u4e00-\u9fff]", text)  # no Chinese but the data's


@NO_CJK_FONT_WARNINGS
def test_the_language_comes_from_scheduler_lang(engine, tmp_path, monkeypatch):
    """The job's child process has no context set: the report speaks SCHEDULER_LANG."""
    monkeypatch.setenv("SCHEDULER_LANG", "zh_CN")
    path = report.write_weekly_report(engine, tmp_path, SUNDAY, CALENDAR, runs=RUNS)
    assert '<html lang="zh-CN">' in path.read_text(encoding="utf-8")


def chart_texts(fig):
    ax = fig.axes[0]
    return {
        "title": ax.get_title(),
        "ylabel": ax.get_ylabel(),
        "ticks": [t.get_text() for t in ax.get_xticklabels()],
        "legend": [t.get_text() for t in ax.get_legend().get_texts()],
    }


def test_the_charts_labels_are_in_the_language_in_effect():
    start = dt.datetime(2024, 6, 3)
    with i18n.use("zh_CN"):
        rows = chart_texts(charts.daily_rows_figure([MONDAY], [3], [1]))
        durations = chart_texts(
            charts.job_durations_figure({"daily": [(start, 1.0)]}, start, start + dt.timedelta(7))
        )
    assert rows == {
        "title": "每日加载行数（校验运行）",
        "ylabel": "行数",
        "ticks": ["周一\n06-03"],
        "legend": ["已加载", "已隔离"],
    }
    assert (durations["title"], durations["ylabel"], durations["ticks"][:2]) == (
        "任务耗时",
        "秒",
        ["周一\n06-03", "周二\n06-04"],
    )
    with i18n.use("en"):
        rows = chart_texts(charts.daily_rows_figure([MONDAY], [3], [1]))
    assert rows == {
        "title": "Rows loaded per day (validation runs)",
        "ylabel": "rows",
        "ticks": ["Mon\n06-03"],
        "legend": ["loaded", "quarantined"],
    }


def test_chinese_chart_labels_are_drawn_without_missing_glyphs():
    """With a CJK font installed (README: e.g. fonts-noto-cjk) no glyph is missing; without one
    matplotlib draws boxes and warns, which this machine cannot show otherwise."""
    charts.font_families.cache_clear()
    if charts.font_families()[0] == "sans-serif":
        pytest.skip("no CJK font installed (Noto Sans CJK SC, WenQuanYi Micro Hei, ...)")
    start = dt.datetime(2024, 6, 3)
    with i18n.use("zh_CN"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts.daily_rows_chart([MONDAY, MONDAY + dt.timedelta(1)], [3, 4], [1, 0])
        charts.job_durations_chart({"日常采集": [(start, 1.0)]}, start, start + dt.timedelta(7))
    assert not [w for w in caught if "missing from font" in str(w.message)]


def test_the_fund_data_panel_in_both_languages(engine):
    from jobs.fund_monitor import fund_data_panel

    environ = {"FUND_CALENDAR": "XSHG"}
    with i18n.use("zh_CN"):
        zh = fund_data_panel(engine, environ)
        text = monitor.render_text(monitor.panel(engine, today=dt.date(2024, 6, 10), calendar=CALENDAR))
    with i18n.use("en"):
        en = fund_data_panel(engine, environ)
        english = monitor.render_text(monitor.panel(engine, today=dt.date(2024, 6, 10), calendar=CALENDAR))
    assert (zh["title"], en["title"]) == ("基金数据", "fund data")
    table = zh["tables"][0]
    assert table["title"] == "数据时效（按 XSHG 交易日计）" and table["columns"] == [
        "表",
        "最新日期",
        "落后",
        "状态",
    ]
    assert en["tables"][0]["columns"] == ["table", "latest", "behind", "status"]
    assert [row[3] for row in table["rows"]] == [
        {"text": "过期", "tone": "warn"}
    ] * 2  # 2024's data, seen now
    assert [row[3]["text"] for row in en["tables"][0]["rows"]] == ["stale", "stale"]
    assert "fund_nav_staging：0 行待校验" in zh["notes"]
    assert "fund_nav_staging: 0 row(s) waiting for validation" in en["notes"]
    assert zh["data"]["freshness"]["fund_nav"]["status"] == "stale"  # the data stays codes and numbers
    assert "数据时效（今天 2024-06-10；按 XSHG 交易日计）" in text and "近 24 小时的更新" in text
    assert "3 天（1 个交易日）" in text  # Friday's NAVs seen on Monday: one session behind
    assert "Data freshness (today 2024-06-10; sessions of XSHG)" in english and "3 d (1 sessions)" in english


def test_the_freshness_checks_summaries_in_both_languages(engine):
    now = dt.datetime(2024, 6, 7, 21, tzinfo=dt.UTC)
    args = {"now": now, "deadline": dt.time(20), "min_coverage": 0.95, "calendar": CALENDAR}
    with i18n.use("zh_CN"):
        zh = sla_check(engine, "fund_nav", **args)
        empty = sla_check(engine, "fund_metrics", **{**args, "now": dt.datetime(2024, 6, 1, tzinfo=dt.UTC)})
    with i18n.use("en"):
        en = sla_check(engine, "fund_nav", **args)
    assert zh["ok"] is en["ok"] is False and zh["details"] == en["details"]
    assert (
        zh["summary"]
        == "fund_nav 有 2024-06-07 的数据，覆盖 2/3 只有效基金（67 %），应在 20:00 前覆盖至少 95 %"
    )
    assert (
        en["summary"]
        == "fund_nav has 2024-06-07 for 2/3 active funds (67 %), expected at least 95 % by 20:00"
    )
    assert empty["summary"] == "fund_metrics 在 2024-06-01 及之前没有数据，应在 20:00 前有 2024-05-31 的数据"
