#!/usr/bin/env python3
"""fund-scheduler's command line: ``python scheduler_daemon.py --help``.

Thin entry point; see :mod:`scheduler.cli` for the commands and their exit statuses.
"""

import sys

from scheduler.cli import main

if __name__ == "__main__":
    sys.exit(main())
