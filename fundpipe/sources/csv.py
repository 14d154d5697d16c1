"""The ``csv`` source: NAV files dropped into an inbox folder (``FUND_CSV_INBOX``).

Files. Every ``*.csv`` directly in the inbox (any case of the suffix; names starting with
``.`` are skipped, so an uploader can write ``.name.csv`` or ``name.csv.part`` and rename
when complete) is read in name order at each collection. Comma-separated, one header row,
then one row per NAV:

* columns ``fund_code, nav_date, unit_nav`` (required) and ``accum_nav, daily_return``
  (optional; ``daily_return`` in percent, ``1.23`` or ``1.23%``). Names are matched after
  trimming and ignoring case; the Chinese headers fund sites use (``基金代码, 净值日期,
  单位净值, 累计净值, 日增长率``) are accepted too. Other columns (a fund name, say) are ignored.
* encoding: UTF-8 with or without BOM, else GBK: the bytes are decoded as ``utf-8-sig``
  and, if that fails, as ``gbk`` (strictly; the encoding used is recorded: ``utf-8``,
  ``utf-8-sig`` for a file starting with a BOM, or ``gbk``). Plain ASCII is
  both, so the order matters only for non-ASCII text, which is practically never valid in both.
* values are staged as read (see :func:`fundpipe.sources.staging_frame`): a value that does
  not read (``abc`` as a NAV, a date ``2024-02-30``) or a row whose field count differs from
  the header's is staged with the problem, file name and line in ``parse_error``, and
  validation quarantines it; so is a fund code too long for staging (cut to its length).
  Blank lines are skipped.

After the rows are staged. Each staged file is recorded in ``fund_source_files`` (name,
SHA-256, size, encoding, rows, batch) in the staging transaction, and moved to
``<inbox>/../archive/<as_of>/`` once it committed. A crash between the two leaves a staged
file in the inbox: the next collection finds its SHA-256 recorded, does not stage it again,
and archives it. The same goes for a file whose content was staged before under any name
(re-delivered) and for a second identical file in one pass. A file changed while it was
being collected is left in the inbox (staged again, as new content, next time; the later
batch supersedes the earlier rows).

Rejected files. A file that cannot be read at all (empty, binary, neither UTF-8 nor GBK, no
header with the required columns, a column twice, a CSV syntax error) is moved to
``<inbox>/../rejected/`` with ``<name>.reason`` beside it (the reason, size, SHA-256, day),
logged as a warning and listed in the collection's summary; the other files are processed
as usual.

Nothing is ever deleted or overwritten: a name already present in the archive or rejected
folder gets a ``-1``, ``-2``, ... suffix before the extension. Both folders are created as
needed; the inbox itself must exist (a missing inbox fails the collection, naming it).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import errno
import hashlib
import io
import itertools
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from fund_common.clock import utcnow_naive
from fundpipe.errors import SourceError
from fundpipe.schema import PARSE_ERROR_LENGTH, RAW_CODE_LENGTH, fund_source_files
from fundpipe.sources import (
    NAV_COLUMNS,
    REQUIRED_NAV_COLUMNS,
    STAGING_COLUMNS,
    Delivery,
    empty_funds,
    staging_frame,
)

__all__ = ["ENCODINGS", "HEADER_ALIASES", "CsvDelivery", "CsvSource", "Unreadable", "read_nav_csv"]

logger = logging.getLogger("fundpipe")

#: Tried in order; the first that decodes the whole file wins.
ENCODINGS = ("utf-8-sig", "gbk")

#: Header names accepted besides the column names themselves (compared trimmed, case-folded).
HEADER_ALIASES = {
    "基金代码": "fund_code",
    "净值日期": "nav_date",
    "单位净值": "unit_nav",
    "累计净值": "accum_nav",
    "日增长率": "daily_return",
}


class Unreadable(Exception):
    """A file that cannot be read as a NAV CSV at all; the message is the reason."""


def read_nav_csv(data: bytes, name: str) -> tuple[pd.DataFrame, str]:
    """Parse one file's bytes into staging rows; return them and the encoding used.

    Raise :class:`Unreadable` with the reason when the file cannot be read at all.
    """
    if not data.strip():
        raise Unreadable("the file is empty (no header row)")
    if b"\x00" in data:
        raise Unreadable("binary content (NUL bytes): not a CSV text file")
    text, encoding = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header, columns = _header(reader)
        raw, lines, shapes = _rows(reader, header, columns)
    except csv.Error as exc:
        raise Unreadable(f"line {reader.line_num}: CSV syntax error: {exc}") from None
    for i, code in enumerate(raw["fund_code"]):  # a row problem, not a file problem
        if code is not None and len(code.strip()) > RAW_CODE_LENGTH:
            raw.loc[i, "fund_code"] = code.strip()[:RAW_CODE_LENGTH]
            cut = f"fund_code of {len(code.strip())} characters cut to {RAW_CODE_LENGTH}"
            shapes[i] = f"{shapes[i]}; {cut}" if shapes[i] else cut
    try:
        staged = staging_frame(raw, "csv")
    except SourceError as exc:
        raise Unreadable(str(exc).replace("source 'csv' row", "data row")) from None
    errors = []  # "<file> line <n>: <problems>" where a row has any
    for line, shape, error in zip(lines, shapes, staged["parse_error"].tolist(), strict=True):
        problems = [p for p in (shape, error) if p]
        errors.append(_clip(f"{name} line {line}: " + "; ".join(problems)) if problems else None)
    staged["parse_error"] = pd.Series(errors, dtype=object)
    return staged, encoding


def _clip(text: str) -> str:
    return text if len(text) <= PARSE_ERROR_LENGTH else text[: PARSE_ERROR_LENGTH - 3] + "..."


def _decode(data: bytes) -> tuple[str, str]:
    failures = []
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            failures.append(f"{encoding}: byte 0x{data[exc.start]:02x} at offset {exc.start}")
            continue
        if encoding == "utf-8-sig" and not data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8"
        return text, encoding
    raise Unreadable(f"not UTF-8 or GBK text ({'; '.join(failures)})")


def _header(reader: Any) -> tuple[list[str], dict[str, int]]:
    """The header row and the index of each known column in it."""
    for row in reader:
        if any(cell.strip() for cell in row):
            break
    else:
        raise Unreadable("no header row")
    names = [cell.strip().lower() for cell in row]
    columns: dict[str, int] = {}
    for i, name in enumerate(names):
        column = HEADER_ALIASES.get(name, name)
        if column in NAV_COLUMNS:
            if column in columns:
                raise Unreadable(f"header names column {column!r} twice")
            columns[column] = i
    missing = [c for c in REQUIRED_NAV_COLUMNS if c not in columns]
    if missing:
        shown = ", ".join(repr(c) for c in row[:12]) + (", ..." if len(row) > 12 else "")
        raise Unreadable(f"header lacks required column(s) {', '.join(missing)} (found: {shown})")
    return row, columns


def _rows(
    reader: Any, header: list[str], columns: dict[str, int]
) -> tuple[pd.DataFrame, list[int], list[str | None]]:
    """Raw text of the known columns; per row its line number and a field-count problem."""
    values: dict[str, list[str | None]] = {c: [] for c in columns}
    lines: list[int] = []
    shapes: list[str | None] = []
    width = len(header)
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        lines.append(reader.line_num)
        shapes.append(None if len(row) == width else f"{len(row)} fields, the header has {width}")
        for column, i in columns.items():
            values[column].append(row[i] if i < len(row) else None)
    return pd.DataFrame(values, dtype=object), lines, shapes


@dataclasses.dataclass
class _File:
    path: Path
    sha256: str
    size: int
    mtime_ns: int
    encoding: str | None = None
    rows: pd.DataFrame | None = None
    reason: str | None = None  # rejected: why
    staged_before: dict[str, Any] | None = None  # already staged: where

    @property
    def row_count(self) -> int:
        """Rows read from the file (0 when it could not be read)."""
        return 0 if self.rows is None else len(self.rows)


class CsvSource:
    """NAV rows from the CSV files in an inbox folder (see the module docstring)."""

    name = "csv"

    def __init__(self, inbox: str | os.PathLike[str]):
        self.inbox = Path(inbox)
        self.archive = self.inbox.parent / "archive"
        self.rejected = self.inbox.parent / "rejected"

    def funds(self) -> pd.DataFrame:
        """The CSV source carries no fund master data."""
        return empty_funds()

    def fetch(self, as_of: dt.date) -> pd.DataFrame:
        """Every inbox file's rows, read-only: nothing is recorded, archived or rejected."""
        return self.deliver(as_of).rows

    def deliver(self, as_of: dt.date) -> CsvDelivery:
        """Read every inbox file; files move only in :meth:`CsvDelivery.done`."""
        if not self.inbox.is_dir():
            raise SourceError(
                f"CSV inbox {self.inbox} does not exist or is not a folder (FUND_CSV_INBOX): create it"
            )
        files = []
        paths = sorted(
            p for p in self.inbox.iterdir() if p.suffix.lower() == ".csv" and not p.name.startswith(".")
        )
        for path in paths:
            if not path.is_file():
                continue
            try:
                stat = path.stat()
                data = path.read_bytes()
            except OSError as exc:
                logger.error("csv source: cannot read %s: %s; left in the inbox", path, exc)
                continue
            item = _File(path, hashlib.sha256(data).hexdigest(), len(data), stat.st_mtime_ns)
            try:
                item.rows, item.encoding = read_nav_csv(data, path.name)
            except Unreadable as exc:
                item.reason = str(exc)
            files.append(item)
        return CsvDelivery(self, as_of, files)


class CsvDelivery(Delivery):
    """The inbox files of one collection: staged, skipped as already staged, or rejected."""

    def __init__(self, source: CsvSource, as_of: dt.date, files: list[_File]):
        readable = [f.rows for f in files if f.rows is not None]
        rows = pd.concat(readable, ignore_index=True) if readable else _empty_rows()
        super().__init__(rows, {"inbox": str(source.inbox), "files": len(files)})
        self.source = source
        self.as_of = as_of
        self.files = files
        self._summary: dict[str, Any] = {}

    def claim(self, conn: sa.Connection, batch_id: str, now: dt.datetime) -> pd.DataFrame:
        """Record the files with new content in ``fund_source_files``; return their rows."""
        readable = [f for f in self.files if f.rows is not None]
        known: dict[str, dict[str, Any]] = {}
        if readable:
            table = fund_source_files.c
            found = conn.execute(
                sa.select(table.sha256, table.file_name, table.batch_id, table.staged_at).where(
                    table.sha256.in_([f.sha256 for f in readable])
                )
            ).mappings()
            known = {r["sha256"]: dict(r) for r in found}
        fresh: list[_File] = []
        for item in readable:
            item.staged_before = known.get(item.sha256)
            if item.staged_before is None:
                fresh.append(item)
                known[item.sha256] = {"file_name": item.path.name, "batch_id": batch_id, "staged_at": now}
        if fresh:
            conn.execute(
                sa.insert(fund_source_files),
                [
                    {
                        "source": self.source.name,
                        "file_name": f.path.name[:255],
                        "sha256": f.sha256,
                        "size_bytes": f.size,
                        "encoding": f.encoding,
                        "row_count": f.row_count,
                        "batch_id": batch_id,
                        "staged_at": now,
                    }
                    for f in fresh
                ],
            )
        parts = [f.rows for f in fresh if f.rows is not None]
        return pd.concat(parts, ignore_index=True) if parts else _empty_rows()

    def done(self) -> dict[str, Any]:
        """Archive staged and already-staged files, reject the unreadable ones; never raise."""
        archive_dir = self.source.archive / self.as_of.isoformat()
        archived: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        left: list[dict[str, Any]] = []
        for item in self.files:
            name = item.path.name
            if _changed(item):
                logger.warning(
                    "csv source: %s changed while it was being collected; left in the inbox for the next run",
                    item.path,
                )
                left.append({"file": name, "why": "changed while being collected"})
                continue
            try:
                if item.reason is not None:
                    target = _move(item.path, self.source.rejected)
                    _write_reason(target, item, self.as_of)
                    logger.warning("csv source: rejected %s (%s); moved to %s", name, item.reason, target)
                    rejected.append({"file": name, "reason": item.reason, "to": str(target)})
                    continue
                target = _move(item.path, archive_dir)
            except OSError as exc:
                logger.error("csv source: cannot move %s: %s; left in the inbox", item.path, exc)
                left.append({"file": name, "why": f"cannot move: {exc}"})
                continue
            entry: dict[str, Any] = {
                "file": name,
                "to": str(target),
                "rows": 0 if item.rows is None else len(item.rows),
                "encoding": item.encoding,
                "sha256": item.sha256,
            }
            if item.staged_before is not None:
                before = item.staged_before
                entry["rows"] = 0
                entry["already_staged"] = f"{before['file_name']} in batch {before['batch_id']}"
                logger.info(
                    "csv source: %s has the content of %s, staged in batch %s; archived, not staged again",
                    name,
                    before["file_name"],
                    before["batch_id"],
                )
            archived.append(entry)
        self._summary = {**self.details, "archived": archived, "rejected": rejected, "left_in_inbox": left}
        return self._summary

    def note(self) -> str:
        """``"csv: 2 file(s) archived, 1 rejected (bad.csv: why)"``."""
        s = self._summary
        if not s:
            return ""
        if not s["files"]:
            return f"csv: no file in {s['inbox']}"
        text = f"csv: {len(s['archived'])} file(s) archived, {len(s['rejected'])} rejected"
        if s["rejected"]:
            text += " (" + "; ".join(f"{r['file']}: {r['reason']}" for r in s["rejected"][:3]) + ")"
        if s["left_in_inbox"]:
            text += f", {len(s['left_in_inbox'])} left in the inbox"
        return text


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in STAGING_COLUMNS})


def _changed(item: _File) -> bool:
    try:
        stat = item.path.stat()
    except FileNotFoundError:
        return True
    return (stat.st_size, stat.st_mtime_ns) != (item.size, item.mtime_ns)


def _move(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` without overwriting anything; return where it went.

    A hard link claims the target name atomically (it fails if the name exists); across
    file systems the file is copied to an exclusively created name instead. The source is
    removed only once the copy is complete.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for n in itertools.count():
        target = folder / (path.name if n == 0 else f"{path.stem}-{n}{path.suffix}")
        try:
            os.link(path, target)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
                raise
            try:
                with path.open("rb") as src, target.open("xb") as dst:
                    shutil.copyfileobj(src, dst)
            except FileExistsError:
                continue
            shutil.copystat(path, target)
        path.unlink()
        return target
    raise AssertionError("unreachable")  # pragma: no cover


def _write_reason(target: Path, item: _File, as_of: dt.date) -> None:
    reason = target.with_name(target.name + ".reason")
    reason.write_text(
        f"{item.reason}\n"
        f"file: {item.path.name} (from {item.path.parent})\n"
        f"size: {item.size} bytes\n"
        f"sha256: {item.sha256}\n"
        f"collection day: {as_of.isoformat()}\n"
        f"rejected at: {utcnow_naive():%Y-%m-%d %H:%M:%S} UTC\n",
        encoding="utf-8",
    )
