#!/usr/bin/env bash
# Run the linters and the whole test suite in .venv with the dev requirements:
# ruff (style), mypy (types of the packages), import-linter (the house's contracts: see
# [tool.importlinter] in pyproject.toml), then pytest in two phases: every test not marked
# `serial` spread over TEST_WORKERS processes (pytest-xdist, default 3: the end-to-end tests mostly
# wait on daemons, workers and browsers, so three overlap well even on two CPUs; 0 = in this process),
# then the `serial` ones (the fail-over tests, timed against a lock's idle timeout) alone.
# Extra arguments go to pytest, e.g. ./run_tests.sh -k registry
set -euo pipefail
cd "$(dirname "$0")"
unset VIRTUAL_ENV
. scripts/venv.sh requirements-dev.txt
"$PY" -m ruff check .
"$PY" -m mypy
"$(dirname "$PY")/lint-imports" --no-logo --no-cache

phase() { # pytest exits 5 when the selection left a phase no test: that phase passed
    local code=0
    "$PY" -m pytest "$@" || code=$?
    if [ "$code" -eq 5 ]; then code=0; fi
    return "$code"
}
status=0
phase -n "${TEST_WORKERS:-3}" -m "not serial" "$@" || status=$?
phase -m serial "$@" || status=$?
exit "$status"
