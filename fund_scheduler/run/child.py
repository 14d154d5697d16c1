"""Inside a job's child process: run one Python job function and exit with its outcome.

The runner starts ``python -m fund_scheduler exec JOB --execution-id N ...`` in a process group
of its own; this is what that command does. The function's return value is printed as
``result: <json>`` (it ends up in the job log and the history row's output tail); an exception's
traceback goes to the job log and the exit status is 1. Its log lines are one line per record
(:class:`~fund_scheduler.logsetup.OneLineFormatter`), so no file name or message forges a line,
with the secrets masked as in ``scheduler.log``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date, datetime

from fund_scheduler.errors import SchedulerError
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.jobs.results import result_line
from fund_scheduler.jobs.spec import resolve
from fund_scheduler.logsetup import OneLineFormatter, RedactSecrets, secrets_of
from fund_scheduler.run.context import JobContext
from fund_scheduler.settings import Settings

__all__ = ["run_job_function"]


def run_job_function(
    settings: Settings,
    registry: Registry,
    job_id: str,
    *,
    execution_id: int | None,
    trigger: str,
    scheduled: datetime | None,
    run_date: date | None = None,
) -> int:
    """Run ``job_id``'s function in this process; 0 when it returned, 1 when it raised."""
    handler = logging.StreamHandler(sys.stderr)
    fields = f"job={job_id} execution={execution_id}"
    handler.setFormatter(OneLineFormatter(f"%(asctime)s %(levelname)-7s {fields} %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets_of(settings)))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    spec = registry.get(job_id)
    if not spec.func:
        raise SchedulerError(f"job {spec.id!r} is a command job; the daemon runs it directly")
    log = logging.getLogger(f"jobs.{spec.id}")
    ctx = JobContext(
        job_id=spec.id,
        execution_id=execution_id,
        scheduled_run_time=scheduled,
        trigger=trigger,
        business_date=run_date,
        params=_params_from_environment(),
        settings=settings,
        timezone=spec.zone(settings.timezone),
        logger=log,
    )
    try:
        outcome = resolve(spec.func)(ctx)
    except Exception:  # noqa: BLE001 - the traceback goes to the job log; exit status says failed
        log.exception("job %s failed", spec.id)
        return 1
    if outcome is not None:
        print(result_line(outcome))
    return 0


def _params_from_environment() -> dict:
    """The run's validated parameters the runner passed in ``SCHEDULER_PARAMS`` (a JSON object)."""
    raw = os.environ.get("SCHEDULER_PARAMS", "")
    try:
        params = json.loads(raw) if raw else {}
    except ValueError:
        raise SchedulerError(f"SCHEDULER_PARAMS is not a JSON object: {raw[:80]!r}") from None
    if not isinstance(params, dict):
        raise SchedulerError(f"SCHEDULER_PARAMS is not a JSON object: {raw[:80]!r}")
    return params
