"""``fund_nav_freshness`` and ``fund_metrics_freshness``: the data-freshness promises (SLAs) of the
fund tables, as check jobs, every 10 minutes.

* ``fund_nav_freshness``: ``fund_nav`` holds the last session's NAVs for at least
  ``FUND_NAV_MIN_COVERAGE`` (95 %) of the active funds by ``FUND_NAV_DEADLINE`` (20:00);
* ``fund_metrics_freshness``: ``fund_metrics`` holds the last session's metrics for at least
  ``FUND_METRICS_MIN_COVERAGE`` (90 %) of them by ``FUND_METRICS_DEADLINE`` (21:00).

Sessions are ``FUND_CALENDAR``'s (XSHG), read as the monitoring panel reads them (stored, never
computed here: no pandas in the daemon); deadlines are in the job's timezone
(``SCHEDULER_TIMEZONE``, Asia/Shanghai by default). Every 10 minutes, every day: a breach is
found at most 10 minutes after its deadline and its end at most 10 minutes after the data
arrives, a weekend or holiday keeps checking the last session, and each check is two or three
indexed queries in a daemon thread. A breach alerts ``stale_data`` once, its end ``fresh_again``
once; ``/health`` is degraded meanwhile (see :mod:`fundpipe.sla`). The summaries (the alerts'
text, the ``/health`` problem) are in the daemon's language (``SCHEDULER_LANG``).
"""

from datetime import UTC, datetime

from fund_common.i18n import N_
from fund_scheduler.jobs import check, config_check

EVERY_TEN_MINUTES = "*/10 * * * *"


@config_check
def freshness_settings(environ):
    """Each bad FUND_*_DEADLINE / FUND_*_MIN_COVERAGE value, one line naming it."""
    from fundpipe.sla import SlaSettings

    return list(SlaSettings.from_env(environ).problems)


def freshness(ctx, table, now=None):
    """``table``'s promise checked at ``now`` (default: the clock), as a check result."""
    from fundpipe.calendar import fund_calendar
    from fundpipe.settings import FundSettings
    from fundpipe.sla import SlaSettings, sla_check

    sla = SlaSettings.from_env(ctx.environ).by_table[table]
    calendar = fund_calendar(ctx.engine, FundSettings.from_env(ctx.environ), compute_missing=False)
    return sla_check(
        ctx.engine,
        table,
        now=now or datetime.now(UTC),
        deadline=sla.deadline,
        min_coverage=sla.min_coverage,
        calendar=calendar,
        zone=ctx.timezone,
    )


@check(
    id="fund_nav_freshness",
    name=N_("NAVs of the last session loaded"),
    cron=EVERY_TEN_MINUTES,
    executor="thread",
)
def fund_nav_freshness(ctx):
    """fund_nav holds the last session's NAVs for enough active funds by the deadline."""
    return freshness(ctx, "fund_nav")


@check(
    id="fund_metrics_freshness",
    name=N_("Metrics of the last session computed"),
    cron=EVERY_TEN_MINUTES,
    executor="thread",
)
def fund_metrics_freshness(ctx):
    """fund_metrics holds the last session's metrics for enough active funds by the deadline."""
    return freshness(ctx, "fund_metrics")
