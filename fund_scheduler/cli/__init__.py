"""The command line (click): ``fund-scheduler COMMAND``, ``python -m fund_scheduler COMMAND`` or,
from a checkout, ``python scheduler_daemon.py COMMAND``; see :mod:`fund_scheduler.cli.app`.

One module per group of commands (``daemon_commands``: run, start, stop, status;
``job_commands``: jobs, next, run-job, pause, resume; ``report_commands``: history, dashboard;
``admin_commands``: check-config, install-service, db), what they share (``context``), how they
print (``output``) and the daemon's composition root (``serve``).
"""

from fund_scheduler.cli.app import main

__all__ = ["main"]
