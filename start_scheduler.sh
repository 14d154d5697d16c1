#!/usr/bin/env bash
# Start the scheduler daemon in the background (or with --foreground, in this terminal, as
# systemd/supervisor do). Creates .venv from requirements.txt on first use.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/venv.sh requirements.txt
if [ "${1:-}" = "--foreground" ]; then
    shift
    exec "$PY" scheduler_daemon.py run "$@"
fi
exec "$PY" scheduler_daemon.py start "$@"
