"""The command line (click): ``fund-scheduler COMMAND``, ``python -m fund_scheduler COMMAND`` or,
from a checkout, ``python scheduler_daemon.py COMMAND``; see :mod:`fund_scheduler.cli.app`.

One module per group of commands, imported only when one of its commands runs
(``daemon_commands``: run, start, stop, reload, status;
``job_commands``: jobs, next, run-job, pause, resume; ``report_commands``: history, dashboard;
``admin_commands``: check-config, install-service, db), what they share (``context``), how they
print (``output``) and the daemon's composition root (``serve``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """:func:`fund_scheduler.cli.app.main` (imported when called: importing a command module
    never loads the others)."""
    from fund_scheduler.cli.app import main as run

    return run(argv)
