"""fund-scheduler's daemon: a standalone APScheduler 3.11 process that runs registered jobs.

The package knows jobs only as :class:`fund_scheduler.jobs.registry.JobSpec` objects; it knows nothing of
funds. Nothing here starts a scheduler at import time: the daemon is built in
:func:`fund_scheduler.daemon.daemon.Daemon` and driven by the CLI in :mod:`fund_scheduler.cli.main`.
"""
