#!/usr/bin/env python3
"""fund-scheduler's command line: ``python scheduler_daemon.py --help``.

Thin entry point; see :mod:`fund_scheduler.cli.main` for the commands and their exit statuses.
"""

import sys

from fund_scheduler.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
