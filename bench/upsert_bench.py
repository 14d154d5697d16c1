"""Upsert throughput into ``fund_nav`` on SQLite: fundpipe's upsert path vs the naive ways.

N NAV rows (default 10,000: one day's delivery for 10,000 funds) are written to a WAL SQLite
file (``fund_scheduler.store.engine.make_engine``, ``metadata.create_all``) in one transaction, two
ways:
  insert  the day is new: every row is inserted;
  update  the same keys again with other values: every row overwrites the stored one;
in two set-ups:
  plain     ``fund_nav`` holds nothing else (the issue's case: 10,000 rows upserted);
  at scale  it already holds HISTORY days of those funds (default 120: 1.2 million rows), so
            each new row lands on another page of the primary key -- what a daily load meets
            after a few months, and where SQLite's page writes, not Python, set the pace.
Timed in the same run, each the median of --repeat runs, committed (the WAL is checkpointed
before each run, so a run pays for its own pages only):
  (a) baseline: one ``Connection.execute`` per row of the same ``INSERT ... ON CONFLICT DO
      UPDATE`` statement (Core caches its compilation: this is the per-row loop at its best);
  (a') ``DataFrame.to_sql(..., if_exists="append")`` -- insert only, it cannot update;
  (b) ``fundpipe.db.upsert_frame`` from the DataFrame (what the metrics job uses);
  (b') ``fundpipe.db.upsert`` from a list of dicts, the dicts built by ``fundpipe.db.records``
      inside the timing (what validation's merge does).
Prints rows/s and the ratios to (a); the issue's target is >= 100,000 rows/s for (b), plain.

Usage, from the project folder:
    python -m bench.upsert_bench [--rows 10000] [--history 120] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert

from fund_common.clock import utcnow_naive
from fund_scheduler.store.engine import make_engine
from fundpipe.db import records, upsert, upsert_frame
from fundpipe.schema import fund_nav, metadata

DAY = dt.date(2024, 6, 3)
VALUES = ["unit_nav", "accum_nav", "daily_return", "source", "batch_id", "updated_at"]
TARGET = 100_000


def day_frame(codes: list[str], day: dt.date, seed: int) -> pd.DataFrame:
    """One day's NAV rows for ``codes`` (4-decimal NAVs, a few without accum_nav)."""
    rng = np.random.default_rng(seed)
    unit = np.round(rng.uniform(0.5, 3.0, len(codes)), 4)
    accum = np.round(unit + rng.uniform(0.0, 1.0, len(codes)), 4)
    accum[rng.random(len(codes)) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "fund_code": codes,
            "nav_date": [day] * len(codes),
            "unit_nav": unit,
            "accum_nav": accum,
            "daily_return": np.round(rng.normal(0.0, 1.0, len(codes)), 2),
            "source": "bench",
            "batch_id": f"bench-{seed}",
        }
    )


def build(engine: sa.Engine, codes: list[str], history: int) -> None:
    metadata.create_all(engine)
    days = pd.bdate_range(end=DAY - dt.timedelta(days=1), periods=history).date
    with engine.begin() as conn:
        for i, day in enumerate(days):
            stamp = {"updated_at": utcnow_naive()}
            upsert_frame(conn, fund_nav, day_frame(codes, day, i), update=VALUES, constants=stamp)


def per_row(conn: sa.Connection, frame: pd.DataFrame) -> None:
    stmt = insert(fund_nav)
    stmt = stmt.on_conflict_do_update(
        index_elements=["fund_code", "nav_date"], set_={c: stmt.excluded[c] for c in VALUES}
    )
    now = utcnow_naive()
    for row in records(frame, list(frame.columns)):
        conn.execute(stmt, {**row, "updated_at": now})


def to_sql(conn: sa.Connection, frame: pd.DataFrame) -> None:
    frame.assign(updated_at=utcnow_naive()).to_sql("fund_nav", conn, if_exists="append", index=False)


def project_frame(conn: sa.Connection, frame: pd.DataFrame) -> None:
    upsert_frame(conn, fund_nav, frame, update=VALUES, constants={"updated_at": utcnow_naive()})


def project_dicts(conn: sa.Connection, frame: pd.DataFrame) -> None:
    rows = records(frame, list(frame.columns))
    now = utcnow_naive()
    for row in rows:
        row["updated_at"] = now
    upsert(conn, fund_nav, rows, update=VALUES)


def timed(
    engine: sa.Engine, write: Callable[[sa.Connection, pd.DataFrame], None], frame: pd.DataFrame
) -> float:
    begin = time.perf_counter()
    with engine.begin() as conn:
        write(conn, frame)
    return time.perf_counter() - begin


def measure(
    engine: sa.Engine,
    write: Callable[[sa.Connection, pd.DataFrame], None],
    codes: list[str],
    mode: str,
    repeat: int,
) -> float:
    """Median rows/s of ``repeat`` runs of ``write`` in ``mode`` ("insert" or "update")."""
    seconds = []
    for i in range(repeat):
        with engine.begin() as conn:
            conn.execute(sa.delete(fund_nav).where(fund_nav.c.nav_date == DAY))
        if mode == "update":
            with engine.begin() as conn:
                project_frame(conn, day_frame(codes, DAY, 1000 + i))
        with engine.connect() as conn:  # so the timed commit does not checkpoint the set-up's pages
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds.append(timed(engine, write, day_frame(codes, DAY, 2000 + i)))
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).where(fund_nav.c.nav_date == DAY)).scalar()
    if stored != len(codes):
        raise SystemExit(f"{write.__name__} {mode}: {stored} rows stored for {DAY}, expected {len(codes)}")
    return len(codes) / statistics.median(seconds)


LABELS = {
    "per_row": "(a)  baseline, one execute per row",
    "to_sql": "(a') DataFrame.to_sql append",
    "project_frame": "(b)  fundpipe.db.upsert_frame",
    "project_dicts": "(b') fundpipe.db.upsert (dicts)",
}


def run_setup(codes: list[str], history: int, repeat: int) -> dict[tuple[str, str], float]:
    """rows/s of every method and mode on a fresh file holding ``history`` days before."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="upsertbench-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        build(engine, codes, history)
        for mode in ("insert", "update"):
            for write in (per_row, to_sql, project_frame, project_dicts):
                if write is to_sql and mode == "update":
                    continue
                results[write.__name__, mode] = measure(engine, write, codes, mode, repeat)
        engine.dispose()
    return results


def report(title: str, results: dict[tuple[str, str], float]) -> None:
    print(title)
    for mode in ("insert", "update"):
        base = results["per_row", mode]
        print(f"  {mode}:")
        for name, label in LABELS.items():
            if (name, mode) in results:
                rate = results[name, mode]
                print(f"    {label:36s} {rate:10,.0f} rows/s  {rate / base:5.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=120, help="days stored before, at scale (0: skip)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    codes = [f"{i:06d}" for i in range(args.rows)]
    plain = run_setup(codes, 0, args.repeat)
    print(
        f"{args.rows:,} fund_nav rows per run (one day of {args.rows:,} funds), median of {args.repeat} runs"
    )
    report("plain: fund_nav empty before", plain)
    if args.history:
        scale = run_setup(codes, args.history, args.repeat)
        report(f"at scale: {args.rows * args.history:,} rows ({args.history} days) stored before", scale)
    ours = min(plain["project_frame", "insert"], plain["project_frame", "update"])
    print(
        f"target >= {TARGET:,} rows/s for (b), plain: {'met' if ours >= TARGET else 'MISSED'} ({ours:,.0f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
