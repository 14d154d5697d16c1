"""``weekly_full_calc``: Sunday at 02:00, recompute all metrics from full history, purge expired
staging rows and write the week's report, with the week's runs read from the run history (this
run itself left out of the counts: it is still running while it writes the report)."""

from fund_common.i18n import N_
from fund_scheduler.jobs import scheduled


@scheduled(
    id="weekly_full_calc",
    name=N_("Weekly full recalculation"),
    cron="0 2 * * sun",
    timeout=4 * 3600,
)
def weekly_full_calc(ctx):
    """Recompute every fund's metrics from full history; purge processed staging rows; report."""
    from fund_scheduler.store import history
    from fundpipe import report, tasks
    from fundpipe.settings import FundSettings

    settings = FundSettings.from_env(ctx.environ)
    start, end = report.week_window(ctx.run_date, ctx.timezone)
    runs = history.runs_between(ctx.engine, start, end)
    return tasks.weekly_full_calc(
        ctx.engine, settings, ctx.run_date, runs=runs, timezone=ctx.timezone, execution_id=ctx.execution_id
    )
