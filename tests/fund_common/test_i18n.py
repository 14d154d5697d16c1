"""The languages: what a setting or locale names, the language in effect per context, the
catalogues compiled and complete (a marked string without a zh_CN translation fails here)."""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path

import pytest

from fund_common import i18n
from fund_common.i18n import gettext as _

ROOT = Path(__file__).resolve().parents[2]


def load_catalogue_tool():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("i18n_tool", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("zh_CN", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh_CN.UTF-8", "zh_CN"),
        ("zh_Hans", "zh_CN"),
        ("en", "en"),
        ("en_US.UTF-8", "en"),
        ("C.UTF-8", "en"),
        ("POSIX", "en"),
        ("fr_FR", None),
        ("", None),
        (None, None),
    ],
)
def test_what_a_setting_or_locale_names(given: str | None, expected: str | None) -> None:
    assert i18n.normalise(given) == expected


def test_the_language_comes_from_scheduler_lang_then_the_locale() -> None:
    assert i18n.language_from_environ({"SCHEDULER_LANG": "zh", "LANG": "en_US.UTF-8"}) == "zh_CN"
    assert i18n.language_from_environ({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert i18n.language_from_environ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
    assert i18n.language_from_environ({"LC_MESSAGES": "zh_TW.UTF-8"}) == "zh_CN"
    assert i18n.language_from_environ({"LANG": "de_DE.UTF-8"}) == "en"
    assert i18n.language_from_environ({"SCHEDULER_LANG": "fr", "LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert i18n.language_from_environ({}) == "en"


def test_a_context_speaks_its_language_and_others_keep_theirs() -> None:
    seen: dict[str, str] = {}

    def other_thread() -> None:
        seen["other"] = _("failed")

    with i18n.use("zh_CN"):
        assert _("failed") == "失败"
        assert i18n.ngettext("{n} failure in 24 h", "{n} failures in 24 h", 2)  # no crash on unknown
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        with i18n.use("en"):
            assert _("failed") == "failed"
        assert _("failed") == "失败"
    assert seen["other"] == "failed"  # a new thread starts in the process's default language


def test_the_process_default_and_an_unknown_language() -> None:
    try:
        i18n.set_default("zh_CN")
        assert _("Health") == "健康状况"
        with i18n.use("xx"):  # no catalogue: the language in effect stays
            assert i18n.current() == "zh_CN"
    finally:
        i18n.set_default(None)
    assert _("Health") == "Health"


def test_the_page_scripts_catalogue_has_plural_forms() -> None:
    catalogue = i18n.web_catalogue("zh_CN")
    assert catalogue["Run now"] == "立即运行"
    assert catalogue["healthy — {n} failure in 24 h"] == ["健康 — 24 小时内失败 {n} 次"]
    assert i18n.web_catalogue("en") == {}


def test_every_marked_string_has_a_zh_cn_translation_and_the_mo_files_are_current() -> None:
    """Fails naming each msgid of the sources (Python, templates, page scripts) that has no zh_CN
    translation, each translation that drops or invents a placeholder, and each stale .mo:
    `python scripts/i18n.py update`, translate, `python scripts/i18n.py compile`."""
    problems = load_catalogue_tool().check_problems()
    assert problems == []


def test_the_placeholder_check_finds_a_dropped_name() -> None:
    from babel.messages.catalog import Catalog

    tool = load_catalogue_tool()
    catalog = Catalog(locale="zh_CN")
    catalog.add("{job}: run started", "已开始运行")
    catalog.add("page %(n)s", "第 %(n)s 页")
    assert tool.placeholder_mismatches(catalog) == ["'{job}: run started' -> '已开始运行'"]


def test_a_closed_day_in_words_while_the_stored_reason_stays_english() -> None:
    import datetime as dt

    from fund_common.calendars.model import SessionCalendar

    calendar = SessionCalendar(
        name="XSHG",
        first=dt.date(2026, 1, 1),
        last=dt.date(2026, 12, 31),
        closed={dt.date(2026, 10, 1): "National Day", dt.date(2026, 10, 9): "Typhoon"},
    )
    with i18n.use("zh_CN"):
        assert calendar.closure_words(dt.date(2026, 10, 1)) == "XSHG 休市：国庆节"
        assert calendar.closure_words(dt.date(2026, 10, 3)) == "XSHG 休市：周末"
        assert calendar.closure_words(dt.date(2026, 10, 9)) == "XSHG 休市：Typhoon"  # as stored
        assert calendar.closure_words(dt.date(2026, 10, 12)) is None
        assert calendar.closure(dt.date(2026, 10, 1)) == "XSHG closed: National Day"
    with i18n.use("en"):
        assert calendar.closure_words(dt.date(2026, 10, 1)) == "XSHG closed: National Day"
