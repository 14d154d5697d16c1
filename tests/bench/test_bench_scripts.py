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
#: Every script with a ``main`` (``homes`` is what the daemon benchmarks share).
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py") if "\ndef main(" in p.read_text())


def test_there_are_bench_scripts() -> None:
    expected = {"status_latency", "idle_footprint", "jobstore_bench", "metrics_bench", "upsert_bench"}
    assert expected <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_bench_script_imports_and_prints_its_usage(name: str) -> None:
    importlib.import_module(f"bench.{name}")
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--help"],
        cwd=BENCH.parent, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
