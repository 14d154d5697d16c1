"""The fund pipeline's panel for ``python scheduler_daemon.py dashboard``: data freshness per
table, the last 24 h of updates and the 7-day job count and success rate (not a job)."""

from fund_scheduler.jobs.registry import dashboard_panel


@dashboard_panel
def fund_data_panel(engine, environ):
    """The seeds' monitoring panel, computed by ``fundpipe.monitor``."""
    from fundpipe import monitor

    panel = monitor.panel(engine)
    return {"title": "fund data", "data": panel, "text": monitor.render_text(panel)}
