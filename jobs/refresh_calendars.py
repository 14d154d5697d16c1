"""``refresh_calendars``: daily at 06:00, recompute the stored exchange calendars (and XSHG, which
the bundled fund jobs use) with the installed exchange_calendars and store them. A child process:
it imports the library (and pandas), which the daemon never does. The daemon sees the new
``computed_at`` within a minute and reloads its calendars."""

from fund_common.i18n import N_
from fund_scheduler.jobs import scheduled

#: Refreshed even before anything is stored: the bundled fund jobs run on its sessions.
BUNDLED_CALENDAR = "XSHG"


@scheduled(
    id="refresh_calendars",
    name=N_("Refresh the exchange calendars"),
    cron="0 6 * * *",
    timeout=600,
)
def refresh_calendars(ctx):
    """Recompute and store every stored calendar and XSHG; return one line per calendar."""
    from fund_common.calendars import refresh
    from fund_common.calendars.store import stored_names

    lines = refresh(ctx.engine, [BUNDLED_CALENDAR, *stored_names(ctx.engine)])
    for line in lines:
        ctx.logger.info("%s", line)
    return {"calendars": lines}
