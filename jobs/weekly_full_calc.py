"""``weekly_full_calc``: Sunday at 02:00, recompute all metrics from full history and purge
expired staging rows."""

from fund_scheduler.jobs.registry import scheduled


@scheduled(
    id="weekly_full_calc",
    name="Weekly full recalculation",
    cron="0 2 * * sun",
    timeout=4 * 3600,
)
def weekly_full_calc(ctx):
    """Recompute every fund's metrics from full history; purge processed staging rows."""
    from fundpipe import tasks
    from fundpipe.settings import FundSettings

    settings = FundSettings.from_env(ctx.environ)
    return tasks.weekly_full_calc(ctx.engine, settings, ctx.run_date, timezone=ctx.timezone)
