"""The installed distribution holds every package of the checkout: ``[tool.setuptools] packages``
in pyproject.toml lists each folder with an ``__init__.py`` (a package left out installs without
its modules, and only an installed copy would notice)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Checkout folders installed under another name (pyproject.toml's package-dir).
RENAMED = {"jobs": "fund_scheduler_jobs", "config": "fund_scheduler.config"}


def test_every_package_of_the_checkout_is_installed() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = set()
    for top in ("fund_common", "fund_scheduler", "fundpipe", "fund_scheduler_migrations", "jobs"):
        for init in (ROOT / top).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT).parts
            if "__pycache__" in parts or "versions" in parts:
                continue
            found.add(".".join((RENAMED.get(parts[0], parts[0]), *parts[1:])))
    assert found - listed == set(), "packages missing from pyproject.toml"
