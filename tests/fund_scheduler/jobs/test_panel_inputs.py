"""Panels that take a query (views): the declaration, the index, the query's check, the run and its
normalised answer, and plain panels untouched (bare ``@dashboard_panel``, ``run_panels``)."""

from __future__ import annotations

import logging
import textwrap

import pytest

from fund_common import i18n
from fund_scheduler.jobs.declare import PanelInput, dashboard_panel
from fund_scheduler.jobs.panels import (
    PanelQueryError,
    UnknownPanel,
    describe_views,
    is_view,
    panel_name,
    run_panels,
    run_view,
)
from fund_scheduler.jobs.registry import load_registry

SEEN: list[dict] = []


@dashboard_panel
def plain(engine, environ):
    return {"title": "plain", "tables": []}


@dashboard_panel(
    name="lookup",
    title=i18n.N_("Fund"),
    inputs=[
        PanelInput("code", i18n.N_("fund code"), r"[0-9]{6}", required=True, example="000001"),
        PanelInput("days", i18n.N_("days"), r"[1-9][0-9]?", default="14", kind="number"),
        PanelInput("day", i18n.N_("day"), r"[0-9]{4}-[0-9]{2}-[0-9]{2}", kind="date"),
    ],
)
def lookup(engine, environ, query):
    SEEN.append(query)
    return {
        "title": f"fund {query['code']}",
        "charts": [{"title": "NAV", "series": [{"name": "unit", "points": [["2026-12-01", 1.5]]}]}],
        "tables": [{"title": "t", "columns": ["a"], "rows": [[{"text": "1", "query": {"panel": "lookup"}}]]}],
        "notes": ["n"],
        "gauges": [{"name": "ignored"}],
    }


@dashboard_panel(name="broken", inputs=[PanelInput("x", "x", "[a-z]+")])
def broken(engine, environ, query):
    raise RuntimeError("query failed\nmore")


PANELS = [plain, lookup, broken]


def test_bare_and_called_declarations_mark_panels_and_only_those_with_inputs_are_views() -> None:
    assert plain.__dashboard_panel__ and not is_view(plain)
    assert panel_name(plain) == f"{__name__}.plain"
    assert is_view(lookup) and panel_name(lookup) == "lookup"
    named_only = dashboard_panel(name="plain_named")(lambda engine, environ: {})
    assert not is_view(named_only) and panel_name(named_only) == "plain_named"


@pytest.mark.parametrize(
    "make",
    [
        lambda: PanelInput("Code", "c", "[0-9]+"),  # not lower case
        lambda: PanelInput("lang", "l", "[a-z]+"),  # the page's language switch
        lambda: PanelInput("panel", "p", "[a-z]+"),  # a drill-down's target
        lambda: PanelInput("code", "c", "[0-9"),  # no regular expression
        lambda: PanelInput("code", "c", "[0-9]+", kind="color"),
        lambda: PanelInput("code", "c", "[0-9]+", default="abc"),  # default fails its own pattern
        lambda: dashboard_panel(inputs=[PanelInput("a", "a", "x"), PanelInput("a", "a", "y")]),
        lambda: dashboard_panel(name="has space", inputs=[PanelInput("a", "a", "x")]),
    ],
)
def test_a_bad_declaration_is_refused(make) -> None:
    with pytest.raises(ValueError):
        make()


def test_health_runs_the_plain_panels_only() -> None:
    answers = run_panels(PANELS, engine=None, environ={})
    assert [a["name"] for a in answers] == [f"{__name__}.plain"]


def test_the_index_lists_each_view_with_its_inputs_in_the_readers_language() -> None:
    views = describe_views(PANELS)
    assert [v["name"] for v in views] == ["lookup", "broken"]
    assert views[0]["title"] == "Fund" and views[1]["title"] == "broken"
    assert views[0]["inputs"][0] == {
        "name": "code",
        "label": "fund code",
        "pattern": "[0-9]{6}",
        "required": True,
        "default": None,
        "example": "000001",
        "kind": "text",
    }
    assert views[0]["inputs"][1]["default"] == "14" and views[0]["inputs"][2]["kind"] == "date"
    with i18n.use("zh_CN"):
        chinese = describe_views(PANELS)[0]
    assert chinese["title"] == "基金" and chinese["inputs"][0]["label"] == "基金代码"


def test_a_view_runs_on_its_checked_query_and_its_answer_is_normalised() -> None:
    SEEN.clear()
    answer = run_view(PANELS, "lookup", {"code": "000001", "lang": "zh_CN", "day": ""}, None, {})
    assert SEEN == [{"code": "000001", "days": "14", "day": None}]  # default applied, blank is none
    assert answer["ok"] and answer["error"] is None and answer["name"] == "lookup"
    assert answer["title"] == "fund 000001" and answer["notes"] == ["n"]
    assert answer["charts"][0]["series"][0]["points"] == [["2026-12-01", 1.5]]
    assert answer["tables"][0]["rows"][0][0]["query"] == {"panel": "lookup"}
    assert answer["query"] == {"code": "000001", "days": "14", "day": None}
    assert "gauges" not in answer  # a view's numbers are not exported


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({}, "code", "is required"),
        ({"code": "12345"}, "code", "must match [0-9]{6}"),
        ({"code": "0000011"}, "code", "must match"),
        ({"code": "000001\n"}, "code", "must match"),  # fullmatch: no trailing newline
        ({"code": "000001", "days": "0"}, "days", "days"),
        ({"code": "000001", "day": "1 Dec"}, "day", "day"),
        ({"code": "0" * 500}, "code", "…"),  # a long value is cut in the message
    ],
)
def test_a_missing_or_bad_input_is_refused_naming_it(query, field, words) -> None:
    SEEN.clear()
    with pytest.raises(PanelQueryError) as caught:
        run_view(PANELS, "lookup", query, None, {})
    assert caught.value.field == field and words in str(caught.value)
    assert SEEN == []  # the view never ran


def test_the_refusal_is_in_the_readers_language() -> None:
    with i18n.use("zh_CN"), pytest.raises(PanelQueryError) as caught:
        run_view(PANELS, "lookup", {}, None, {})
    assert str(caught.value) == "必须填写基金代码（code）"


def test_an_unknown_view_or_a_plain_panel_is_no_view() -> None:
    for name in ("nope", f"{__name__}.plain"):
        with pytest.raises(UnknownPanel) as caught:
            run_view(PANELS, name, {}, None, {})
        assert repr(name) in str(caught.value)


def test_a_failing_view_is_reported_not_raised(caplog) -> None:
    with caplog.at_level(logging.WARNING, "scheduler.panels"):
        answer = run_view(PANELS, "broken", {"x": "a"}, None, {})
    assert answer["ok"] is False and answer["error"] == "RuntimeError: query failed"
    assert answer["tables"] == [] and answer["charts"] == [] and answer["query"] == {"x": "a"}
    assert "dashboard view broken failed" in caplog.text


def test_two_views_of_one_name_are_a_registry_problem(tmp_path, monkeypatch) -> None:
    package = tmp_path / "twin_views"
    package.mkdir()
    (package / "__init__.py").write_text("")
    body = textwrap.dedent("""
        from fund_scheduler.jobs.declare import PanelInput, dashboard_panel

        @dashboard_panel(name="same", inputs=[PanelInput("a", "a", "[a-z]+")])
        def view(engine, environ, query):
            return {}
    """)
    (package / "one.py").write_text(body)
    (package / "two.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    from zoneinfo import ZoneInfo

    registry = load_registry(["twin_views"], tmp_path / "jobs.toml", ZoneInfo("UTC"), {})
    assert any("'same' is declared twice" in p for p in registry.problems), registry.problems
