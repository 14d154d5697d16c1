"""The bundled job set (the checkout's ``jobs/``), declared once for every test that expects it:
each job's id and its schedule in words."""

BUNDLED_SCHEDULES = {
    "daily_collection": "cron 0 19 * * mon-fri (Asia/Shanghai), XSHG sessions",
    "daily_validation": "cron 30 19 * * mon-fri (Asia/Shanghai), XSHG sessions",
    "daily_metrics": "cron 30 20 * * mon-fri (Asia/Shanghai), XSHG sessions",
    "weekly_full_calc": "cron 0 2 * * sun (Asia/Shanghai)",
    "weekly_pipeline": "cron 0 2 * * sun (UTC)",
    "cleanup_old_job_executions": "cron 0 2 * * * (Asia/Shanghai)",
    "refresh_calendars": "cron 0 6 * * * (Asia/Shanghai)",
    "fund_nav_freshness": "cron */10 * * * * (Asia/Shanghai)",
    "fund_metrics_freshness": "cron */10 * * * * (Asia/Shanghai)",
}
BUNDLED = frozenset(BUNDLED_SCHEDULES)
#: Registered but disabled until a command is configured (PIPELINE_COMMAND).
DISABLED_WITHOUT_COMMAND = frozenset({"weekly_pipeline"})
