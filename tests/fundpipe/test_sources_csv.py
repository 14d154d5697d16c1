"""The csv source: encodings, rejected files, archive layout, no double staging, end to end."""

import datetime as dt
import logging

import pytest
import sqlalchemy as sa

from fundpipe import tasks
from fundpipe.errors import SourceError
from fundpipe.schema import (
    data_update_log,
    fund_nav,
    fund_nav_quarantine,
    fund_nav_staging,
    fund_source_files,
)
from fundpipe.settings import FundSettings, config_problems
from fundpipe.sources import get_source
from fundpipe.sources.csv import CsvDelivery, CsvSource, read_nav_csv
from tests.support.schema import create_fund_tables

MONDAY = dt.date(2024, 6, 3)
HEADER = "fund_code,nav_date,unit_nav,accum_nav,daily_return,fund_name\n"


@pytest.fixture
def home(tmp_path):
    (tmp_path / "data" / "inbox").mkdir(parents=True)
    return tmp_path


@pytest.fixture
def settings(home):
    return FundSettings.from_env({"SCHEDULER_HOME": str(home), "FUND_SOURCE": "csv"})


@pytest.fixture
def engine(tmp_path):
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    create_fund_tables(eng)
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def any_engine(request, tmp_path):
    """SQLite, or a MariaDB database (tests/support/mariadb.py), with the fund tables."""
    if request.param == "sqlite":
        eng = sa.create_engine(f"sqlite:///{tmp_path / 'fund.db'}")
    else:
        eng = sa.create_engine(request.getfixturevalue("mariadb_db_url"), pool_pre_ping=True)
    create_fund_tables(eng)
    yield eng
    eng.dispose()


def drop(home, name, content, encoding="utf-8"):
    path = home / "data" / "inbox" / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def rows_of(engine, table, *columns):
    with engine.connect() as conn:
        return conn.execute(sa.select(*(table.c[c] for c in columns)).order_by(*columns)).all()


def test_settings_default_inbox_is_under_scheduler_home(tmp_path):
    assert FundSettings.from_env({"SCHEDULER_HOME": str(tmp_path)}).csv_inbox == str(
        tmp_path / "data" / "inbox"
    )
    relative = FundSettings.from_env({"SCHEDULER_HOME": str(tmp_path), "FUND_CSV_INBOX": "feeds/in"})
    assert relative.csv_inbox == str(tmp_path / "feeds" / "in")
    assert FundSettings.from_env({"FUND_CSV_INBOX": "/srv/nav"}).csv_inbox == "/srv/nav"
    (tmp_path / "afile").write_text("x")
    env = {"FUND_SOURCE": "csv", "FUND_CSV_INBOX": str(tmp_path / "afile")}
    assert config_problems(env) == [
        f"FUND_CSV_INBOX={str(tmp_path / 'afile')!r} is a file: it must name the inbox folder"
    ]
    assert isinstance(
        get_source(FundSettings.from_env({"SCHEDULER_HOME": str(tmp_path), "FUND_SOURCE": "csv"})), CsvSource
    )


def test_utf8_bom_and_gbk_files_end_to_end(any_engine, settings, home):
    engine = any_engine
    drop(home, "1-utf8.csv", HEADER + "000001,2024-06-03,1.2345,1.5345,0.52,华夏成长\n")
    drop(home, "2-bom.csv", "\ufeff" + HEADER + "000002,2024/06/03,2.5,3.1,-1.2%,易方达蓝筹\n")
    gbk = HEADER + "000003,20240603,0.9876,,,南方稳健成长\n000004,2024-06-03,1.0001,1.0001,0.01,嘉实增长\n"
    drop(home, "3-gbk.csv", gbk, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        gbk.encode("gbk").decode("utf-8")  # the GBK file is not UTF-8: the fallback is exercised
    drop(
        home,
        "4-chinese-header.csv",
        "基金代码,净值日期,单位净值,累计净值,日增长率\n000005,2024-06-03,1.1,1.2,0.3\n",
        "gbk",
    )

    collected = tasks.collect(engine, settings, MONDAY)
    assert collected["staged"] == 5 and collected["backfilled"] is False
    archived = collected["details"]["archived"]
    assert [(a["file"], a["encoding"], a["rows"]) for a in archived] == [
        ("1-utf8.csv", "utf-8", 1),
        ("2-bom.csv", "utf-8-sig", 1),
        ("3-gbk.csv", "gbk", 2),
        ("4-chinese-header.csv", "gbk", 1),
    ]
    assert collected["details"]["rejected"] == []
    assert collected["note"] == "csv: 4 file(s) archived, 0 rejected"

    validated = tasks.validate(engine, settings, MONDAY)
    assert (validated["staged"], validated["loaded"], validated["quarantined"]) == (5, 5, 0)
    assert rows_of(engine, fund_nav, "fund_code", "nav_date", "unit_nav", "accum_nav", "daily_return") == [
        ("000001", MONDAY, 1.2345, 1.5345, 0.52),
        ("000002", MONDAY, 2.5, 3.1, -1.2),
        ("000003", MONDAY, 0.9876, None, None),
        ("000004", MONDAY, 1.0001, 1.0001, 0.01),
        ("000005", MONDAY, 1.1, 1.2, 0.3),
    ]

    # archive layout: data/archive/<day>/<name>, inbox empty, each file recorded once
    assert listing(home / "data") == [
        "archive/2024-06-03/1-utf8.csv",
        "archive/2024-06-03/2-bom.csv",
        "archive/2024-06-03/3-gbk.csv",
        "archive/2024-06-03/4-chinese-header.csv",
    ]
    assert (home / "data" / "archive" / "2024-06-03" / "3-gbk.csv").read_bytes() == gbk.encode("gbk")
    recorded = rows_of(engine, fund_source_files, "file_name", "encoding", "row_count", "batch_id")
    assert recorded == [(a["file"], a["encoding"], a["rows"], collected["batch_id"]) for a in archived]


def test_unreadable_files_are_rejected_with_a_reason_and_the_others_processed(engine, settings, home, caplog):
    caplog.set_level(logging.WARNING, logger="fundpipe")
    drop(home, "a-good.csv", HEADER + "000001,2024-06-03,1.1,1.1,0.1,x\n")
    drop(home, "b-header.csv", "code,date,nav\n000002,2024-06-03,1.0\n")
    drop(home, "c-binary.csv", b"PK\x03\x04\x00\x00garbage\x00\xff")
    drop(home, "d-encoding.csv", b"fund_code,nav_date,unit_nav\n\xff\xfe000003,2024-06-03,1.0\n")
    drop(home, "e-empty.csv", b"")
    drop(home, "f-twice.csv", "fund_code,nav_date,unit_nav,单位净值\n000004,2024-06-03,1,1\n")
    drop(home, "z-good.csv", HEADER + "000005,2024-06-03,1.2,1.2,0.2,y\n")
    (home / "data" / "inbox" / "notes.txt").write_text("not a csv: left alone")

    collected = tasks.collect(engine, settings, MONDAY)
    assert collected["staged"] == 2
    reasons = {r["file"]: r["reason"] for r in collected["details"]["rejected"]}
    assert reasons == {
        "b-header.csv": "header lacks required column(s) fund_code, nav_date, unit_nav "
        "(found: 'code', 'date', 'nav')",
        "c-binary.csv": "binary content (NUL bytes): not a CSV text file",
        "d-encoding.csv": "not UTF-8 or GBK text "
        "(utf-8-sig: byte 0xff at offset 28; gbk: byte 0xff at offset 28)",
        "e-empty.csv": "the file is empty (no header row)",
        "f-twice.csv": "header names column 'unit_nav' twice",
    }
    assert collected["note"].startswith("csv: 2 file(s) archived, 5 rejected (b-header.csv: header lacks")

    rejected = home / "data" / "rejected"
    for name, reason in reasons.items():
        assert (rejected / name).exists()
        text = (rejected / f"{name}.reason").read_text(encoding="utf-8")
        assert text.splitlines()[0] == reason
        assert "sha256: " in text and "collection day: 2024-06-03" in text
    assert (rejected / "c-binary.csv").read_bytes() == b"PK\x03\x04\x00\x00garbage\x00\xff"  # untouched
    assert listing(home / "data" / "archive") == ["2024-06-03/a-good.csv", "2024-06-03/z-good.csv"]
    assert listing(home / "data" / "inbox") == ["notes.txt"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("rejected" in m for m in warned) == 5

    with engine.connect() as conn:
        log = conn.execute(sa.select(data_update_log.c.status, data_update_log.c.message)).one()
    assert log.status == "success" and "5 rejected" in log.message
    validated = tasks.validate(engine, settings, MONDAY)
    assert (validated["loaded"], validated["quarantined"]) == (2, 0)


def test_bad_values_are_staged_with_their_raw_text_and_validation_accounts_for_every_row(
    engine, settings, home
):
    drop(
        home,
        "nav.csv",
        HEADER
        + "000001,2024-06-03,abc,1.0,0.1,x\n"  # unreadable NAV
        + "000002,2024-02-30,1.0,1.0,0.1,x\n"  # impossible date
        + "000003,2024-06-03,1.0\n"  # short row
        + "\n"  # blank lines are skipped
        + "000004,2024-06-03,,1.0,--,x\n"  # missing NAV, '--' for no return
        + '000005,2024-06-03,"1,234.5",1.0,0.1,x\n'  # thousands separator: not read
        + f"{'9' * 70},2024-06-03,1.0,1.0,0.1,x\n"  # longer than staging's column
        + "000006,2024-06-03,1.0,1.0,0.1,x\n",
    )
    collected = tasks.collect(engine, settings, MONDAY)
    assert collected["staged"] == 7
    staged = rows_of(engine, fund_nav_staging, "fund_code", "unit_nav", "parse_error")
    assert staged == [
        ("000001", None, "nav.csv line 2: unit_nav 'abc' is not a number"),
        ("000002", 1.0, "nav.csv line 3: nav_date '2024-02-30' is not a date (YYYY-MM-DD)"),
        ("000003", 1.0, "nav.csv line 4: 3 fields, the header has 6"),
        ("000004", None, None),
        ("000005", None, "nav.csv line 7: unit_nav '1,234.5' is not a number"),
        ("000006", 1.0, None),
        ("9" * 64, 1.0, "nav.csv line 8: fund_code of 70 characters cut to 64"),
    ]
    validated = tasks.validate(engine, settings, MONDAY)
    assert validated["loaded"] + validated["quarantined"] == validated["staged"] == 7
    with engine.connect() as conn:
        loaded = conn.execute(sa.select(fund_nav.c.fund_code)).scalars().all()
        quarantined = conn.execute(sa.select(fund_nav_quarantine.c.fund_code)).scalars().all()
    assert loaded == ["000006"]  # every row with a problem is quarantined, none lost
    assert sorted(quarantined) == ["000001", "000002", "000003", "000004", "000005", "9" * 64]


def test_archive_and_rejected_names_never_clash(engine, settings, home):
    for n in range(3):
        drop(home, "nav.csv", HEADER + f"000001,2024-06-03,1.{n},1.{n},0,x\n")
        drop(home, "bad.csv", f"garbage {n}\n")
        tasks.collect(engine, settings, MONDAY)
    assert listing(home / "data" / "archive") == [
        "2024-06-03/nav-1.csv",
        "2024-06-03/nav-2.csv",
        "2024-06-03/nav.csv",
    ]
    assert (home / "data" / "archive" / "2024-06-03" / "nav-2.csv").read_text().endswith("1.2,1.2,0,x\n")
    assert listing(home / "data" / "rejected") == [
        "bad-1.csv",
        "bad-1.csv.reason",
        "bad-2.csv",
        "bad-2.csv.reason",
        "bad.csv",
        "bad.csv.reason",
    ]
    tasks.collect(engine, settings, MONDAY + dt.timedelta(days=1))  # an empty inbox: nothing to do
    assert not (home / "data" / "archive" / "2024-06-04").exists()


def test_a_crash_before_archiving_does_not_stage_the_file_twice(engine, settings, home, monkeypatch):
    content = HEADER + "000001,2024-06-03,1.1,1.1,0.1,x\n000002,2024-06-03,2.2,2.2,0.2,y\n"
    drop(home, "nav.csv", content)

    def crash(self):
        raise KeyboardInterrupt("killed after the staging commit")

    monkeypatch.setattr(CsvDelivery, "done", crash)
    with pytest.raises(KeyboardInterrupt):
        tasks.collect(engine, settings, MONDAY)
    monkeypatch.undo()
    assert listing(home / "data" / "inbox") == ["nav.csv"]  # staged, not archived
    assert len(rows_of(engine, fund_nav_staging, "id")) == 2

    again = tasks.collect(engine, settings, MONDAY)
    assert again["staged"] == 0
    [entry] = again["details"]["archived"]
    assert entry["rows"] == 0 and entry["already_staged"].startswith("nav.csv in batch 20240603-")
    assert listing(home / "data") == ["archive/2024-06-03/nav.csv"]

    # the same content re-delivered under another name, twice in one pass: not staged again
    drop(home, "nav-copy.csv", content)
    drop(home, "nav-copy2.csv", content)
    drop(home, "other.csv", HEADER + "000003,2024-06-03,3.3,3.3,0.3,z\n")
    third = tasks.collect(engine, settings, MONDAY)
    assert third["staged"] == 1
    assert [a.get("already_staged", "")[:7] for a in third["details"]["archived"]] == [
        "nav.csv",
        "nav.csv",
        "",
    ]
    assert len(rows_of(engine, fund_source_files, "id")) == 2
    validated = tasks.validate(engine, settings, MONDAY)
    assert (validated["staged"], validated["loaded"]) == (3, 3)


def test_a_file_changed_while_collected_stays_in_the_inbox(engine, settings, home, monkeypatch):
    path = drop(home, "nav.csv", HEADER + "000001,2024-06-03,1.1,1.1,0.1,x\n")
    claim = CsvDelivery.claim

    def claim_then_append(self, conn, batch_id, now):
        rows = claim(self, conn, batch_id, now)
        with path.open("a") as f:  # the uploader is still writing
            f.write("000002,2024-06-03,2.2,2.2,0.2,y\n")
        return rows

    monkeypatch.setattr(CsvDelivery, "claim", claim_then_append)
    first = tasks.collect(engine, settings, MONDAY)
    monkeypatch.undo()
    assert first["staged"] == 1 and first["details"]["left_in_inbox"][0]["file"] == "nav.csv"
    second = tasks.collect(engine, settings, MONDAY)
    assert second["staged"] == 2  # the complete file: new content, staged; the later batch wins
    assert listing(home / "data") == ["archive/2024-06-03/nav.csv"]


def test_a_missing_inbox_fails_the_collection_naming_it(engine, tmp_path):
    settings = FundSettings.from_env({"SCHEDULER_HOME": str(tmp_path / "nowhere"), "FUND_SOURCE": "csv"})
    with pytest.raises(SourceError, match=r"CSV inbox .*nowhere/data/inbox does not exist"):
        tasks.collect(engine, settings, MONDAY)
    with engine.connect() as conn:
        assert conn.execute(sa.select(data_update_log.c.status)).scalar() == "failed"
        assert conn.execute(sa.select(sa.func.count()).select_from(fund_nav_staging)).scalar() == 0


def test_fetch_reads_without_moving_anything(home):
    drop(home, "nav.csv", HEADER + "000001,2024-06-03,1.1,1.1,0.1,x\n")
    drop(home, "bad.csv", "nonsense\n")
    rows = CsvSource(home / "data" / "inbox").fetch(MONDAY)
    assert rows["fund_code"].tolist() == ["000001"]
    assert listing(home / "data") == ["inbox/bad.csv", "inbox/nav.csv"]


def test_read_nav_csv_handles_quotes_crlf_and_percent_returns():
    data = b'"fund_code","nav_date","unit_nav","daily_return"\r\n" 000001 ","2024-06-03","1.5","+1.25 %"\r\n'
    rows, encoding = read_nav_csv(data, "q.csv")
    assert encoding == "utf-8"
    assert rows.loc[0, ["fund_code", "unit_nav", "daily_return"]].tolist() == ["000001", 1.5, 1.25]
    assert rows.loc[0, "parse_error"] is None and rows["accum_nav"].isna().all()
