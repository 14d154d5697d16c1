"""A job package written for one test module, importable by the test process and its children."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def job_package(name: str, source: str) -> Iterator[Path]:
    """Package ``name`` holding one module of ``source``, on ``sys.path`` and ``PYTHONPATH`` and
    named by ``SCHEDULER_JOBS_PACKAGES`` while the block runs. Use it once per module (scope
    "module"): its modules stay in ``sys.modules`` for the rest of the process."""
    where = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    (where / name).mkdir()
    (where / name / "__init__.py").write_text("")
    (where / name / "jobs.py").write_text(source)
    try:
        with pytest.MonkeyPatch.context() as patch:  # the children read the environment too
            patch.syspath_prepend(str(where))
            patch.setenv(
                "PYTHONPATH", os.pathsep.join(filter(None, [str(where), os.environ.get("PYTHONPATH")]))
            )
            patch.setenv("SCHEDULER_JOBS_PACKAGES", name)
            yield where
    finally:
        shutil.rmtree(where, ignore_errors=True)
