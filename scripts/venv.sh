# Sourced by the shell wrappers: sets PY to a Python that has the project's requirements.
# Uses the active virtualenv when there is one; otherwise creates ./.venv from the given
# requirements file on first use and re-installs when that file changes.
# Usage: . scripts/venv.sh requirements.txt
set -euo pipefail
_req_file="${1:-requirements.txt}"
_project_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    PY="$VIRTUAL_ENV/bin/python"
else
    _venv="$_project_dir/.venv"
    _python="${PYTHON:-python3}"
    if [ ! -x "$_venv/bin/python" ]; then
        echo "creating $_venv with $($_python --version 2>&1)" >&2
        "$_python" -m venv "$_venv"
    fi
    PY="$_venv/bin/python"
    _stamp="$_venv/.installed-$(basename "$_req_file")"
    _sum="$(cat "$_project_dir/requirements.txt" "$_project_dir/$_req_file" | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$_stamp" ] || [ "$(cat "$_stamp")" != "$_sum" ]; then
        echo "installing $_req_file into $_venv" >&2
        "$PY" -m pip install --quiet --disable-pip-version-check -r "$_project_dir/$_req_file" >&2
        echo "$_sum" > "$_stamp"
    fi
fi
export PY
