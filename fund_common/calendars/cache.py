"""Calendars computed by the library, kept per host and library version.

The library's sessions of a calendar depend only on the calendar and the library's version, so
each computation (about a second: the library imports pandas) is kept as JSON in
``$XDG_CACHE_HOME/fund-scheduler/calendars/`` (default ``~/.cache/...``), one file per name and
version. The daemon (which never imports the library) stores a calendar from there without
starting a child; the CLI and child processes compute once per host. ``SCHEDULER_CALENDAR_CACHE``
names another folder, or ``off``. A cache that cannot be read or written is no cache (a debug
line); a file that is not a calendar is ignored.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from fund_common.calendars.model import SessionCalendar

__all__ = ["CACHE_ENV", "cache_dir", "cached", "keep"]

CACHE_ENV = "SCHEDULER_CALENDAR_CACHE"
logger = logging.getLogger("fund_common.calendars")


def cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The cache folder, or None when it is switched off or there is no home to put it in."""
    environ = os.environ if environ is None else environ
    chosen = environ.get(CACHE_ENV, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = environ.get("XDG_CACHE_HOME", "").strip()
    if base:
        return Path(base) / "fund-scheduler" / "calendars"
    home = environ.get("HOME", "").strip()
    return Path(home) / ".cache" / "fund-scheduler" / "calendars" if home else None


def _path(folder: Path, name: str, version: str) -> Path:
    return folder / f"{quote(name, safe='')}@exchange_calendars-{quote(version, safe='')}.json"


def cached(
    name: str, version: str | None, environ: Mapping[str, str] | None = None
) -> SessionCalendar | None:
    """The calendar ``name`` as library ``version`` computed it on this host, or None."""
    folder = cache_dir(environ)
    if folder is None or not version:
        return None
    path = _path(folder, name, version)
    try:
        calendar = SessionCalendar.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.debug("calendar cache %s not used: %s", path, exc)
        return None
    return calendar if calendar.name == name else None


def keep(calendar: SessionCalendar, version: str | None, environ: Mapping[str, str] | None = None) -> None:
    """Keep ``calendar`` as computed by library ``version`` (written whole, then renamed)."""
    folder = cache_dir(environ)
    if folder is None or not version:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=folder, delete=False, suffix=".tmp", encoding="utf-8"
        ) as out:
            json.dump(calendar.to_json(), out)
        os.replace(out.name, _path(folder, calendar.name, version))
    except OSError as exc:
        logger.debug("calendar %s not cached in %s: %s", calendar.name, folder, exc)
