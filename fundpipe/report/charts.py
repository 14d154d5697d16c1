"""PNG charts of the weekly report, drawn with matplotlib's Agg canvas.

matplotlib is imported inside the functions (about a second), so importing this module is
free. No pyplot and no global backend switch: each chart is its own ``Figure`` on a
``FigureCanvasAgg``, safe in any process and thread. Labels taken from data (job ids) are
drawn literally (mathtext ``$`` escaped). PNGs carry no metadata, so the same data gives the
same bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["daily_rows_chart", "data_uri", "job_durations_chart"]

_SIZE = (8.0, 3.2)  # inches
_DPI = 100
_LOADED, _QUARANTINED = "#4c9a5a", "#d9534f"


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``: the page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def daily_rows_chart(days: Sequence[dt.date], loaded: Sequence[int], quarantined: Sequence[int]) -> bytes:
    """Stacked bars per day: rows loaded into ``fund_nav`` and rows quarantined; PNG bytes."""
    fig, ax = _figure()
    labels = [f"{d:%a}\n{d:%m-%d}" for d in days]
    x = list(range(len(days)))
    ax.bar(x, loaded, color=_LOADED, label="loaded")
    ax.bar(x, quarantined, bottom=loaded, color=_QUARANTINED, label="quarantined")
    ax.set_xticks(x, labels)
    ax.set_ylabel("rows")
    ax.set_title("Rows loaded per day (validation runs)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="best", frameon=False)
    return _png(fig)


def job_durations_chart(
    runs: Mapping[str, Sequence[tuple[dt.datetime, float]]], start: dt.datetime, end: dt.datetime
) -> bytes:
    """One line per job: duration in seconds of each run over ``[start, end)``; PNG bytes.

    ``runs`` maps a job id to ``(started_at, seconds)`` pairs; datetimes are naive, in the
    report's timezone.
    """
    from matplotlib.dates import DateFormatter, DayLocator

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
    ax.set_xlim(start, end)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(DayLocator())
    ax.xaxis.set_major_formatter(DateFormatter("%a\n%m-%d"))
    ax.set_ylabel("seconds")
    ax.set_title("Job durations")
    ax.grid(axis="y", alpha=0.3)
    if runs:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize="small")
    return _png(fig)


def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _literal(label: str) -> str:
    """A label matplotlib draws as given: ``$`` would start mathtext, a leading ``_`` hides it."""
    text = label.replace("$", r"\$")
    return " " + text if text.startswith("_") else text
