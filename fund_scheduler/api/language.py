"""The language of one HTTP request: the page's switch, a cookie, the browser's Accept-Language.

In order: ``?lang=zh_CN`` (or ``en``; the switch's links, remembered in the :data:`COOKIE`
cookie), else the cookie, else the best of the browser's ``Accept-Language`` (``zh``,
``zh-CN``, ``zh-Hans`` -> 中文; ``en-*`` -> English), else the daemon's ``SCHEDULER_LANG``.
The request's answer (the page, and the text the API writes: problems, panels, schedules in
words) is then in that language; JSON keys and status values stay the same in every language.
"""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.datastructures import LanguageAccept

from fund_common import i18n

__all__ = ["COOKIE", "COOKIE_MAX_AGE", "choose"]

COOKIE = "fund_scheduler_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
#: What a browser may send for each language there is a catalogue for.
_OFFERED = {"zh-CN": "zh_CN", "zh": "zh_CN", "zh-Hans": "zh_CN", "zh-SG": "zh_CN", "en": "en"}


def choose(args: Mapping[str, str], cookies: Mapping[str, str], accept: LanguageAccept, default: str) -> str:
    """The request's language (see the module docstring); ``default`` when nothing else says."""
    for given in (args.get("lang"), cookies.get(COOKIE)):
        language = i18n.normalise(given)
        if language:
            return language
    best = accept.best_match(list(_OFFERED)) if accept else None
    if best:
        return _OFFERED[best]
    # A browser naming only languages without a catalogue (fr, de...) gets the daemon's.
    return i18n.normalise(default) or i18n.DEFAULT_LANGUAGE
