#!/usr/bin/env bash
# Run the whole test suite (and the linter) in .venv with the dev requirements.
# Extra arguments go to pytest, e.g. ./run_tests.sh -k registry
set -euo pipefail
cd "$(dirname "$0")"
unset VIRTUAL_ENV
. scripts/venv.sh requirements-dev.txt
"$PY" -m ruff check .
exec "$PY" -m pytest "$@"
