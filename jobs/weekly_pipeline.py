"""``weekly_pipeline``: Sunday at 02:00 UTC, run the configured external pipeline command
(argv, no shell) with a timeout and its own log, e.g.
``PIPELINE_COMMAND="python cron_pipeline.py --run --index dow --weeks 2"``.

Without a command (``PIPELINE_COMMAND`` or ``command`` in ``[jobs.weekly_pipeline]`` of
jobs.toml) the job is registered disabled, saying why."""

from fund_common.i18n import N_
from fund_scheduler.jobs import command_job

WEEKLY_PIPELINE = command_job(
    id="weekly_pipeline",
    name=N_("Weekly ML pipeline (external command)"),
    cron="0 2 * * sun",
    timezone="UTC",
    command_env="PIPELINE_COMMAND",
    timeout=6 * 3600,
    description="Runs the configured pipeline command without a shell.",
)
