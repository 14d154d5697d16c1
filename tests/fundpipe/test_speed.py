"""The fast write path stores exactly what Core would; the benchmark scripts run (not timed here).

``fundpipe.db.upsert`` / ``upsert_frame`` hand pre-processed parameter tuples to the driver's
``executemany``; these tests pin that the rows they store are the rows a plain Core
``INSERT`` of the same values stores, on SQLite and MariaDB.
"""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fundpipe.db import CHUNK_ROWS, upsert, upsert_frame
from fundpipe.errors import FundPipelineError
from fundpipe.schema import fund_info, fund_metrics, fund_nav
from tests.support.schema import create_fund_tables

ROOT = Path(__file__).resolve().parents[2]
STAMP = dt.datetime(2024, 6, 3, 19, 0, 1, 123456)
NAV_UPDATE = ["unit_nav", "accum_nav", "daily_return", "source", "batch_id", "updated_at"]
HOSTILE = "x' OR '1'='1"


def nav_frame(n=50, day=dt.date(2024, 6, 3), seed=1):
    rng = np.random.default_rng(seed)
    accum = np.round(rng.uniform(1, 3, n), 4)
    accum[::7] = np.nan
    return pd.DataFrame(
        {
            "fund_code": [HOSTILE] + [f"{i:06d}" for i in range(1, n)],
            "nav_date": [day] * n,
            "unit_nav": rng.uniform(0.5, 2.0, n),  # full-precision doubles
            "accum_nav": accum,
            "daily_return": np.where(np.arange(n) % 5 == 0, np.nan, rng.normal(0, 1, n)),
            "source": "test",
            "batch_id": "b1",
        }
    )


def stored(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()


def core_rows(frame, **constants):
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{**row, **constants} for row in rows]


def test_upsert_frame_stores_what_a_core_insert_stores(engine, tmp_path):
    frame = nav_frame()
    with engine.begin() as conn:
        assert upsert_frame(conn, fund_nav, frame, update=NAV_UPDATE, constants={"updated_at": STAMP}) == 50
    ours = stored(engine, fund_nav)
    with engine.begin() as conn:
        conn.execute(sa.delete(fund_nav))
        conn.execute(sa.insert(fund_nav), core_rows(frame, updated_at=STAMP))
    assert stored(engine, fund_nav) == ours
    assert HOSTILE in {r.fund_code for r in ours}  # stored as data
    assert {r.updated_at for r in ours} == {STAMP}  # microseconds kept
    assert sum(r.accum_nav is None for r in ours) == 8 and sum(r.daily_return is None for r in ours) == 10


def test_upsert_updates_existing_rows_and_inserts_new_ones(engine):
    first = nav_frame(seed=1)
    with engine.begin() as conn:
        upsert(conn, fund_nav, core_rows(first, updated_at=STAMP), update=NAV_UPDATE)
    second = nav_frame(n=60, seed=2)  # the 50 keys again, changed, and 10 new ones
    later = STAMP + dt.timedelta(hours=1)
    with engine.begin() as conn:
        assert upsert(conn, fund_nav, core_rows(second, updated_at=later), update=NAV_UPDATE) == 60
    rows = {r.fund_code: r for r in stored(engine, fund_nav)}
    assert len(rows) == 60
    for record in core_rows(second, updated_at=later):
        row = rows[record["fund_code"]]
        assert (row.unit_nav, row.accum_nav, row.daily_return, row.updated_at) == (
            record["unit_nav"],
            record["accum_nav"],
            record["daily_return"],
            later,
        )


def test_update_touches_only_the_named_columns(engine):
    with engine.begin() as conn:
        upsert_frame(conn, fund_nav, nav_frame(), update=NAV_UPDATE, constants={"updated_at": STAMP})
    changed = nav_frame(seed=9).assign(source="other")
    with engine.begin() as conn:
        upsert_frame(conn, fund_nav, changed, update=["unit_nav"], constants={"updated_at": STAMP})
    rows = stored(engine, fund_nav)
    assert {r.source for r in rows} == {"test"}
    assert sorted(r.unit_nav for r in rows) == sorted(changed["unit_nav"])


def test_constants_and_scalar_defaults(engine):
    metrics = pd.DataFrame({"fund_code": ["A", "B"], "n_obs": [100, 200], "sharpe_ratio": [1.5, np.nan]})
    day = dt.date(2024, 6, 3)
    with engine.begin() as conn:
        upsert_frame(
            conn,
            fund_metrics,
            metrics,
            update=["n_obs"],
            constants={"calc_date": day, "window_days": 756, "updated_at": STAMP},
        )
        upsert(
            conn,
            fund_info,
            [{"fund_code": "A", "fund_name": "甲", "updated_at": STAMP}],
            update=["fund_name"],
        )
    rows = stored(engine, fund_metrics)
    assert [(r.fund_code, r.calc_date, r.window_days, r.n_obs, r.sharpe_ratio) for r in rows] == [
        ("A", day, 756, 100, 1.5),
        ("B", day, 756, 200, None),
    ]
    assert [(r.fund_code, r.fund_name, bool(r.is_active)) for r in stored(engine, fund_info)] == [
        ("A", "甲", True)
    ]


def test_more_rows_than_one_chunk(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    create_fund_tables(engine)
    days = pd.bdate_range(end="2024-06-03", periods=CHUNK_ROWS // 1000 + 3).date
    frame = pd.concat([nav_frame(n=1000, day=d, seed=i) for i, d in enumerate(days)], ignore_index=True)
    with engine.begin() as conn:
        assert upsert_frame(conn, fund_nav, frame, update=NAV_UPDATE, constants={"updated_at": STAMP}) == len(
            frame
        )
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(fund_nav)).scalar() == len(frame)


def test_bad_rows_name_the_problem(engine):
    with engine.begin() as conn:
        with pytest.raises(FundPipelineError, match="lacks column 'fund_name'"):
            upsert(
                conn,
                fund_info,
                [{"fund_code": "A", "fund_name": "a"}, {"fund_code": "B"}],
                update=["fund_name"],
            )
        with pytest.raises(FundPipelineError, match="no column 'colour'"):
            upsert(conn, fund_info, [{"fund_code": "A", "colour": "red"}], update=["fund_name"])
        assert upsert(conn, fund_info, [], update=["fund_name"]) == 0
        assert upsert_frame(conn, fund_info, pd.DataFrame(), update=["fund_name"]) == 0


def run_bench(module, *args):
    """``python -m bench.<module>`` from the project folder (how the bench scripts are run)."""
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_upsert_bench_runs():
    out = run_bench("upsert_bench", "--rows", "300", "--history", "2", "--repeat", "1")
    assert "fundpipe.db.upsert_frame" in out and "rows/s" in out and "target" in out


def test_metrics_bench_runs_and_both_sides_agree():
    out = run_bench("metrics_bench", "--funds", "40", "--days", "120")
    assert "ratio (a)/(b)" in out and "peak RSS of (b)" in out
    assert "results agree" in out  # the script fails when they do not
