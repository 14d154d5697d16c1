"""Running the job packages' dashboard panels (fund_scheduler.jobs.panels)."""

from __future__ import annotations

import logging

from fund_scheduler.jobs.panels import run_panels


def good(engine, environ):
    return {
        "title": "numbers",
        "text": "all fine",
        "data": {"n": 1},
        "tables": [{"title": "t"}],
        "gauges": [{}],
    }


def bare(engine, environ):
    return None


def broken(engine, environ):
    raise RuntimeError("panel query failed\nsecond line")


def test_each_panel_is_normalised_and_a_broken_one_only_reported(caplog) -> None:
    with caplog.at_level(logging.WARNING, "scheduler.panels"):
        panels = run_panels([good, broken, bare], engine=None, environ={})
    first, second, third = panels
    assert first == {
        "name": f"{__name__}.good",
        "title": "numbers",
        "ok": True,
        "error": None,
        "text": "all fine",
        "data": {"n": 1},
        "tables": [{"title": "t"}],
        "notes": [],
        "gauges": [{}],
    }
    assert second["ok"] is False and second["error"] == "RuntimeError: panel query failed"
    assert second["text"] == "unavailable: RuntimeError: panel query failed" and second["tables"] == []
    assert third["ok"] and third["title"] == third["name"] and third["data"] is None
    assert "dashboard panel" in caplog.text and "panel query failed" in caplog.text
