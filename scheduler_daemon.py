#!/usr/bin/env python3
"""fund-scheduler's command line from a checkout: ``python scheduler_daemon.py --help``.

Thin entry point (the installed console script is ``fund-scheduler``); see
:mod:`fund_scheduler.cli.app` for the commands and their exit statuses.
"""

import sys

from fund_scheduler.cli import main

if __name__ == "__main__":
    sys.exit(main())
