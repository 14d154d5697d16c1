"""The report page: :func:`render_html` fills ``templates/weekly.html.j2`` with the report's data.

Jinja2 with ``autoescape`` on: every value from the data is HTML-escaped when it is written
(the template never marks data ``|safe``); ``StrictUndefined`` turns a misspelt key into an
error instead of an empty cell; None is written as nothing. The colour of a status (its
:class:`~fund_common.runstatus.Tone`, which is the CSS class) and its word come from
:mod:`fund_common.runstatus`.

The page is in the language in effect (:func:`fund_common.i18n.current`: the job's
``SCHEDULER_LANG``), with ``<html lang>`` saying which: the template's words go through
``jinja2.ext.i18n`` with :mod:`fund_common.i18n`'s ``gettext``/``ngettext`` (newstyle, looked
up when the page is rendered), weekdays and statuses are translated, dates stay ISO.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

import jinja2

from fund_common import i18n
from fund_common.i18n import gettext as _
from fund_common.runstatus import DISPLAY_ORDER, RunStatus, Tone, label
from fundpipe.report.data import TOP_N
from fundpipe.report.week import weekday

__all__ = ["html_lang", "legend", "render_html"]

_KNOWN = frozenset(s.value for s in RunStatus)


def legend() -> list[tuple[str, str]]:
    """The grid's legend: each tone with the statuses shown in it (in words, in the language in
    effect), in display order."""
    return [(tone.value, " / ".join(s.label for s in DISPLAY_ORDER if s.tone is tone)) for tone in Tone]


def html_lang(language: str) -> str:
    """The ``<html lang>`` of a catalogue's language: ``zh_CN`` -> ``zh-CN``."""
    return language.replace("_", "-")


def render_html(data: Mapping[str, Any], images: Mapping[str, str | None]) -> str:
    """The report page from :func:`~fundpipe.report.weekly_report_data` and chart data URIs
    (``rows``, ``durations``; None or missing: no chart), in the language in effect."""
    return _template().render(
        data=data,
        lang=html_lang(i18n.current()),
        images={"rows": images.get("rows"), "durations": images.get("durations")},
        legend=legend(),
        top_n=TOP_N,
    )


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fundpipe.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=lambda value: "" if value is None else value,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        num=_num,
        pct=_pct,
        rate=_rate,
        tone=_tone,
        run_counts=_run_counts,
        status_counts=_status_counts,
        weekday=_weekday,
    )
    return env.get_template("weekly.html.j2")


def _num(value: Any, digits: int = 2) -> str:
    """A count with thousands separators; a float with ``digits`` decimals; ``-`` for None."""
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _tone(status: str) -> str:
    """The CSS class of a status (an unknown one looks failed)."""
    return RunStatus(status).tone.value if status in _KNOWN else Tone.BAD.value


def _run_counts(counts: Mapping[str, int]) -> str:
    """A grid cell's text: ``1 ok, 1 failed`` (``success`` is ``ok``; ``成功 1，失败 1``)."""
    return _(", ").join(
        _("{n} ok").format(n=n) if s == RunStatus.SUCCESS else _("{n} {status}").format(n=n, status=label(s))
        for s, n in counts.items()
    )


def _status_counts(counts: Mapping[str, int]) -> str:
    """The week's counts per status: ``success 3, failed 1`` (``none`` for none)."""
    if not counts:
        return _("none")
    return _(", ").join(_("{status} {n}").format(status=label(s), n=n) for s, n in counts.items())


def _weekday(iso: str) -> str:
    """The abbreviated weekday of an ISO date (``Mon``, ``周一``)."""
    return weekday(dt.date.fromisoformat(iso))
