"""The product's languages: English (the source strings) and 简体中文, through gettext catalogues.

Text a person reads (the CLI's messages and tables, alerts, the page, the weekly report, schedules
in words) is marked with :func:`gettext` (imported as ``_``) or, where it is defined before the
language is known (a module's constant), with :func:`N_` and translated where it is shown. Log
files stay English for grep and log shippers: never pass a log message through ``_``.

The language in effect is, in order: the one set for this context by :func:`use` (a web request's
choice, a report for a given reader), else the process's default set by :func:`set_default` (the
daemon and the CLI set it from ``SCHEDULER_LANG``), else what :func:`language_from_environ` finds
in the environment (``SCHEDULER_LANG``, then the locale: ``LC_ALL``, ``LC_MESSAGES``, ``LANG``;
``zh*`` is Chinese, anything else English)::

    from fund_common.i18n import gettext as _
    with i18n.use("zh_CN"):
        _("failed")          # '失败'

The catalogues are ``fund_common/locale/<lang>/LC_MESSAGES/<domain>.po`` (the source of truth,
edited by people) compiled to ``.mo`` beside them (``python scripts/i18n.py compile``); domain
:data:`DOMAIN` holds the Python code's and the templates' strings, :data:`WEB_DOMAIN` the page's
scripts' (sent to the browser as JSON by :func:`web_catalogue`).
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "WEB_DOMAIN",
    "N_",
    "current",
    "gettext",
    "language_from_environ",
    "language_names",
    "ngettext",
    "normalise",
    "set_default",
    "translations",
    "use",
    "web_catalogue",
]

#: The languages there are catalogues for, the source language first.
LANGUAGES = ("en", "zh_CN")
DEFAULT_LANGUAGE = "en"
DOMAIN = "fund_scheduler"
WEB_DOMAIN = "fund_scheduler_web"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_context: ContextVar[str | None] = ContextVar("fund_scheduler_language", default=None)
_default: str | None = None


def normalise(value: str | None) -> str | None:
    """The language a setting or locale names (``zh``, ``zh-CN``, ``zh_CN.UTF-8``, ``zh_Hans`` ->
    ``zh_CN``; ``en``, ``en_US``, ``C``, ``POSIX`` -> ``en``), or None for one there is no
    catalogue for (``fr_FR``) or a blank value."""
    text = (value or "").strip()
    if not text:
        return None
    code = text.split(".", 1)[0].split("@", 1)[0].replace("-", "_").lower()
    if code.startswith("zh"):
        return "zh_CN"
    if code in ("c", "posix") or code == "en" or code.startswith("en_"):
        return "en"
    return None


def language_from_environ(environ: Mapping[str, str] | None = None) -> str:
    """``SCHEDULER_LANG`` when it names a language; else the first of ``LC_ALL``, ``LC_MESSAGES``
    and ``LANG`` that is set (Chinese for ``zh*``, English otherwise); else English. A
    ``SCHEDULER_LANG`` that names no language is reported by the settings' validation."""
    environ = os.environ if environ is None else environ
    chosen = normalise(environ.get("SCHEDULER_LANG"))
    if chosen:
        return chosen
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = (environ.get(name) or "").strip()
        if value:
            return normalise(value) or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def set_default(language: str | None) -> None:
    """Make ``language`` (normalised; None: from the environment again) this process's default."""
    global _default
    _default = normalise(language) if language else None


def current() -> str:
    """The language in effect here (see the module docstring)."""
    return _context.get() or _default or language_from_environ()


@contextmanager
def use(language: str | None) -> Iterator[str]:
    """Speak ``language`` in this context (thread, request) until the block ends; None or a
    language without a catalogue keeps the one in effect."""
    chosen = normalise(language) or current()
    token = _context.set(chosen)
    try:
        yield chosen
    finally:
        _context.reset(token)


@lru_cache(maxsize=8)
def translations(language: str, domain: str = DOMAIN) -> _gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English and a missing ``.mo``: the source text)."""
    if language == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    return _gettext.translation(domain, localedir=str(LOCALE_DIR), languages=[language], fallback=True)


def gettext(message: str) -> str:
    """``message`` in the language in effect."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of ``singular``/``plural`` for ``count`` in the language in effect."""
    return translations(current()).ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark ``message`` for the catalogue without translating it now (translate where shown)."""
    return message


def language_names() -> dict[str, str]:
    """Each language as it names itself, for a language switch."""
    return {"en": "English", "zh_CN": "中文"}


@lru_cache(maxsize=4)
def web_catalogue(language: str) -> dict[str, str | list[str]]:
    """The page scripts' messages in ``language``: msgid -> text, or for a plural msgid (the
    singular) the list of its forms. Empty for English (the scripts' own text is English)."""
    if language == DEFAULT_LANGUAGE:
        return {}
    catalogue = translations(language, WEB_DOMAIN)
    entries = getattr(catalogue, "_catalog", {})
    out: dict[str, str | list[str]] = {}
    plurals: dict[str, dict[int, str]] = {}
    for key, text in entries.items():
        if isinstance(key, tuple):
            msgid, index = key
            plurals.setdefault(msgid, {})[index] = text
        elif key and text:
            out[key] = text
    for msgid, forms in plurals.items():
        out[msgid] = [forms[i] for i in sorted(forms)]
    return out
