"""How the CLI prints: times in a zone, tables, JSON, and a closed pipe handled quietly."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fund_common.texttable import format_table

__all__ = ["error", "fmt_time", "format_table", "print_json", "row_zone"]


def fmt_time(value: datetime | str | None, tz: ZoneInfo | None = None) -> str:
    """``2026-12-02 19:00:00 CST`` in ``tz`` (as stored, UTC, without one); ``-`` for None."""
    if value is None:
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if tz is not None:
        value = value.astimezone(tz)
    return value.strftime("%Y-%m-%d %H:%M:%S %Z")


def row_zone(row: Mapping[str, Any]) -> ZoneInfo:
    """The timezone of a job row."""
    return ZoneInfo(row["timezone"])


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def print_json(data: Any) -> None:
    print(json.dumps(data, default=_json_default, indent=2))


def error(line: str) -> None:
    """One ``error: ...`` line on stderr."""
    print(f"error: {line}", file=sys.stderr)
