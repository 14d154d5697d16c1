"""Metrics job speed on SQLite: the seeds' per-fund approach vs fundpipe's one-pass job.

Builds N funds x DAYS trading days of NAVs in a temporary SQLite file (``metadata.create_all``,
WAL as ``fund_scheduler.store.engine.make_engine`` sets it up, one Core ``executemany`` per block of
funds),
then times on that file, in the same run:
  (a) baseline, the seeds' approach: one ``pandas.read_sql`` per fund (its last 757 NAVs, a
      bound-parameter query on the primary key), that fund's metrics in pandas, one
      ``DataFrame.to_sql(..., if_exists="append")`` per fund. It is given the project's
      engine (WAL, ``synchronous=NORMAL``); the seeds' plain ``create_engine`` would make it
      slower still, so the ratio is the approach's, not the set-up's;
  (b) this project: ``fundpipe.tasks.compute_metrics``, each run in a fresh child interpreter
      so that its peak RSS (``VmHWM``, see :func:`peak_rss_mb`; the largest of the runs) is its
      own and not (a)'s; the time is the call's, imports excluded (the child's wall time is
      printed too); the median of --runs runs.
Both see the file warm in the page cache (it was just written). The two results are compared
fund by fund and must agree to 1e-9 relative, or the run fails. Prints both times, the ratio and
the peak RSS of (b), and whether the issue's targets (>= 20x, < 600 MB at 5,000 funds) are met.
With ``--mariadb`` the same data is also loaded into a MariaDB server started from the installed
binaries (as the tests start one) and (b) runs there: its time against (b) on SQLite (target at
most 1.5x) and its metrics, which must equal the SQLite run's.

With ``--large`` it measures the issue's large set instead: --funds (default 100,000) x --years
(default 10) of NAVs generated inside each database (SQLite, and MariaDB with ``--mariadb``, on a
server with a 4 GB buffer pool), then, each in a child of its own, the whole-window job as it was
before chunking (the baseline: ``load_nav_window``, one pass, one upsert) and
``fundpipe.tasks.compute_metrics`` in chunks: their times, peak RSS, equal results (and equal on
both databases), against the targets (< 2 min, < 2 GB at 100,000 funds x 10 years).

Usage, from the project folder:
    python -m bench.metrics_bench [--funds 5000] [--days 756] [--runs 3] [--quick] [--keep DIR] [--mariadb]
    python -m bench.metrics_bench --large [--funds 100000] [--years 10] [--chunk-funds N] [--mariadb]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from bench.results import result
from fund_scheduler.store.engine import make_engine
from fundpipe.schema import fund_metrics, fund_nav, metadata

ROOT = Path(__file__).resolve().parent.parent

AS_OF = dt.date(2024, 6, 3)
WINDOW_NAVS = 757  # 756 daily returns
MIN_OBSERVATIONS = 60
TARGET_RATIO = 20.0
TARGET_RSS_MB = 600.0
TARGET_MARIADB_RATIO = 1.5  # (b) on MariaDB against (b) on SQLite, the same data
METRICS = [
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "return_1m",
    "return_3m",
    "return_6m",
    "return_1y",
]


# --------------------------------------------------------------------------- data


def build_database(engine: sa.Engine, funds: int, days: int, seed: int = 20240603) -> int:
    """Fill ``fund_nav`` with ``funds`` x ``days`` business days of synthetic NAVs; returns rows.

    Random walks with a 4-decimal unit NAV; most funds pay dividends now and then, which their
    accumulated NAV carries on (10 % publish no accumulated NAV at all); about 1 % of the
    (fund, date) rows are missing (suspensions, late data); 3 % of the funds were launched inside
    the window, a few of them too recently to have 60 returns. One ``executemany`` per block of
    funds through a Core ``INSERT`` (bound parameters).
    """
    metadata.create_all(engine)
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(end=AS_OF, periods=days).strftime("%Y-%m-%d").to_numpy(dtype=object)
    columns = ["fund_code", "nav_date", "unit_nav", "accum_nav", "daily_return", "source", "batch_id"]
    # Untyped columns: the dates are already ISO text, so no per-value conversion on the way in.
    insert = sa.insert(sa.table("fund_nav", *(sa.column(c) for c in [*columns, "updated_at"])))
    stamp = "2024-06-03 19:00:00.000000"
    total = 0
    block = 250
    with engine.begin() as conn:
        for first in range(0, funds, block):
            k = min(block, funds - first)
            returns = rng.normal(0.0003, 0.012, size=(days, k))
            unit = np.round(np.cumprod(1.0 + returns, axis=0), 4)
            dividends = np.where(rng.random((days, k)) < 0.003, np.round(unit * 0.02, 4), 0.0)
            accum = np.round(unit + np.cumsum(dividends, axis=0), 4)
            accum[:, rng.random(k) < 0.10] = np.nan
            present = rng.random((days, k)) > 0.01
            late = rng.random(k) < 0.03
            launch = rng.integers(0, days, size=k)
            present[np.arange(days)[:, None] < np.where(late, launch, 0)[None, :]] = False
            daily = np.full_like(unit, np.nan)
            daily[1:] = np.round((unit[1:] / unit[:-1] - 1.0) * 100.0, 2)
            fund, day = np.nonzero(present.T)  # fund-major, as a backfill would arrive
            codes = np.array([f"{first + j:06d}" for j in range(k)], dtype=object)
            values = zip(
                codes[fund].tolist(),
                dates[day].tolist(),
                unit[day, fund].tolist(),
                _none_for_nan(accum[day, fund]),
                _none_for_nan(daily[day, fund]),
                strict=True,
            )
            rows = [
                dict(zip(columns, (c, d, u, a, r, "bench", "bench"), strict=True), updated_at=stamp)
                for c, d, u, a, r in values
            ]
            conn.execute(insert, rows)
            total += len(rows)
    return total


def _none_for_nan(values: np.ndarray) -> list[float | None]:
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


# --------------------------------------------------------------------------- (a) baseline


def seeds_metrics_job(engine: sa.Engine, calc_date: dt.date, risk_free_rate: float = 0.0) -> int:
    """The seeds' metrics job, kept here as the thing to beat: one fund at a time.

    For each fund: read its last 757 NAVs with ``pandas.read_sql`` (a bound-parameter query on
    the primary key), daily returns from accumulated NAV where published else unit NAV, the
    metrics with pandas, and one ``to_sql(..., if_exists="append")`` of the fund's row.
    """
    codes = pd.read_sql(sa.select(fund_nav.c.fund_code).distinct(), engine)["fund_code"]
    written = 0
    for code in codes:
        query = (
            sa.select(fund_nav.c.nav_date, fund_nav.c.unit_nav, fund_nav.c.accum_nav)
            .where(fund_nav.c.fund_code == code, fund_nav.c.nav_date <= calc_date)
            .order_by(fund_nav.c.nav_date.desc())
            .limit(WINDOW_NAVS)
        )
        navs = pd.read_sql(query, engine).sort_values("nav_date")
        nav = navs["accum_nav"].fillna(navs["unit_nav"])
        returns = nav.pct_change().dropna()
        if len(returns) < MIN_OBSERVATIONS:
            continue
        row = {"fund_code": code, "calc_date": calc_date, "window_days": WINDOW_NAVS - 1}
        row["n_obs"] = len(returns)
        row.update(_seed_fund_metrics(returns, risk_free_rate))
        row["updated_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        pd.DataFrame([row]).to_sql("fund_metrics", engine, if_exists="append", index=False)
        written += 1
    return written


def _seed_fund_metrics(returns: pd.Series, risk_free_rate: float) -> dict[str, float]:
    n = len(returns)
    growth = (1.0 + returns).prod()
    annual_return = growth ** (252.0 / n) - 1.0
    std = returns.std()
    excess = returns - risk_free_rate / 252.0
    sharpe = excess.mean() / excess.std() * math.sqrt(252.0)
    downside = math.sqrt((returns.clip(upper=0.0) ** 2).mean()) * math.sqrt(252.0)
    wealth = pd.concat([pd.Series([100.0]), 100.0 * (1.0 + returns).cumprod()], ignore_index=True)
    peak = wealth.cummax()
    max_drawdown = ((wealth - peak) / peak).min()
    out = {
        "annual_return": annual_return,
        "annual_volatility": std * math.sqrt(252.0),
        "sharpe_ratio": sharpe,
        "sortino_ratio": returns.mean() * 252.0 / downside if downside else None,
        "max_drawdown": max_drawdown,
        "calmar_ratio": annual_return / abs(max_drawdown) if max_drawdown < 0 else None,
    }
    for name, days in {"return_1m": 21, "return_3m": 63, "return_6m": 126, "return_1y": 252}.items():
        out[name] = (1.0 + returns.iloc[-days:]).prod() - 1.0 if n >= days else None
    return out


# --------------------------------------------------------------------------- (b) this project


def project_child(url: str, calc_date: str, mode: str = "chunked", chunk_funds: str = "") -> None:
    """Run in the child interpreter: time ``fundpipe.tasks.compute_metrics`` (``mode`` "whole":
    :func:`whole_window_job`, the large set's baseline); print JSON."""
    started = time.perf_counter()
    from fundpipe import tasks
    from fundpipe.settings import DEFAULT_METRICS_CHUNK_FUNDS, FundSettings

    engine = make_engine(url)
    chunk = int(chunk_funds) if chunk_funds else DEFAULT_METRICS_CHUNK_FUNDS
    settings = FundSettings(min_observations=MIN_OBSERVATIONS, metrics_chunk_funds=chunk)
    day = dt.date.fromisoformat(calc_date)
    if mode == "whole":
        import fundpipe.calc  # noqa: F401  (imports before the clock starts, as for the job)
    begin = time.perf_counter()
    summary = (
        whole_window_job(engine, day) if mode == "whole" else tasks.compute_metrics(engine, settings, day)
    )
    seconds = time.perf_counter() - begin
    report = {
        "seconds": seconds,
        "summary": summary,
        "peak_rss_mb": peak_rss_mb(),
        "since_start": begin - started,
    }
    print(json.dumps(report))


def peak_rss_mb() -> float:
    """This process's peak resident set size since it was exec'd, in MB.

    ``VmHWM`` of ``/proc/self/status``: the high-water mark of the current address space.
    Not ``getrusage``: Linux carries the ``ru_maxrss`` of the image replaced by ``execve``
    over, and that image is a fork of the parent, with (a)'s memory in it.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: an upper bound


def run_project(url: str, *mode: str) -> tuple[dict, float]:
    """(the child's JSON report, the child's whole wall time) of (b) on the database at ``url``
    (``mode``: see :func:`project_child`)."""
    begin = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.metrics_bench", "--child", url, AS_OF.isoformat(), *mode],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - begin


# --------------------------------------------------------------------------- comparison


def stored_metrics(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(fund_metrics.c.fund_code, fund_metrics.c.n_obs, *[fund_metrics.c[m] for m in METRICS])
        ).all()
    frame = pd.DataFrame(rows, columns=["fund_code", "n_obs", *METRICS]).set_index("fund_code").sort_index()
    return frame.astype(float)


def worst_relative_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Largest relative difference over every metric of every fund (NaN == NaN; shapes must match)."""
    if list(a.index) != list(b.index):
        return math.inf
    x, y = a.to_numpy(), b.to_numpy()
    both_nan = np.isnan(x) & np.isnan(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(x - y) / np.maximum(np.abs(x), np.abs(y))
    rel = np.where(both_nan | (x == y), 0.0, rel)
    return float(np.nan_to_num(rel, nan=math.inf).max()) if rel.size else 0.0


# --------------------------------------------------------------------------- the large synthetic set

LARGE_TARGET_SECONDS = 120.0
LARGE_TARGET_RSS_MB = 2048.0
LARGE_TARGET_FUNDS, LARGE_TARGET_DAYS = 100_000, 2520  # the size the targets are set for
_LARGE_BLOCK = 2_000  # funds per INSERT ... SELECT


def _large_nav_sql(dialect: str, lo: int, hi: int, days: int) -> str:
    """One INSERT ... SELECT of funds ``lo`` to ``hi - 1`` x the ``bench_dates`` days, in primary-key
    order, computed by the database itself. Deterministic integer arithmetic on (fund f, day d),
    so SQLite and MariaDB hold the very same doubles (one correctly rounded division by 10,000):
    a trend, a 400-day wave (drawdowns), noise; accumulated NAV = unit + 0.03 per 250 days
    (dividends), none at all for every 10th fund; about 1 % of the rows missing, every 33rd
    fund launched late."""
    nav = (
        "(10000 + (f.f % 997) * 10 + d.d * (f.f % 9) + ABS(((d.d + f.f * 37) % 400) - 200) * 8"
        " + (f.f * 7919 + d.d * 104729 + f.f * d.d * 13) % 200)"
    )
    scale = "10000.0" if dialect == "sqlite" else "1e4"
    code = "printf('%06d', f.f)" if dialect == "sqlite" else "LPAD(f.f, 6, '0')"
    funds = (
        f"(WITH RECURSIVE f(f) AS (SELECT {lo} UNION ALL SELECT f + 1 FROM f WHERE f < {hi - 1})"
        " SELECT f FROM f)"
        if dialect == "sqlite"
        else f"(SELECT CAST(seq AS SIGNED) AS f FROM seq_{lo}_to_{hi - 1})"
    )
    join = "CROSS JOIN" if dialect == "sqlite" else "STRAIGHT_JOIN"  # funds outer: primary-key order
    return (
        "INSERT INTO fund_nav (fund_code, nav_date, unit_nav, accum_nav, daily_return, source, batch_id,"
        " updated_at) "
        f"SELECT {code}, d.nav_date, {nav} / {scale},"
        f" CASE WHEN f.f % 10 = 3 THEN NULL ELSE ({nav} + d.step * 300) / {scale} END,"
        " NULL, 'bench', 'bench', '2024-06-03 19:00:00'"
        f" FROM {funds} f {join} bench_dates d"
        f" WHERE (f.f * 31 + d.d * 17) % 100 <> 0 AND NOT (f.f % 33 = 5 AND d.d < (f.f * 7) % {days})"
    )


def build_large(engine: sa.Engine, funds: int, days: int) -> int:
    """Fill ``fund_nav`` with ``funds`` x ``days`` business days generated inside the database
    (:func:`_large_nav_sql`, one statement per 2,000 funds), the ``nav_date`` index dropped
    during the load and built afterwards (one sort instead of 250 M random inserts); returns
    the row count. SQLite runs the load without a journal (a bench file, rebuilt on failure)."""
    metadata.create_all(engine)
    dialect = engine.dialect.name
    index = next(iter(fund_nav.indexes))
    dates = pd.bdate_range(end=AS_OF, periods=days).strftime("%Y-%m-%d")
    with engine.begin() as conn:
        conn.execute(sa.schema.DropIndex(index))
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_dates")
        conn.exec_driver_sql("CREATE TABLE bench_dates (d INTEGER PRIMARY KEY, nav_date DATE, step INTEGER)")
        conn.execute(
            sa.text("INSERT INTO bench_dates VALUES (:d, :nav_date, :step)"),
            [{"d": i, "nav_date": text, "step": i // 250} for i, text in enumerate(dates)],
        )
    with engine.connect() as conn:
        if dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA journal_mode=OFF")
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for lo in range(0, funds, _LARGE_BLOCK):
            sql = _large_nav_sql(dialect, lo, min(funds, lo + _LARGE_BLOCK), days)
            conn.exec_driver_sql(sql if dialect == "sqlite" else sql.replace("%", "%%"))  # pymysql's % style
            conn.commit()
        conn.exec_driver_sql("DROP TABLE bench_dates")
        conn.execute(sa.schema.CreateIndex(index))
        if dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        rows = conn.execute(sa.select(sa.func.count()).select_from(fund_nav)).scalar_one()
        conn.commit()
    return rows


def whole_window_job(engine: sa.Engine, calc_date: dt.date) -> dict:
    """The baseline of the large set: the metrics job as it was before chunking, kept here. The
    whole window into memory at once (``fundpipe.navwindow.load_nav_window``), every fund's
    metrics in one pass, one upsert of them all."""
    from fund_common.clock import utcnow_naive
    from fundpipe.calc import _METRIC_COLUMNS, WINDOW_RETURNS
    from fundpipe.db import upsert_frame
    from fundpipe.metrics import fund_metrics as compute
    from fundpipe.metrics import nav_returns
    from fundpipe.navwindow import load_nav_window

    with engine.connect() as conn:
        window = load_nav_window(conn, calc_date, WINDOW_RETURNS + 1)
    returns = nav_returns(window.unit, window.accum)[1:]
    values = compute(returns, 0.0)
    keep = values["n_obs"] >= MIN_OBSERVATIONS
    frame = pd.DataFrame({"fund_code": window.codes[keep], "n_obs": values["n_obs"][keep]})
    for name in _METRIC_COLUMNS:
        column = values[name][keep]
        frame[name] = np.where(np.isfinite(column), column, np.nan)
    constants = {"calc_date": calc_date, "window_days": int(returns.shape[0]), "updated_at": utcnow_naive()}
    with engine.begin() as conn:
        upsert_frame(
            conn, fund_metrics, frame, constants=constants, update=["window_days", "n_obs", *_METRIC_COLUMNS]
        )
    return {"funds": int(keep.sum()), "skipped": int((~keep).sum()), "nav_rows": window.rows}


def large_runs(url: str, label: str, chunk_funds: int | None) -> dict:
    """On the database at ``url``: the whole-window baseline, then the chunked job, each in a
    child of its own (time and peak RSS); their stored metrics must be equal."""
    engine = make_engine(url)
    whole, whole_wall = run_project(url, "whole")
    print(
        f"  [{label}] whole-window baseline: {whole['seconds']:.1f} s, "
        f"peak RSS {whole['peak_rss_mb']:.0f} MB "
        f"(child wall {whole_wall:.1f} s)",
        flush=True,
    )
    expected = stored_metrics(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(fund_metrics))
    extra = [str(chunk_funds)] if chunk_funds else []
    chunked, chunked_wall = run_project(url, "chunked", *extra)
    print(
        f"  [{label}] chunked job: {chunked['seconds']:.1f} s, peak RSS {chunked['peak_rss_mb']:.0f} MB "
        f"(child wall {chunked_wall:.1f} s)",
        flush=True,
    )
    got = stored_metrics(engine)
    engine.dispose()
    return {"whole": whole, "chunked": chunked, "diff": worst_relative_difference(expected, got), "got": got}


def large_main(args: argparse.Namespace) -> int:
    """``--large``: the synthetic large set on SQLite (unless ``--no-sqlite``) and with ``--mariadb``
    on MariaDB; see the module docstring."""
    funds, days = args.funds, round(args.years * 252)
    print(
        f"large set: {funds:,} funds x {args.years:g} years ({days} business days); metrics window "
        f"{WINDOW_NAVS} dates; chunk size {args.chunk_funds or 'the default'}",
        flush=True,
    )
    outcomes: dict[str, dict] = {}
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="metricsbench-large-", dir=args.keep) as tmp:
            url = f"sqlite:///{Path(tmp) / 'large.db'}"
            engine = make_engine(url)
            begin = time.perf_counter()
            rows = build_large(engine, funds, days)
            engine.dispose()
            size = (Path(tmp) / "large.db").stat().st_size / 2**30
            print(f"  built on SQLite: {rows:,} rows, {size:.1f} GiB, in {time.perf_counter() - begin:.0f} s")
            outcomes["SQLite"] = {"rows": rows, **large_runs(url, "SQLite", args.chunk_funds)}
    if args.mariadb:
        sys.path.insert(0, str(ROOT))
        from tests.support.mariadb import MariaDBServer

        server_args = [  # a server sized for the data, as one would run it; not the test defaults
            "--innodb-buffer-pool-size=4G",
            "--innodb-log-file-size=2G",
            "--innodb-flush-method=fsync",
            "--innodb-doublewrite=0",
        ]
        with MariaDBServer(
            server_args=server_args, base_dir=args.keep and tempfile.mkdtemp(dir=args.keep)
        ) as server:
            engine = make_engine(server.url)
            begin = time.perf_counter()
            rows = build_large(engine, funds, days)
            engine.dispose()
            print(f"  built on MariaDB: {rows:,} rows in {time.perf_counter() - begin:.0f} s", flush=True)
            outcomes["MariaDB"] = {"rows": rows, **large_runs(server.url, "MariaDB", args.chunk_funds)}
    ok = True
    for name, out in outcomes.items():
        whole, chunked = out["whole"], out["chunked"]
        seconds, rss = chunked["seconds"], chunked["peak_rss_mb"]
        nav_rows = chunked["summary"]["nav_rows"]
        met = seconds < LARGE_TARGET_SECONDS and rss < LARGE_TARGET_RSS_MB
        judged = funds >= LARGE_TARGET_FUNDS and days >= LARGE_TARGET_DAYS  # the targets' size
        ok = ok and out["diff"] == 0.0
        equal = "yes" if out["diff"] == 0.0 else f"NO ({out['diff']:.1e})"
        print(
            f"{name}: {out['rows']:,} fund_nav rows, {nav_rows:,} in the window; "
            f"{chunked['summary']['funds']:,} funds written\n"
            f"  baseline, the whole window at once (the job before chunking): {whole['seconds']:7.1f} s, "
            f"peak RSS {whole['peak_rss_mb']:6.0f} MB\n"
            f"  this, in chunks (fundpipe.tasks.compute_metrics):             {seconds:7.1f} s, "
            f"peak RSS {rss:6.0f} MB ({nav_rows / seconds / 1e6:.2f} M window rows/s)\n"
            f"  results equal to the baseline's: {equal}\n"
            f"  targets (< {LARGE_TARGET_SECONDS:.0f} s, < {LARGE_TARGET_RSS_MB:.0f} MB at 100,000 funds x "
            f"10 years): {('met' if met else 'MISSED') if judged else 'not judged at this size'}"
        )
        result(
            f"metrics job, {funds:,} funds x {args.years:g} years ({out['rows'] / 1e6:.0f} M rows), {name}",
            f"whole window at once {whole['seconds']:.1f} s, {whole['peak_rss_mb']:.0f} MB",
            f"{seconds:.1f} s, peak RSS {rss:.0f} MB",
            f"{whole['seconds'] / seconds:.2f}x faster, {rss / whole['peak_rss_mb']:.2f}x memory",
            f"< {LARGE_TARGET_SECONDS:.0f} s, < {LARGE_TARGET_RSS_MB:.0f} MB at 100,000 funds x 10 years",
            met if judged else None,
        )
    if "SQLite" in outcomes and "MariaDB" in outcomes:
        across = worst_relative_difference(outcomes["SQLite"]["got"], outcomes["MariaDB"]["got"])
        print(f"SQLite and MariaDB results agree to {across:.1e} relative")
        ok = ok and across == 0.0
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--funds", type=int, help="funds (default 5,000; with --large 100,000)")
    parser.add_argument("--days", type=int, default=756, help="trading days of NAVs per fund")
    parser.add_argument("--runs", type=int, default=3, help="runs of (b); the median is reported")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 funds")
    parser.add_argument("--keep", metavar="DIR", help="build the database in DIR and keep it")
    parser.add_argument(
        "--mariadb",
        action="store_true",
        help="also build the data in a MariaDB started from the installed server and run (b) there",
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help="the synthetic large set: --funds x --years built inside the database; the chunked job "
        "against the whole-window job, time and peak RSS, targets < 2 min and < 2 GB",
    )
    parser.add_argument(
        "--years", type=float, default=10.0, help="with --large: years of NAVs (252 days each)"
    )
    parser.add_argument(
        "--chunk-funds", type=int, help="with --large: FUND_METRICS_CHUNK_FUNDS (default 5,000)"
    )
    parser.add_argument(
        "--no-sqlite", action="store_true", help="with --large: skip SQLite (use with --mariadb)"
    )
    parser.add_argument("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        project_child(*args.child)
        return 0
    if args.large:
        args.funds = args.funds or 100_000
        return large_main(args)
    funds = 300 if args.quick else (args.funds or 5000)

    with tempfile.TemporaryDirectory(prefix="metricsbench-") as tmp:
        db_path = Path(args.keep or tmp) / "bench.db"
        db_path.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{db_path}")
        begin = time.perf_counter()
        rows = build_database(engine, funds, args.days)
        print(
            f"built {funds} funds x {args.days} days: {rows} fund_nav rows "
            f"in {time.perf_counter() - begin:.1f} s"
        )

        begin = time.perf_counter()
        written = seeds_metrics_job(engine, AS_OF)
        baseline = time.perf_counter() - begin
        expected = stored_metrics(engine)
        with engine.begin() as conn:
            conn.execute(sa.delete(fund_metrics))

        runs = [run_project(f"sqlite:///{db_path}") for _ in range(max(args.runs, 1))]
        got = stored_metrics(engine)
        engine.dispose()
        on_mariadb = mariadb_runs(funds, args.days, max(args.runs, 1), got) if args.mariadb else None

    diff = worst_relative_difference(expected, got)
    seconds = sorted(child["seconds"] for child, _ in runs)
    ours = statistics.median(seconds)
    child, wall = runs[0]
    rss_mb = max(child["peak_rss_mb"] for child, _ in runs)
    ratio = baseline / ours
    print(f"(a) baseline, the seeds' per-fund job: {baseline:8.2f} s  ({written} funds written)")
    print(
        f"(b) fundpipe.tasks.compute_metrics:    {ours:8.2f} s  (median of {len(seconds)}: "
        f"{', '.join(f'{s:.2f}' for s in seconds)}; {child['summary']['funds']} funds written, "
        f"{child['summary']['skipped']} skipped; child wall time with imports {wall:.2f} s)"
    )
    print(f"  ratio (a)/(b): {ratio:.1f}x   peak RSS of (b): {rss_mb:.0f} MB")
    print(f"  results agree to {diff:.1e} relative")
    print(f"  | {funds:,} | {baseline:.1f} | {ours:.2f} | {ratio:.1f}x | {rss_mb:.0f} MB |")
    if funds >= 5000:
        met = ratio >= TARGET_RATIO and rss_mb < TARGET_RSS_MB
        print(f"  targets (>= {TARGET_RATIO:.0f}x, < {TARGET_RSS_MB:.0f} MB): {'met' if met else 'MISSED'}")
    result(
        f"metrics job, {funds:,} funds x {args.days} days, SQLite",
        f"per-fund pandas job {baseline:.2f} s",
        f"{ours:.2f} s, peak RSS {rss_mb:.0f} MB",
        f"{ratio:.1f}x faster",
        f">= {TARGET_RATIO:g}x, < {TARGET_RSS_MB:g} MB at 5,000 funds",
        (ratio >= TARGET_RATIO and rss_mb < TARGET_RSS_MB) if funds >= 5000 else None,
    )
    if on_mariadb is not None:
        maria_seconds, maria_rss, maria_diff = on_mariadb
        maria = statistics.median(maria_seconds)
        result(
            f"metrics job, {funds:,} funds x {args.days} days, MariaDB",
            f"the same on SQLite {ours:.2f} s",
            f"{maria:.2f} s, peak RSS {maria_rss:.0f} MB",
            f"{maria / ours:.2f}x SQLite",
            f"<= {TARGET_MARIADB_RATIO}x SQLite",
            maria / ours <= TARGET_MARIADB_RATIO,
        )
        print(
            f"(b) on MariaDB: {maria:.2f} s (median of {len(maria_seconds)}: "
            f"{', '.join(f'{s:.2f}' for s in maria_seconds)}); peak RSS {maria_rss:.0f} MB; "
            f"{maria / ours:.2f}x SQLite (target <= {TARGET_MARIADB_RATIO}x); results agree to "
            f"{maria_diff:.1e} relative"
        )
        diff = max(diff, maria_diff)
    return 0 if diff <= 1e-9 else 1


def mariadb_runs(
    funds: int, days: int, runs: int, expected: pd.DataFrame
) -> tuple[list[float], float, float]:
    """(b) on a MariaDB server of its own (the test suite's, from the installed binaries) holding
    the same data: its times, its peak RSS, and how far its metrics are from ``expected``."""
    sys.path.insert(0, str(ROOT))
    from tests.support.mariadb import MariaDBServer

    with MariaDBServer() as server:
        engine = make_engine(server.url)
        begin = time.perf_counter()
        build_database(engine, funds, days)
        print(f"built the same on MariaDB {server.version} in {time.perf_counter() - begin:.1f} s")
        reports = [run_project(server.url)[0] for _ in range(runs)]
        got = stored_metrics(engine)
        engine.dispose()
    seconds = sorted(report["seconds"] for report in reports)
    rss = max(report["peak_rss_mb"] for report in reports)
    return seconds, rss, worst_relative_difference(expected, got)


if __name__ == "__main__":
    sys.exit(main())
