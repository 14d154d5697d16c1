"""The daemon's two front-ends onto one :class:`~fund_scheduler.daemon.operations.Operations`:
the Unix control socket (the CLI's channel) and the HTTP API with health, Prometheus metrics and
the dashboard page."""
