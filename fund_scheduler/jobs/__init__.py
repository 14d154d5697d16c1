"""Jobs as the daemon knows them: specs, how job modules declare them, the registry that
collects them, ``jobs.toml`` overrides, triggers, the context a job function receives and the
one job-row view every front-end shows.

A job module imports its declarations from here::

    from fund_scheduler.jobs import scheduled

    @scheduled(id="my_job", name="My job", cron="15 6 * * *", timeout=600)
    def my_job(ctx): ...
"""

from fund_scheduler.jobs.declare import check, command_job, config_check, dashboard_panel, scheduled
from fund_scheduler.jobs.spec import JobSpec

__all__ = ["JobSpec", "check", "command_job", "config_check", "dashboard_panel", "scheduled"]
