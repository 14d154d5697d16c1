"""The bundled jobs: one small module per job, each declaring its id, schedule and defaults and
making one call into its domain (``fundpipe`` for the fund jobs). Imports of the domain happen
inside the job functions, so the daemon (which only reads the specs) never loads pandas."""

#: What the fork server imports once before it forks the runs of these jobs (each run of a fund
#: job then starts with pandas and the pipeline already imported).
PRELOAD = ("fundpipe.tasks",)
