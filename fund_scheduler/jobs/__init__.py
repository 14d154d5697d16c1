"""Jobs as the daemon knows them: specs, how job modules declare them, the registry that
collects them, ``jobs.toml`` overrides, triggers, the context a job function receives and the
one job-row view every front-end shows.

A job module imports its declarations from here::

    from fund_scheduler.jobs import scheduled

    @scheduled(id="my_job", name="My job", cron="15 6 * * *", timeout=600)
    def my_job(ctx): ...
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fund_scheduler.jobs.declare import check, command_job, config_check, dashboard_panel, scheduled
    from fund_scheduler.jobs.spec import JobSpec

__all__ = ["JobSpec", "check", "command_job", "config_check", "dashboard_panel", "scheduled"]

#: Where each name lives; imported on first use, so that importing one module of this package
#: (``fund_scheduler.jobs.params``) does not load the triggers and APScheduler.
_HOMES = {
    "JobSpec": "spec",
    "check": "declare",
    "command_job": "declare",
    "config_check": "declare",
    "dashboard_panel": "declare",
    "scheduled": "declare",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
