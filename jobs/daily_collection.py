"""``daily_collection``: at 19:00 on XSHG sessions (after market close), collect the day's NAVs
from ``FUND_SOURCE`` into staging. On a fresh database it also backfills demo history."""

from fund_common.i18n import N_
from fund_scheduler.jobs import config_check, scheduled


@scheduled(
    id="daily_collection",
    name=N_("Collect daily fund NAVs"),
    cron="0 19 * * mon-fri",
    timeout=1800,
    run_on_first_start=True,
    calendar="XSHG",
)
def daily_collection(ctx):
    """Collect the day's NAVs from the configured source into fund_nav_staging."""
    from fundpipe import tasks
    from fundpipe.settings import FundSettings

    return tasks.collect(ctx.engine, FundSettings.from_env(ctx.environ), ctx.run_date)


@config_check
def fund_settings_problems(environ):
    """The fund pipeline's settings (FUND_*), checked by check-config and at start."""
    from fundpipe.settings import config_problems

    return config_problems(environ)
