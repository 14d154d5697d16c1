"""``daily_metrics``: once per business date, after validation succeeded for it (20:30 on XSHG
sessions is its deadline), compute risk/return metrics for every fund with enough history."""

from fund_common.i18n import N_
from fund_scheduler.jobs import scheduled


@scheduled(
    id="daily_metrics",
    name=N_("Compute fund risk metrics"),
    cron="30 20 * * mon-fri",
    after=("daily_validation",),
    timeout=3600,
    calendar="XSHG",
)
def daily_metrics(ctx):
    """Compute annualised return, volatility, Sharpe, drawdown... for all funds in one pass."""
    from fundpipe import tasks
    from fundpipe.settings import FundSettings

    return tasks.compute_metrics(ctx.engine, FundSettings.from_env(ctx.environ), ctx.run_date)
