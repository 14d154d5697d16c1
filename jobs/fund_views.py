"""The fund views of the dashboard (not jobs): panels that take a query, shown by the page's
Fund and Data quality cards and answered by ``GET /api/panels/<name>``; the work is
``fundpipe.views``'s.

* ``fund`` (``code``): the fund's NAV chart, latest metrics and quarantined rows;
* ``data_quality`` (``days``, and ``rule`` with ``day`` to drill down): quarantined rows by rule
  and day, in the daemon's timezone (``SCHEDULER_TIMEZONE``).
"""

from zoneinfo import ZoneInfo

from fund_common.clock import utcnow
from fund_common.i18n import N_
from fund_scheduler.jobs.declare import PanelInput, dashboard_panel
from fundpipe.views import (
    CODE_PATTERN,
    DATE_PATTERN,
    DAYS_PATTERN,
    QUALITY_DAYS_DEFAULT,
    RULE_PATTERN,
    fund_panel,
    quality_panel,
)

FUND_VIEW = "fund"
QUALITY_VIEW = "data_quality"


def _zone(environ):
    return ZoneInfo(environ.get("SCHEDULER_TIMEZONE") or "Asia/Shanghai")


@dashboard_panel(
    name=FUND_VIEW,
    title=N_("Fund"),
    inputs=[PanelInput("code", N_("fund code"), CODE_PATTERN, required=True, example="000001")],
)
def fund_view(engine, environ, query):
    """One fund: NAV chart, latest metrics, quarantined rows."""
    return fund_panel(engine, query["code"], _zone(environ))


@dashboard_panel(
    name=QUALITY_VIEW,
    title=N_("Data quality"),
    inputs=[
        PanelInput("days", N_("days"), DAYS_PATTERN, default=str(QUALITY_DAYS_DEFAULT), kind="number"),
        PanelInput("rule", N_("rule"), RULE_PATTERN, example="positive_nav"),
        PanelInput("day", N_("day"), DATE_PATTERN, kind="date"),
    ],
)
def data_quality_view(engine, environ, query):
    """Quarantined rows by rule and day; one rule and day's rows."""
    return quality_panel(
        engine,
        days=int(query["days"]),
        rule=query["rule"],
        day=query["day"],
        now=utcnow(),
        tz=_zone(environ),
        view=QUALITY_VIEW,
        fund_view=FUND_VIEW,
    )
