#!/usr/bin/env bash
# Install the project the way a user would (pip install . into a fresh venv outside the
# checkout) and use it from another directory: --version, check-config, a one-shot run-job.
# Exit status 0 when every step worked. Usage: scripts/check_install.sh [PYTHON]
set -euo pipefail
project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${1:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
unset VIRTUAL_ENV SCHEDULER_HOME DATABASE_URL SCHEDULER_JOBS_PACKAGES SCHEDULER_JOBS_CONFIG PYTHONPATH

echo "== pip install . into $work/venv"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$project"

mkdir "$work/home"
cd "$work/home"
export SCHEDULER_HTTP_PORT=0 FUND_DEMO_FUNDS=20 FUND_DEMO_HISTORY_DAYS=70 SCHEDULER_LANG=en
echo "== fund-scheduler --version"
"$work/venv/bin/fund-scheduler" --version
echo "== fund-scheduler check-config (home: the current directory)"
"$work/venv/bin/fund-scheduler" check-config | grep -E "SCHEDULER_HOME|SCHEDULER_JOBS_PACKAGES|configuration OK"
echo "== python -m fund_scheduler run-job daily_collection"
"$work/venv/bin/python" -m fund_scheduler run-job daily_collection | tail -1
echo "== fund-scheduler history"
"$work/venv/bin/fund-scheduler" history --json | "$work/venv/bin/python" -c \
    'import json, sys; rows = json.load(sys.stdin); assert rows and rows[0]["status"] == "success", rows; print("history:", rows[0]["job_id"], rows[0]["status"])'
echo "== the worker's modules and Celery are installed"
"$work/venv/bin/python" -c 'import celery, fund_scheduler.workers.task, fund_scheduler.workers.worker; print("celery", celery.__version__)'
"$work/venv/bin/fund-scheduler" install-service --worker -Q cpu --print | grep -E "^(ExecStart|KillMode)="
echo "install check OK"
