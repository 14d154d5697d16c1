"""The report page: :func:`render_html` fills ``templates/weekly.html.j2`` with the report's data.

Jinja2 with ``autoescape`` on: every value from the data is HTML-escaped when it is written
(the template never marks data ``|safe``); ``StrictUndefined`` turns a misspelt key into an
error instead of an empty cell; None is written as nothing. The colour of a status (its
:class:`~fund_common.runstatus.Tone`, which is the CSS class) comes from
:mod:`fund_common.runstatus`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

import jinja2

from fund_common.runstatus import DISPLAY_ORDER, RunStatus, Tone
from fundpipe.report.data import TOP_N

__all__ = ["LEGEND", "render_html"]

_KNOWN = frozenset(s.value for s in RunStatus)
#: The grid's legend: each tone with the statuses shown in it, in display order.
LEGEND = [(tone.value, " / ".join(s.value for s in DISPLAY_ORDER if s.tone is tone)) for tone in Tone]


def render_html(data: Mapping[str, Any], images: Mapping[str, str | None]) -> str:
    """The report page from :func:`~fundpipe.report.weekly_report_data` and chart data URIs
    (``rows``, ``durations``; None or missing: no chart)."""
    days = [dt.date.fromisoformat(d) for d in data["days"]]
    return _template().render(
        data=data,
        days=days,
        images={"rows": images.get("rows"), "durations": images.get("durations")},
        legend=LEGEND,
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
    )
    env.filters.update(num=_num, pct=_pct, rate=_rate, tone=_tone, run_counts=_run_counts, weekday=_weekday)
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
    """A grid cell's text: ``1 ok, 1 failed`` (``success`` is ``ok``)."""
    return ", ".join(f"{n} {'ok' if s == RunStatus.SUCCESS else s}" for s, n in counts.items())


def _weekday(iso: str) -> str:
    """The abbreviated weekday of an ISO date (``Mon``)."""
    return f"{dt.date.fromisoformat(iso):%a}"
