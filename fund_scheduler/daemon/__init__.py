"""The daemon: the guarded scheduler loop, catch-up of missed fire times, reconciling specs into
the job store, active/standby leadership, the PID lock, and the one operations facade the
control socket and the HTTP API call."""
