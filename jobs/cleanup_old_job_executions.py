"""``cleanup_old_job_executions``: daily at 02:00, delete run history older than
``HISTORY_RETENTION_DAYS`` (default 7) and the run logs (``logs/jobs/<job>/<execution>.log``)
last written before then. Light: runs in a daemon thread."""

import time

from fund_common.i18n import N_
from fund_scheduler.jobs import scheduled
from fund_scheduler.run.joblog import purge_run_logs
from fund_scheduler.store import history


@scheduled(
    id="cleanup_old_job_executions",
    name=N_("Clean up old run history"),
    cron="0 2 * * *",
    executor="thread",
)
def cleanup_old_job_executions(ctx):
    """Delete old job_executions rows and old run logs; return the counts."""
    days = ctx.settings.history_retention_days
    deleted = history.purge_older_than(ctx.engine, days)
    removed_logs = purge_run_logs(ctx.settings.job_log_dir, time.time() - days * 86400)
    ctx.logger.info(
        "deleted %d execution rows older than %d days, %d old run logs", deleted, days, removed_logs
    )
    return {"deleted_executions": deleted, "removed_job_logs": removed_logs, "retention_days": days}
