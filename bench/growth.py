"""How cost grows: the daemon's figures a user feels at 10 / 100 / 1,000 / 10,000 jobs and at
10k / 100k / 1M history rows, each step's growth set against the growth of the size.

By jobs: this checkout's daemon (HTTP on) in a temporary home with ``N`` daily cron jobs (as
:mod:`bench.restart_catchup` writes them, every one due three hours or more from now): the first
start (it stores the jobs) and a restart, each until ``start`` returns (the daemon answered that
it is ready and listed the jobs), the idle RSS and CPU, ``status``, ``jobs`` and
``GET /api/jobs``. By history rows: a home with 12 such jobs whose ``job_executions`` table (as
the migrations create it) is filled in bulk with SQL with a run per job every five minutes
(3 % failures; the same density at every size, so a larger history is an older one): a restart,
``status``, ``history --limit 50``, ``history --job J --limit 50``,
``GET /api/executions?job=J&limit=50``, ``GET /api/status`` and the cleanup's purge of the
oldest tenth of the rows (``store.history.purge_older_than``, the daemon stopped).

Each time is the best of ``--repeat`` calls after a warming one (a call over a second counts,
and a figure stops calling after a minute; ``--quick``: 2 calls, after 2 s). A step from size
``n`` to ``k*n`` grows faster than linearly when its value grows more than ``k``-fold, or when
its increment is more than ``k`` times the previous step's increment (a fixed cost hides a
per-item cost that grows; a value or an increment below the figure's noise floor counts as the
floor); see :data:`RULE`.
Usage: python -m bench.growth [--quick] [--jobs-sizes ...] [--rows-sizes ...]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sqlite3
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench.homes import DaemonHome, cpu_seconds, rss_mib
from bench.restart_catchup import jobs_toml
from bench.results import result

JOB_SIZES = (10, 100, 1_000, 10_000)
ROW_SIZES = (10_000, 100_000, 1_000_000)
#: The history's jobs and how often each ran.
HISTORY_JOBS = 12
EVERY = timedelta(minutes=5)
PROBE_JOB = "job3"
#: Measurement noise allowed for (a shared machine): a step is flagged beyond this many times linear.
SLACK = 1.5
RULE = (
    "rule: a x{k} step is at most linear when the value grows at most {k}x and its increment is at\n"
    "most {k}x the previous step's increment (the per-item cost does not rise), both with {slack:g}x\n"
    "slack for a shared machine's noise (ratio/size up to {slack:g}); a value or increment below the\n"
    "figure's noise floor counts as the floor (a fixed cost such as 5 ms -> 8 ms passes; a per-item\n"
    "cost that rises does not). exp: log(ratio)/log(size factor), or of the increments' ratio when\n"
    "that is larger and both are above the floor; 1.0 is linear, 0 flat; '!' marks a step faster\n"
    "than linear. Floors: 200 ms start, 30 ms CLI, 10 ms HTTP, 20 ms purge, 2 MiB, 0.005 cores.\n"
    "Times: the best of the calls (on a shared machine the least disturbed call is the cost)."
)


@dataclass
class Figure:
    """One measured figure at each size (``unit``: its printed unit; ``floor``: the noise floor
    of an increment, in that unit)."""

    name: str
    unit: str
    floor: float
    values: dict[int, float] = field(default_factory=dict)


@dataclass
class Plan:
    """How hard to measure: calls per timed figure, seconds a figure may take beyond its first
    call, idle seconds before the idle figures and the window of the CPU reading; ``jobs_cli``:
    whether to time the ``jobs`` command (the daemon's answer is ``status``'s)."""

    repeat: int = 7
    budget: float = 60.0
    settle: float = 3.0
    window: float = 10.0
    jobs_cli: bool = True


QUICK = Plan(repeat=2, budget=2.0, settle=0.5, window=2.0, jobs_cli=False)


@dataclass
class Step:
    figure: str
    small: int
    large: int
    ratio: float
    exponent: float
    linear: bool
    why: str


# -- measuring ---------------------------------------------------------------------------------


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def best_of(call: Callable[[], object], repeat: int, budget: float) -> float:
    """The least of up to ``repeat`` timed calls after a warming one (file cache, the daemon's
    first answer); a slow first call (over a second) counts as a sample, and no call starts once
    ``budget`` seconds are spent (one sample at least)."""
    first = timed(call)
    samples = [first] if first > 1.0 else []
    spent = first
    while len(samples) < repeat and (not samples or spent + samples[-1] <= budget):
        samples.append(timed(call))
        spent += samples[-1]
    return min(samples)


def cli_ok(home: DaemonHome, *args: str) -> Callable[[], None]:
    def call() -> None:
        done = home.cli(*args, timeout=300)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-800:]}")

    return call


def http_ok(home: DaemonHome, path: str) -> Callable[[], None]:
    url = f"http://127.0.0.1:{home.env['SCHEDULER_HTTP_PORT']}{path}"

    def call() -> None:
        with urllib.request.urlopen(url, timeout=300) as response:
            json.loads(response.read())

    return call


def start_timed(home: DaemonHome) -> float:
    return timed(lambda: home.start(timeout=600))


def idle_cpu(pid: int, seconds: float) -> float:
    """The process's CPU in cores over ``seconds`` of wall time."""
    cpu, wall = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - cpu) / (time.monotonic() - wall)


def by_jobs(sizes: Sequence[int], plan: Plan) -> list[Figure]:
    begin = time.monotonic()
    figures = {
        "first": Figure("first start (stores the jobs), to ready", "s", 0.2),
        "restart": Figure("restart, to ready", "s", 0.2),
        "rss": Figure("idle RSS", "MiB", 2.0),
        "cpu": Figure("idle CPU", "cores", 0.005),
        "status": Figure("`status`", "s", 0.03),
        "jobs": Figure("`jobs`", "s", 0.03),
        "api": Figure("GET /api/jobs", "s", 0.01),
    }
    for n in sizes:
        home = DaemonHome(http=True)
        (home.home / "jobs.toml").write_text(jobs_toml(n, None))
        try:
            figures["first"].values[n] = start_timed(home)
            home.stop()
            figures["restart"].values[n] = start_timed(home)
            time.sleep(plan.settle)
            figures["cpu"].values[n] = idle_cpu(home.pid, plan.window)
            figures["rss"].values[n] = rss_mib(home.pid)
            figures["status"].values[n] = best_of(cli_ok(home, "status"), plan.repeat, plan.budget)
            if plan.jobs_cli:
                figures["jobs"].values[n] = best_of(cli_ok(home, "jobs"), plan.repeat, plan.budget)
            figures["api"].values[n] = best_of(http_ok(home, "/api/jobs"), plan.repeat, plan.budget)
        finally:
            home.__exit__()
        print(f"  measured {n:,} jobs ({time.monotonic() - begin:.0f} s)", file=sys.stderr, flush=True)
    return [f for f in figures.values() if f.values]


def fill_history(db: str, rows: int, now: datetime) -> float:
    """``rows`` runs into ``job_executions``, oldest first (ids in time order): row ``n`` back
    from the newest is job ``n % 12``'s run ``n // 12`` periods before ``now``. Seconds taken."""
    started = time.perf_counter()
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA synchronous=OFF")
        every = int(EVERY.total_seconds())
        with con:
            con.execute(
                """
                WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < :rows),
                r AS (SELECT :rows - 1 - i AS n FROM c),
                t AS (SELECT n, n % :jobs AS j,
                             datetime(:now, '-' || ((n / :jobs + 1) * :every + (n % :jobs) * 10)
                                      || ' seconds') AS s
                      FROM r)
                INSERT INTO job_executions (job_id, scheduled_run_time, started_at, finished_at, status,
                    duration, exit_code, error, output_tail, host, pid, "trigger", run_date, attempt)
                SELECT 'job' || j, s || '.000000', s || '.000000',
                       datetime(s, '+3 seconds') || '.000000',
                       CASE WHEN n % 33 = 0 THEN 'failed' ELSE 'success' END, 3.0,
                       CASE WHEN n % 33 = 0 THEN 1 ELSE 0 END,
                       CASE WHEN n % 33 = 0 THEN 'exit status 1' END,
                       'loaded 5,000 NAVs' || char(10), 'bench', 4242, 'schedule', date(s), 1
                FROM t
                """,
                {"rows": rows, "jobs": HISTORY_JOBS, "every": every, "now": f"{now:%Y-%m-%d %H:%M:%S}"},
            )
        con.execute("ANALYZE")  # as a database in use for a while would have been (none: the same)
    finally:
        con.close()
    return time.perf_counter() - started


def purge_tenth(db: str, rows: int, now: datetime) -> float:
    """Seconds the cleanup's purge takes to delete the oldest tenth of ``rows``."""
    from fund_scheduler.store import history
    from fund_scheduler.store.engine import make_engine

    span = EVERY * (rows // HISTORY_JOBS)
    cutoff = now - span * 0.9
    engine = make_engine(f"sqlite:///{db}")
    try:
        started = time.perf_counter()
        deleted = history.purge_older_than(engine, 0, now=cutoff)
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    if not rows // 12 <= deleted <= rows // 8:
        raise SystemExit(f"the purge deleted {deleted:,} of {rows:,} rows, not about a tenth")
    return seconds


def by_rows(sizes: Sequence[int], plan: Plan) -> list[Figure]:
    figures = {
        "restart": Figure("restart, to ready", "s", 0.2),
        "status": Figure("`status`", "s", 0.03),
        "history": Figure("`history --limit 50`", "s", 0.03),
        "history_job": Figure(f"`history --job {PROBE_JOB} --limit 50`", "s", 0.03),
        "api": Figure(f"GET /api/executions?job={PROBE_JOB}&limit=50", "s", 0.01),
        "api_status": Figure("GET /api/status (7-day counts)", "s", 0.01),
        "purge": Figure("cleanup: purge the oldest tenth", "s", 0.02),
    }
    template = DaemonHome(http=False)
    (template.home / "jobs.toml").write_text(jobs_toml(HISTORY_JOBS, None))
    try:
        template.start(timeout=600)  # the migrations create the schema, the jobs are stored
        template.stop()
        for n in sizes:
            home = DaemonHome(http=True)
            (home.home / "jobs.toml").write_text(jobs_toml(HISTORY_JOBS, None))
            shutil.copytree(template.home / "data", home.home / "data")
            _history_figures(home, n, plan, figures)
    finally:
        template.__exit__()
    return list(figures.values())


def _history_figures(home: DaemonHome, n: int, plan: Plan, figures: dict[str, Figure]) -> None:
    """Fill ``home``'s history with ``n`` rows, then measure each figure at ``n``."""
    db = str(home.home / "data" / "scheduler.db")
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    try:
        filled = fill_history(db, n, now)
        print(f"  {n:,} history rows written in {filled:.1f} s", file=sys.stderr, flush=True)
        figures["restart"].values[n] = start_timed(home)
        timings = {
            "status": cli_ok(home, "status"),
            "history": cli_ok(home, "history", "--limit", "50"),
            "history_job": cli_ok(home, "history", "--job", PROBE_JOB, "--limit", "50"),
            "api": http_ok(home, f"/api/executions?job={PROBE_JOB}&limit=50"),
            "api_status": http_ok(home, "/api/status"),
        }
        for key, call in timings.items():
            figures[key].values[n] = best_of(call, plan.repeat, plan.budget)
        home.stop()
        figures["purge"].values[n] = purge_tenth(db, n, now)
    finally:
        home.__exit__()


# -- judging -----------------------------------------------------------------------------------


def steps_of(figure: Figure) -> list[Step]:
    """Each step's verdict by the :data:`RULE` (a value or increment below the floor counts as
    the floor: noise on a small fixed cost is not growth)."""
    sizes = sorted(figure.values)
    floor = figure.floor
    steps = []
    previous_increment: float | None = None
    for small, large in zip(sizes, sizes[1:], strict=False):
        k = large / small
        a, b = figure.values[small], figure.values[large]
        ratio = b / a if a > 0 else math.inf
        exponent = math.log(max(b, floor) / max(a, floor)) / math.log(k)
        increment = b - a
        linear = increment <= (k * SLACK - 1) * max(a, floor)
        why = (
            ""
            if linear
            else (
                f"{_fmt(a, figure.unit)} -> {_fmt(b, figure.unit)}: more than {k * SLACK:g}x "
                f"(the smaller value or the floor, {_fmt(floor, figure.unit)})"
            )
        )
        if previous_increment is not None and increment > floor:
            if previous_increment > floor:
                exponent = max(exponent, math.log(increment / previous_increment) / math.log(k))
            allowed = k * max(previous_increment, floor) * SLACK
            if increment > allowed:
                linear = False
                why = why or (
                    f"increment {_fmt(increment, figure.unit)} > {k * SLACK:g}x the previous step's "
                    f"{_fmt(max(previous_increment, floor), figure.unit)}"
                )
        steps.append(Step(figure.name, small, large, ratio, exponent, linear, why))
        previous_increment = increment
    return steps


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if abs(value) < 10 else f"{value:.1f} s"
    if unit == "cores":
        return f"{value:.3f}"
    return f"{value:.1f}"


def _size(n: int) -> str:
    return (
        f"{n // 1_000_000}M"
        if n >= 1_000_000 and n % 1_000_000 == 0
        else (f"{n // 1000}k" if n >= 10_000 and n % 1000 == 0 else f"{n:,}")
    )


def table(title: str, figures: list[Figure]) -> list[Step]:
    sizes = sorted({n for f in figures for n in f.values})
    pairs = list(zip(sizes, sizes[1:], strict=False))
    head = [f"{'figure':<44}"] + [f"{_size(n):>9}" for n in sizes]
    head += [f"  {_size(a)}->{_size(b)}: ratio/size exp" for a, b in pairs]
    print(title)
    print("".join(head))
    every: list[Step] = []
    for figure in figures:
        steps = steps_of(figure)
        every.extend(steps)
        cells = [f"{figure.name + ' (' + figure.unit + ')':<44}"]
        cells += [f"{_fmt(figure.values[n], figure.unit).replace(' ms', 'ms'):>9}" for n in sizes]
        for step in steps:
            mark = "" if step.linear else " !"
            norm = step.ratio / (step.large / step.small)
            cell = f"{norm:.2f}" if norm < math.inf else "-"
            cell += f" {step.exponent:+.2f}{mark}"
            cells.append(f"  {cell:>{len(_size(step.small)) + len(_size(step.large)) + 21}}")
        print("".join(cells))
    print()
    return every


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 calls per figure (1 when a call takes over a second), 2 idle seconds, no `jobs` command",
    )
    parser.add_argument("--jobs-sizes", type=int, nargs="*", default=list(JOB_SIZES), help="job counts")
    parser.add_argument("--rows-sizes", type=int, nargs="*", default=list(ROW_SIZES), help="history sizes")
    parser.add_argument("--repeat", type=int, help="calls per timed figure (default 7; --quick 2)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    if args.repeat:
        plan.repeat = args.repeat
    begin = time.monotonic()
    steps: list[Step] = []
    calls = f"times: best of up to {plan.repeat} calls"
    if args.jobs_sizes:
        jobs = by_jobs(args.jobs_sizes, plan)
        steps += table(f"by jobs (daily cron jobs, none due for 3 h; {calls}):", jobs)
    if args.rows_sizes:
        rows = by_rows(args.rows_sizes, plan)
        title = f"by history rows ({HISTORY_JOBS} jobs, a run each every {EVERY.seconds // 60} min; {calls}):"
        steps += table(title, rows)
    print(RULE.format(k=10, slack=SLACK))
    bad = [s for s in steps if not s.linear]
    for step in bad:
        print(f"  faster than linear: {step.figure}, {_size(step.small)} -> {_size(step.large)}: {step.why}")
    if not bad:
        print("  every step is at most linear")
    worst = max(steps, key=lambda s: s.exponent)
    print(f"({time.monotonic() - begin:.0f} s)")
    result(
        "growth: jobs 10 -> 10k, history 10k -> 1M rows (worst step exponent)",
        "linear (exponent 1.0)",
        f"{worst.exponent:.2f}: {worst.figure}, {_size(worst.small)} -> {_size(worst.large)}",
        f"{len(bad)} of {len(steps)} steps faster than linear",
        "every step <= linear",
        not bad,
    )
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
