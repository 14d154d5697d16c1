#!/usr/bin/env bash
# Stop the scheduler daemon gracefully: running jobs get --timeout seconds (default 30) to finish.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/venv.sh requirements.txt
exec "$PY" scheduler_daemon.py stop "$@"
