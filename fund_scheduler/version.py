"""The program's version: the installed distribution's, else the checkout's ``pyproject.toml``."""

from __future__ import annotations

import functools

DISTRIBUTION = "fund-scheduler"


@functools.cache
def version() -> str:
    """``0.2.0``; ``unknown`` when neither the distribution nor a checkout says."""
    from importlib import metadata

    from fund_scheduler.program import CHECKOUT

    if CHECKOUT is not None:  # a checkout's own file wins over an older installed copy
        import tomllib

        try:
            with open(CHECKOUT / "pyproject.toml", "rb") as f:
                return str(tomllib.load(f)["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            pass
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"
