"""The bundled jobs: one small module per job, each declaring its id, schedule and defaults and
making one call into its domain (``fundpipe`` for the fund jobs). Imports of the domain happen
inside the job functions, so the daemon (which only reads the specs) never loads pandas."""
