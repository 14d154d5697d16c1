"""``GET /api/panels`` and ``GET /api/panels/<name>`` (Flask test client) over the real Operations of
a composed daemon with the bundled jobs on a temporary SQLite: the index of the views, a fund
and the data quality answered from fund rows, 400 naming a bad input, 404 an unknown view,
the views kept out of ``/health``, and the answers in the reader's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from fund_common.clock import utcnow_naive
from fund_scheduler.api.app import create_app
from fundpipe.schema import fund_info, fund_metrics, fund_nav, fund_nav_quarantine
from tests.support.inprocess import InProcessDaemon

CODE = "000001"
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory) -> Iterator[InProcessDaemon]:
    home = tmp_path_factory.mktemp("views-home")
    with InProcessDaemon(home) as d:
        now = utcnow_naive()
        days = [TODAY - dt.timedelta(days=i) for i in range(40, 0, -1)]
        with d.daemon.engine.begin() as conn:
            conn.execute(
                sa.insert(fund_info),
                [{"fund_code": CODE, "fund_name": "演示基金", "fund_type": "stock", "updated_at": now}],
            )
            conn.execute(
                sa.insert(fund_nav),
                [
                    {
                        "fund_code": CODE,
                        "nav_date": day,
                        "unit_nav": 1 + i / 100,
                        "accum_nav": 2 + i / 100,
                        "daily_return": 1.0,
                        "updated_at": now,
                    }
                    for i, day in enumerate(days)
                ],
            )
            conn.execute(
                sa.insert(fund_metrics),
                [
                    {
                        "fund_code": CODE,
                        "calc_date": days[-1],
                        "window_days": 756,
                        "n_obs": 39,
                        "annual_return": 0.1,
                        "sharpe_ratio": 1.25,
                        "updated_at": now,
                    }
                ],
            )
            conn.execute(
                sa.insert(fund_nav_quarantine),
                [
                    {
                        "batch_id": "b",
                        "fund_code": CODE,
                        "nav_date": days[-1],
                        "unit_nav": 0.0,
                        "source": "demo",
                        "rule": "positive_nav",
                        "reason": "unit_nav 0.0 is not positive",
                        "quarantined_at": now,
                    }
                ],
            )
        yield d


@pytest.fixture
def client(daemon):
    """A fresh client each test: ``?lang=`` sets a cookie."""
    return create_app(daemon.ops, "token-for-the-views-test").test_client()


def test_the_index_lists_the_bundled_views_with_their_inputs(client) -> None:
    answer = client.get("/api/panels")
    assert answer.status_code == 200
    views = {v["name"]: v for v in answer.get_json()["views"]}
    assert set(views) == {"fund", "data_quality"}
    code = views["fund"]["inputs"][0]
    assert code["name"] == "code" and code["required"] and code["label"] == "fund code"
    assert [i["name"] for i in views["data_quality"]["inputs"]] == ["days", "rule", "day"]
    chinese = client.get("/api/panels?lang=zh_CN").get_json()["views"]
    assert {v["name"]: v["title"] for v in chinese} == {"fund": "基金", "data_quality": "数据质量"}


def test_a_fund_is_answered_with_its_chart_metrics_and_quarantined_rows(client) -> None:
    answer = client.get(f"/api/panels/fund?code={CODE}")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["ok"] and body["title"] == "Fund 000001 · 演示基金" and body["query"] == {"code": CODE}
    points = body["charts"][0]["series"][0]["points"]
    assert len(points) == 40 and points[-1][0] == (TODAY - dt.timedelta(days=1)).isoformat()
    assert points[-1][1] == pytest.approx(1.39)
    metrics, quarantined = body["tables"]
    assert ["Sharpe", "1.25"] in metrics["rows"]
    assert quarantined["rows"][0][2] == "unit_nav 0.0 is not positive"


def test_the_data_quality_counts_link_to_their_rows(client) -> None:
    body = client.get("/api/panels/data_quality").get_json()
    assert body["query"] == {"days": "14", "rule": None, "day": None}
    (table,) = body["tables"]
    link = table["rows"][0][1]
    assert link["text"] == "1" and link["query"]["panel"] == "data_quality"
    query = "&".join(f"{k}={v}" for k, v in link["query"].items() if k != "panel")
    drilled = client.get(f"/api/panels/data_quality?{query}").get_json()
    rows = drilled["tables"][1]
    assert rows["rows"][0][0] == {"text": CODE, "query": {"panel": "fund", "code": CODE}}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/panels/fund", "code"),
        ("/api/panels/fund?code=", "code"),
        ("/api/panels/fund?code=%27%20OR%201=1--", "code"),
        ("/api/panels/data_quality?days=500", "days"),
        ("/api/panels/data_quality?rule=Not-a-rule", "rule"),
        ("/api/panels/data_quality?day=yesterday", "day"),
    ],
)
def test_a_bad_or_missing_input_is_400_naming_it(client, path, field) -> None:
    answer = client.get(path)
    assert answer.status_code == 400
    assert answer.get_json()["field"] == field and field in answer.get_json()["error"]


def test_an_unknown_view_is_404_and_a_plain_panel_is_no_view(client) -> None:
    assert client.get("/api/panels/nope").status_code == 404
    assert client.get("/api/panels/jobs.fund_monitor.fund_data_panel").status_code == 404


def test_health_runs_no_view(client) -> None:
    names = [p["name"] for p in client.get("/health").get_json()["panels"]]
    assert names == ["jobs.fund_monitor.fund_data_panel"]


def test_the_answers_are_in_the_readers_language(client) -> None:
    body = client.get(f"/api/panels/fund?code={CODE}&lang=zh_CN").get_json()
    assert body["title"] == "基金 000001 · 演示基金" and body["query"] == {"code": CODE}  # lang is no input
    refused = client.get("/api/panels/fund", headers={"Accept-Language": "zh-CN"}).get_json()
    assert refused["error"] == "必须填写基金代码（code）"
