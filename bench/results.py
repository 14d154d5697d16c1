"""One figure a benchmark measured, as a line :mod:`bench.run_all` collects into
``bench/results.md``: ``RESULT<TAB>figure<TAB>baseline<TAB>this<TAB>ratio<TAB>target<TAB>met``."""

from __future__ import annotations

PREFIX = "RESULT\t"
COLUMNS = ("figure", "baseline in the same run", "this project", "ratio", "target", "met")

__all__ = ["COLUMNS", "PREFIX", "parse", "result"]


def result(figure: str, baseline: str, this: str, ratio: str, target: str, met: bool | None) -> None:
    """Print the figure's line (``met`` None: the figure has no target)."""
    verdict = "-" if met is None else ("yes" if met else "no")
    print(PREFIX + "\t".join(v.replace("\t", " ") for v in (figure, baseline, this, ratio, target, verdict)))


def parse(output: str) -> list[tuple[str, ...]]:
    """The figures printed in ``output``."""
    return [tuple(line[len(PREFIX) :].split("\t")) for line in output.splitlines() if line.startswith(PREFIX)]
