"""``python -m fund_scheduler COMMAND``: the command line (see :mod:`fund_scheduler.cli.app`)."""

import sys

from fund_scheduler.cli import main

if __name__ == "__main__":
    sys.exit(main())
