"""PNG charts of the weekly report, drawn with matplotlib's Agg canvas.

matplotlib is imported inside the functions (about a second), so importing this module is
free. No pyplot and no global backend switch: each chart is its own ``Figure`` on a
``FigureCanvasAgg``, safe in any process and thread. Labels taken from data (job ids) are
drawn literally (mathtext ``$`` escaped). PNGs carry no metadata, so the same data gives the
same bytes. Titles, axis labels, legends and weekdays are in the language in effect
(:mod:`fund_common.i18n`) when the chart is drawn.

Text is set in the first installed font of :data:`CJK_FONTS` (so Chinese job or fund names are
not drawn as boxes), falling back to matplotlib's ``sans-serif`` list; only installed families
are named, so no font warning is logged when none of them is installed. The families are given
to each text, not through the global ``rcParams``, which other threads may be using.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
from collections.abc import Mapping, Sequence
from typing import Any

from fund_common.i18n import gettext as _
from fundpipe.report.week import weekday

__all__ = [
    "CJK_FONTS",
    "daily_rows_chart",
    "daily_rows_figure",
    "data_uri",
    "day_axis",
    "font_families",
    "job_durations_chart",
    "job_durations_figure",
]

#: CJK families tried first, in order (the report's CSS names the same ones).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "PingFang SC",
    "Microsoft YaHei",
)

_SIZE = (8.0, 3.2)  # inches
_DPI = 100
_LOADED, _QUARANTINED = "#4c9a5a", "#d9534f"


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``: the page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def daily_rows_chart(days: Sequence[dt.date], loaded: Sequence[int], quarantined: Sequence[int]) -> bytes:
    """:func:`daily_rows_figure` as PNG bytes."""
    return _png(daily_rows_figure(days, loaded, quarantined))


def daily_rows_figure(days: Sequence[dt.date], loaded: Sequence[int], quarantined: Sequence[int]) -> Any:
    """Stacked bars per day: rows loaded into ``fund_nav`` and rows quarantined; the Figure, not
    yet rendered."""
    fig, ax = _figure()
    labels = [f"{weekday(d)}\n{d:%m-%d}" for d in days]
    x = list(range(len(days)))
    ax.bar(x, loaded, color=_LOADED, label=_("loaded"))
    ax.bar(x, quarantined, bottom=loaded, color=_QUARANTINED, label=_("quarantined"))
    ax.set_xticks(x, labels)
    ax.set_ylabel(_("rows"), fontfamily=font_families())
    ax.set_title(_("Rows loaded per day (validation runs)"), fontfamily=font_families())
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="best", frameon=False, prop={"family": font_families()})
    return fig


def job_durations_chart(
    runs: Mapping[str, Sequence[tuple[dt.datetime, float]]], start: dt.datetime, end: dt.datetime
) -> bytes:
    """:func:`job_durations_figure` as PNG bytes."""
    return _png(job_durations_figure(runs, start, end))


def job_durations_figure(
    runs: Mapping[str, Sequence[tuple[dt.datetime, float]]], start: dt.datetime, end: dt.datetime
) -> Any:
    """One line per job: duration in seconds of each run over ``[start, end)``; the Figure, not
    yet rendered.

    ``runs`` maps a job id to ``(started_at, seconds)`` pairs; datetimes are naive, in the
    report's timezone, and plotted as given (never converted). Each day's label sits in the
    middle of its day, between the day boundaries (see :func:`day_axis`), so a run at 23:30 on
    Wednesday is drawn inside Wednesday's span, under Wednesday's label.
    """
    fig, ax = _figure()
    for job_id, points in runs.items():
        points = sorted(points)
        ax.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            marker="o",
            markersize=3,
            linewidth=1,
            label=_literal(job_id),
        )
    boundaries, centres, labels = day_axis(start, end)
    ax.set_xlim(start, end)
    ax.set_ylim(bottom=0)
    ax.set_xticks(centres, labels)
    ax.set_xticks(boundaries, minor=True)
    ax.tick_params(axis="x", which="major", length=0)
    ax.tick_params(axis="x", which="minor", length=6)
    ax.grid(axis="x", which="minor", alpha=0.3)
    ax.set_ylabel(_("seconds"), fontfamily=font_families())
    ax.set_title(_("Job durations"), fontfamily=font_families())
    ax.grid(axis="y", alpha=0.3)
    if runs:
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            frameon=False,
            prop={"family": font_families(), "size": "small"},
        )
    return fig


def day_axis(start: dt.datetime, end: dt.datetime) -> tuple[list[float], list[float], list[str]]:
    """The day axis of ``[start, end)`` (naive local datetimes, ``start`` a midnight), as
    matplotlib date numbers: the day boundaries (each midnight from ``start`` to ``end``), the
    middle (noon) of each whole day, and each day's label for that middle (weekday over date,
    ``Wed`` / ``06-05``, the weekday in the language in effect)."""
    from matplotlib.dates import date2num

    boundaries, centres, labels = [], [], []
    day = start
    while day <= end:
        boundaries.append(float(date2num(day)))
        if day + dt.timedelta(days=1) <= end:
            centres.append(float(date2num(day + dt.timedelta(hours=12))))
            labels.append(f"{weekday(day)}\n{day:%m-%d}")
        day += dt.timedelta(days=1)
    return boundaries, centres, labels


@functools.cache
def font_families() -> tuple[str, ...]:
    """The installed families of :data:`CJK_FONTS`, then matplotlib's generic ``sans-serif``."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return (*(name for name in CJK_FONTS if name in installed), "sans-serif")


def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelfontfamily=font_families())
    return fig, ax


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _literal(label: str) -> str:
    """A label matplotlib draws as given: ``$`` would start mathtext, a leading ``_`` hides it."""
    text = label.replace("$", r"\$")
    return " " + text if text.startswith("_") else text
