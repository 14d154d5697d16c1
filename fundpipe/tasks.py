"""The pipeline's entry points, one per job: collect, validate, compute_metrics, weekly_full_calc.

Each takes a SQLAlchemy engine, the :class:`~fundpipe.settings.FundSettings`, the day it
works for (``as_of``: a ``date``, a ``datetime`` or an ISO string) and, optionally, the trading
calendar (``calendar``: a :class:`~fund_common.calendars.SessionCalendar`; None loads
``settings.calendar`` with :func:`~fundpipe.calendar.fund_calendar`); writes one
``data_update_log`` row (``failed`` with the error if it raises); logs one summary line on the
``fundpipe`` logger; and returns a JSON-serialisable summary dict.
Every step is idempotent: re-running it for the same day changes no stored NAV or metric.

The fund tables must exist: the product's databases are created and upgraded by the Alembic
migrations (``fund_scheduler_migrations``, run by the daemon at start); a scratch database gets
them from ``fundpipe.schema.metadata.create_all(engine)``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from fund_common.calendars import SessionCalendar
from fund_common.clock import as_naive_utc, utcnow_naive
from fundpipe.calc import compute_and_store, latest_nav_date
from fundpipe.calendar import fund_calendar
from fundpipe.collector import collect_into_staging, new_batch_id
from fundpipe.errors import ValidationFailed
from fundpipe.merge import merge_pending
from fundpipe.report import write_weekly_report
from fundpipe.retention import purge_staging
from fundpipe.runlog import logged_step
from fundpipe.settings import FundSettings
from fundpipe.sources import get_source
from fundpipe.validation import MAX_REJECT_SHARE, RuleContext

__all__ = ["collect", "compute_metrics", "validate", "weekly_full_calc"]

logger = logging.getLogger("fundpipe")


def collect(
    engine: sa.Engine, settings: FundSettings, as_of: dt.date, *, calendar: SessionCalendar | None = None
) -> dict[str, Any]:
    """Stage the configured source's NAVs for ``as_of`` in ``fund_nav_staging`` as a new batch.

    On a fresh database (no NAVs, no staging) the demo source first backfills
    ``settings.demo_history_days`` sessions ending at ``as_of`` into the same batch, so
    metrics have history. On a day that is no session of the calendar nothing is collected
    (the source is not asked) and the log line and ``closed`` say why, e.g. ``nothing
    collected: 2026-10-01 is no session (XSHG closed: National Day)``; the demo source
    publishes rows on sessions only. Returns
    ``batch_id``, ``source``, ``staged`` (rows), ``dates``, ``backfilled``, ``funds``
    (fund_info rows upserted), ``details`` (per source: for ``csv`` the inbox and the files
    ``archived`` / ``rejected`` (with reasons) / ``left_in_inbox``; for ``http`` the masked
    ``url``, ``attempts`` and ``status``), ``note`` (those details in a phrase, also in the
    log line), ``closed`` (None on a session) and ``as_of``. A source error (HTTP failure,
    missing inbox) raises :class:`~fundpipe.errors.SourceError` before anything is staged.
    """
    day = _day(as_of)
    batch_id = new_batch_id(day)
    with logged_step(engine, "collect", day, batch_id=batch_id) as record:
        calendar = calendar or fund_calendar(engine, settings)
        source = get_source(settings, calendar)
        summary = collect_into_staging(engine, source, day, batch_id, settings.demo_history_days, calendar)
        record.rows_in = record.rows_loaded = summary["staged"]
        record.rows_rejected = 0
        record.message = (
            f"staged {summary['staged']} rows for {summary['dates']} date(s) from "
            f"{summary['source']}"
            + (" (backfill of a fresh database)" if summary["backfilled"] else "")
            + (f"; {summary['note']}" if summary["note"] else "")
        )
    logger.info("collect %s: %s into batch %s", day, record.message, batch_id)
    return {**summary, "as_of": day.isoformat()}


def validate(
    engine: sa.Engine, settings: FundSettings, as_of: dt.date, *, calendar: SessionCalendar | None = None
) -> dict[str, Any]:
    """Validate every unprocessed staging row and file it in ``fund_nav`` or the quarantine.

    The rules consult the calendar: a NAV dated on a closed day is quarantined by
    ``trading_day`` with the closure's name, the return rules compare a row with the previous
    session. Rows rejected by a rule go to ``fund_nav_quarantine`` with the rule and reason; accepted
    rows are upserted into ``fund_nav``; all in one transaction, staging rows marked
    processed. ``loaded + quarantined == staged`` (checked; the data_update_log message says
    it). A re-run with nothing new changes nothing; a corrected NAV updates its row and is
    recorded in ``fund_nav_corrections``. Returns ``staged``, ``loaded``, ``quarantined``,
    ``rules`` ({rule: rows rejected}), ``inserted``, ``updated``, ``unchanged``,
    ``superseded``, ``batches``, ``warnings`` (soft rules: coverage), ``coverage``,
    ``is_valid`` (see :class:`~fundpipe.validation.ValidationResult`), ``corrections``,
    ``as_of``. Warnings and an invalid result are logged at WARNING; they do not fail the run.

    Raises :class:`~fundpipe.errors.ValidationFailed` (after recording the outcome) when rows
    were staged but none could be loaded.
    """
    day = _day(as_of)
    with logged_step(engine, "validate", day) as record:
        calendar = calendar or fund_calendar(engine, settings)
        context = RuleContext(as_of=day, settings=settings, calendar=calendar)
        _, summary = merge_pending(engine, context)
        record.batch_id = summary["batches"][-1] if summary["batches"] else None
        record.rows_in = summary["staged"]
        record.rows_loaded = summary["loaded"]
        record.rows_rejected = summary["quarantined"]
        record.message = _validate_message(summary)
        if summary["staged"] and not summary["loaded"]:
            raise ValidationFailed(
                f"validate {day}: all {summary['staged']} staged rows were rejected, none "
                f"loaded ({_rule_counts(summary['rules'])})"
            )
    level = logging.INFO if summary["is_valid"] else logging.WARNING
    logger.log(level, "validate %s: %s", day, record.message)
    return {**summary, "as_of": day.isoformat()}


def compute_metrics(
    engine: sa.Engine, settings: FundSettings, as_of: dt.date, *, calendar: SessionCalendar | None = None
) -> dict[str, Any]:
    """Compute every fund's metrics over the last 756 trading days up to ``as_of``.

    The NAV window is read ``settings.metrics_chunk_funds`` funds at a time (one packed query
    per chunk; a large table in parts on parallel threads, see :mod:`fundpipe.navwindow`), each
    chunk's metrics in one vectorised pass and one bulk upsert into ``fund_metrics`` (5,000
    funds in about 1.4 s here: README, Performance). ``calc_date`` is the latest NAV date on or
    before ``as_of``, so a run on a weekend or holiday rewrites the last trading day's rows
    instead of adding copies dated on a day without prices (the message names the closure; the
    calendar is only consulted, and loaded when None, in that case). Funds with fewer than
    ``settings.min_observations`` daily returns are skipped. Returns ``funds`` (written),
    ``skipped``, ``calc_date`` (ISO, None when there is no NAV yet), ``window_days``,
    ``nav_rows``, ``closed`` (why ``as_of`` is no session; None on a session).
    """
    day = _day(as_of)
    with logged_step(engine, "compute_metrics", day) as record:
        summary = _metrics(engine, settings, day)
        summary["closed"] = None
        if summary["calc_date"] != day.isoformat():  # as_of has no NAV: a closed day, or data missing
            summary["closed"] = (calendar or fund_calendar(engine, settings)).closure(day)
        record.rows_in = summary["funds"] + summary["skipped"]
        record.rows_loaded = summary["funds"]
        record.rows_rejected = summary["skipped"]
        record.message = _metrics_message(summary)
    logger.info("compute_metrics %s: %s", day, record.message)
    return summary


def weekly_full_calc(
    engine: sa.Engine,
    settings: FundSettings,
    as_of: dt.date,
    *,
    runs: Iterable[Mapping[str, Any]] | None = None,
    now: dt.datetime | None = None,
    timezone: dt.tzinfo | str | None = None,
    calendar: SessionCalendar | None = None,
    execution_id: int | None = None,
) -> dict[str, Any]:
    """Recompute all metrics, purge expired staging rows, write the weekly report.

    Metrics are recomputed for the latest NAV date on or before ``as_of`` (the last trading
    day when it runs on a Sunday), overwriting that date's rows, so late corrections are
    picked up. Processed staging rows collected more than ``settings.staging_retention_days``
    before ``now`` (naive UTC or aware, default the current time) are deleted. Then the report
    of ``as_of``'s ISO week is written to ``settings.report_dir`` (see :mod:`fundpipe.report`):
    ``runs`` are the week's job runs it shows (mappings with ``job_id``, ``status``,
    ``started_at``, ``duration``; None: no run history), ``timezone`` (default UTC) decides which
    day a run falls on: pass the scheduler's; the calendar gives the week's sessions and its
    closed days, which the report lists with their names; ``execution_id`` is the id of the
    run doing this (matched against the runs' ``id``): it is left out of the report's counts,
    where it would show as running. Returns the metrics summary (``calc_date`` None
    when there is no NAV yet) plus ``purged_staging``, ``report`` (the report's path) and
    ``report_seconds``.
    """
    day = _day(as_of)
    with logged_step(engine, "weekly_full_calc", day) as record:
        calendar = calendar or fund_calendar(engine, settings)
        summary = _metrics(engine, settings, day)
        cutoff = as_naive_utc(now or utcnow_naive()) - dt.timedelta(days=settings.staging_retention_days)
        summary["purged_staging"] = purge_staging(engine, cutoff)
        record.rows_in = summary["funds"] + summary["skipped"]
        record.rows_loaded = summary["funds"]
        record.rows_rejected = summary["skipped"]
        started = time.perf_counter()
        report = write_weekly_report(
            engine,
            settings.report_dir,
            day,
            calendar,
            runs=runs,
            tz=timezone,
            now=now,
            exclude_execution_id=execution_id,
        )
        summary["report"] = str(report)
        summary["report_seconds"] = round(time.perf_counter() - started, 3)
        record.message = (
            f"{_metrics_message(summary)}; purged {summary['purged_staging']} processed "
            f"staging rows collected before {cutoff:%Y-%m-%d %H:%M} UTC; report {report}"
        )
    logger.info("weekly_full_calc %s: %s", day, record.message)
    return summary


def _metrics(engine: sa.Engine, settings: FundSettings, as_of: dt.date) -> dict[str, Any]:
    """Metrics for the latest NAV date on or before ``as_of`` (nothing when there is no NAV)."""
    with engine.connect() as conn:
        calc_date = latest_nav_date(conn, as_of)
    if calc_date is None:
        return {"funds": 0, "skipped": 0, "calc_date": None}
    return compute_and_store(
        engine,
        calc_date,
        risk_free_rate=settings.risk_free_rate,
        min_observations=settings.min_observations,
        chunk_funds=settings.metrics_chunk_funds,
    )


def _day(as_of: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    if isinstance(as_of, dt.date):
        return as_of
    try:
        return dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise ValueError(f"as_of={as_of!r} is not a date (expected YYYY-MM-DD)") from None


def _rule_counts(rules: dict[str, int]) -> str:
    failed = {name: n for name, n in rules.items() if n}
    return ", ".join(f"{name} {n}" for name, n in failed.items()) or "no rule failed"


def _validate_message(summary: dict[str, Any]) -> str:
    staged, quarantined = summary["staged"], summary["quarantined"]
    text = (
        f"loaded {summary['loaded']} + quarantined {quarantined} = staged {staged} "
        f"(loaded: new {summary['inserted']}, corrected {summary['updated']}, unchanged "
        f"{summary['unchanged']}, superseded {summary['superseded']}; quarantined: "
        f"{_rule_counts(summary['rules'])}) from {len(summary['batches'])} batch(es)"
    )
    if summary["coverage"] is not None:
        text += f"; coverage {summary['coverage']:.1%}"
    if summary["is_valid"]:
        text += "; valid"
    else:
        share = quarantined / staged if staged else 0.0
        why = f" ({share:.1%} of rows quarantined, more than {MAX_REJECT_SHARE:.0%})"
        text += "; NOT VALID" + (why if share > MAX_REJECT_SHARE else "")
    text += "".join(f"; warning: {w}" for w in summary["warnings"])
    if summary["corrections"]:
        text += f"; corrected: {'; '.join(summary['corrections'])}"
    return text


def _metrics_message(summary: dict[str, Any]) -> str:
    closed = f" (as_of is no session: {summary['closed']})" if summary.get("closed") else ""
    return (
        f"metrics for {summary['funds']} funds on {summary['calc_date']}{closed}, "
        f"{summary['skipped']} skipped (too few observations)"
    )
