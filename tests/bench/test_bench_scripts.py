"""The benchmark scripts stay runnable as the code they measure moves.

Each script is imported (its imports resolve against today's packages) and its ``--help``
runs as ``python -m bench.<name>``, the way the README runs them.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p.stem for p in BENCH.glob("*_bench.py"))


def test_there_are_bench_scripts() -> None:
    assert {"daemon_bench", "jobstore_bench", "metrics_bench", "upsert_bench"} <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_bench_script_imports_and_prints_its_usage(name: str) -> None:
    importlib.import_module(f"bench.{name}")
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--help"],
        cwd=BENCH.parent, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
