"""Everything the daemon keeps in its database: engines, the JSON job store, the run history and
the spool that holds history rows while the database is away."""
