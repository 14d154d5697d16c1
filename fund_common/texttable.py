"""Plain-text tables for a terminal: columns padded to their widest cell, a rule under the head.

Widths are terminal columns (:func:`width`): a Chinese character takes two, so Chinese tables line
up as English ones do.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

__all__ = ["format_table", "last_line", "one_line", "width"]


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width(text: str) -> int:
    """The columns ``text`` takes on a terminal: 2 for a wide or full-width character (East Asian
    Width ``W``/``F``: Chinese, ``，``), 0 for a combining mark, else 1."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` columns, ``…`` (one column) ending a cut text."""
    if width(text) <= limit:
        return text
    out, used = [], 0
    for char in text:
        w = _char_width(char)
        if used + w > limit - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…"


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (runs of white space folded), cut to ``limit`` columns with ``…``."""
    return _cut(" ".join(text.split()), limit)


def format_table(
    rows: Iterable[Sequence[object]],
    headers: Sequence[object],
    *,
    right: Iterable[int] = (),
    indent: str = "",
    rule: bool = True,
    first_width: int = 0,
    max_cell: int | None = None,
) -> str:
    """``rows`` under ``headers``, two spaces between columns, widths in terminal columns.

    Columns in ``right`` are right-aligned; ``rule`` draws dashes under the head; the first
    column is at least ``first_width`` wide; with ``max_cell`` every cell is put on one line and
    cut to that many columns. Trailing blanks are removed from every line.
    """

    def cell(value: object) -> str:
        return one_line(str(value), max_cell) if max_cell else str(value)

    body = [[cell(c) for c in row] for row in rows]
    head = [cell(h) for h in headers]
    widths = [max(width(c) for c in column) for column in zip(head, *body, strict=False)]
    if widths:
        widths[0] = max(widths[0], first_width)
    right_set = set(right)

    def line(cells: Sequence[str]) -> str:
        padded = [
            " " * (w - width(c)) + c if i in right_set else c + " " * (w - width(c))
            for i, (c, w) in enumerate(zip(cells, widths, strict=False))
        ]
        return (indent + "  ".join(padded)).rstrip()

    lines = [line(head)]
    if rule:
        lines.append(line(["-" * w for w in widths]))
    lines += [line(cells) for cells in body]
    return "\n".join(lines)


def last_line(text: str | None, limit: int | None = None) -> str | None:
    """The last non-blank line of ``text`` (stripped), cut to ``limit`` characters with ``…``;
    None when there is none."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return None
    line = lines[-1]
    return line if limit is None or len(line) <= limit else line[: limit - 1] + "…"
