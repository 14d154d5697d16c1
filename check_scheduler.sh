#!/usr/bin/env bash
# Show whether the daemon runs, its jobs, next runs, last results and recent failures.
# Exit status (LSB): 0 running, 1 dead but PID file left, 3 not running.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/venv.sh requirements.txt
exec "$PY" scheduler_daemon.py status "$@"
