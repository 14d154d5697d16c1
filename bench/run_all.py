"""Run the benchmarks one after the other and write ``bench/results.md``: a table of every figure
(each against its baseline, measured in the same run) and each script's whole output.

``--quick`` (under ten minutes on two cores) uses smaller sizes where a script has them: the
metrics job on 300 funds (SQLite and MariaDB), ten ``status`` calls a side, 3 idle seconds
before RSS, 20 s of every-second jobs instead of 60 (10 s per rate of child jobs), the growth
table at fewer calls per size, the chunked metrics job on 5,000 funds x 10 years instead of
100,000 (the full run builds 246 M NAV rows per database: about 35 minutes and 25 GB of disk at a
time); the restart always has 10,000 overdue jobs. The MariaDB figures need the server binaries
(``mariadb-server``) and are left out without them.
Usage, from the project folder: python bench/run_all.py [--quick] [--out bench/results.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from bench.results import COLUMNS, parse  # noqa: E402

#: (script, its arguments in full, in --quick)
RUNS = [
    ("status_latency", ["--runs", "30"], ["--runs", "10"]),
    ("idle_footprint", ["--settle", "10"], ["--settle", "3"]),
    ("restart_catchup", ["--jobs", "10000"], ["--jobs", "10000"]),
    ("fire_latency", ["--part", "thread", "--seconds", "60"], ["--part", "thread", "--seconds", "20"]),
    (
        "fire_latency",
        ["--part", "child", "--seconds", "30"],
        ["--part", "child", "--seconds", "10", "--rates", "10,20,40"],
    ),
    (
        "metrics_bench",
        ["--funds", "5000", "--runs", "3", "--mariadb"],
        ["--quick", "--runs", "1", "--mariadb"],
    ),
    (
        "metrics_bench",
        ["--large", "--funds", "100000", "--years", "10", "--mariadb"],
        ["--large", "--funds", "5000", "--years", "10", "--mariadb"],
    ),
    ("growth", [], ["--quick"]),
    ("remote_latency", ["--rates", "5,20,60", "--seconds", "20"], ["--rates", "5,20", "--seconds", "10"]),
]


def _has_mariadb() -> bool:
    return any(shutil.which(name) or Path(f"/usr/sbin/{name}").exists() for name in ("mariadbd", "mysqld"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under ten minutes")
    parser.add_argument("--out", type=Path, default=HERE / "bench" / "results.md")
    args = parser.parse_args(argv)
    figures: list[tuple[str, ...]] = []
    sections: list[str] = []
    failed: list[str] = []
    begin = time.monotonic()
    for name, full, quick in RUNS:
        options = list(quick if args.quick else full)
        if "--mariadb" in options and not _has_mariadb():
            options.remove("--mariadb")
        command = [sys.executable, "-m", f"bench.{name}", *options]
        print(f"== {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        shown = "\n".join(line for line in done.stdout.splitlines() if not line.startswith("RESULT\t"))
        print(shown, flush=True)
        figures.extend(parse(done.stdout))
        if done.returncode not in (0, 1):  # 1: ran, a target not met; anything else: it broke
            failed.append(name)
            shown += f"\n(exit status {done.returncode})\n{done.stderr[-2000:]}"
        sections.append(
            f"### `python -m bench.{name} {' '.join(options)}` ({seconds:.0f} s)\n\n```text\n{shown}\n```\n"
        )
    total = time.monotonic() - begin
    args.out.write_text(_report(args.quick, figures, sections, total), encoding="utf-8")
    print(f"wrote {args.out} ({total:.0f} s)")
    return 1 if failed else 0


def _report(quick: bool, figures: list[tuple[str, ...]], sections: list[str], total: float) -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    head = [
        f"# Benchmark results{' (--quick)' if quick else ''}",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {total:.0f} s on {platform.node()}: "
        f"{cpus} CPUs, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}. "
        "Each figure is measured against its baseline in the same run (the machine may be shared: "
        "ratios, not absolute times, are what to compare). Written by `python bench/run_all.py"
        f"{' --quick' if quick else ''}`.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join("---" for _ in COLUMNS) + " |",
        *("| " + " | ".join(figure) + " |" for figure in figures),
        "",
        "## Each script's output",
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(sections)


if __name__ == "__main__":
    sys.exit(main())
