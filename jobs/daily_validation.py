"""``daily_validation``: once per business date, after collection succeeded for it (19:30 on XSHG
sessions is its deadline: ``blocked`` and alerted when collection has not succeeded by then),
run the quality rules on staging, quarantine bad rows and upsert good ones."""

from fund_common.i18n import N_
from fund_scheduler.jobs import scheduled


@scheduled(
    id="daily_validation",
    name=N_("Validate and load staged NAVs"),
    cron="30 19 * * mon-fri",
    after=("daily_collection",),
    timeout=1800,
    calendar="XSHG",
)
def daily_validation(ctx):
    """Validate staged rows; quarantine rejects with reasons; upsert the rest into fund_nav."""
    from fundpipe import tasks
    from fundpipe.settings import FundSettings

    return tasks.validate(ctx.engine, FundSettings.from_env(ctx.environ), ctx.run_date)
