#!/usr/bin/env bash
# Run the linters and the whole test suite in .venv with the dev requirements:
# ruff (style), mypy (types of the packages), import-linter (the house's contracts: see
# [tool.importlinter] in pyproject.toml), then pytest. Extra arguments go to pytest,
# e.g. ./run_tests.sh -k registry
set -euo pipefail
cd "$(dirname "$0")"
unset VIRTUAL_ENV
. scripts/venv.sh requirements-dev.txt
"$PY" -m ruff check .
"$PY" -m mypy
"$(dirname "$PY")/lint-imports" --no-logo --no-cache
exec "$PY" -m pytest "$@"
