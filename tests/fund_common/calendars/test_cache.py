"""The host's cache of computed calendars: per name and library version, off on request, never
an error, and what load_calendars and refresh compute once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fund_common.calendars import SessionCalendar, cache, loading

XSHG = SessionCalendar(
    "XSHG", dt.date(2026, 1, 1), dt.date(2026, 12, 31), {dt.date(2026, 10, 1): "National Day"}
)


def test_kept_per_name_and_version(tmp_path: Path) -> None:
    env = {cache.CACHE_ENV: str(tmp_path / "c")}
    assert cache.cached("XSHG", "4.13.2", env) is None
    cache.keep(XSHG, "4.13.2", env)
    assert cache.cached("XSHG", "4.13.2", env) == XSHG
    assert cache.cached("XSHG", "4.14.0", env) is None  # another version computes afresh
    assert cache.cached("XNYS", "4.13.2", env) is None
    cache.keep(SessionCalendar("24/7", dt.date(2026, 1, 1), dt.date(2026, 1, 2)), "4.13.2", env)
    assert cache.cached("24/7", "4.13.2", env) is not None  # a name with a slash is one file


def test_default_folder_off_and_broken_files(tmp_path: Path) -> None:
    assert cache.cache_dir({"HOME": "/h"}) == Path("/h/.cache/fund-scheduler/calendars")
    assert cache.cache_dir({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/x/fund-scheduler/calendars")
    assert cache.cache_dir({cache.CACHE_ENV: "off", "HOME": "/h"}) is None
    assert cache.cache_dir({}) is None
    env = {cache.CACHE_ENV: str(tmp_path)}
    cache.keep(XSHG, "1", env)
    next(tmp_path.glob("XSHG@*.json")).write_text("{not json")
    assert cache.cached("XSHG", "1", env) is None  # ignored, not raised
    blocked = tmp_path / "file"
    blocked.write_text("")
    cache.keep(XSHG, "1", {cache.CACHE_ENV: str(blocked / "sub")})  # cannot be written: no error


def test_compute_once_computes_once_per_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    calls: list[str] = []

    def compute(name: str) -> SessionCalendar:
        calls.append(name)
        return XSHG

    monkeypatch.setattr(loading, "compute", compute)
    assert loading.compute_once("XSHG") == XSHG
    assert loading.compute_once("XSHG") == XSHG
    assert calls == ["XSHG"]
