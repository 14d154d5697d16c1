"""The exceptions of the scheduler package; each message names the offending job, field or value."""


class SchedulerError(Exception):
    """Base class of every error the CLI turns into one clear line."""

    exit_code = 1


class ConfigError(SchedulerError):
    """A setting or job override is invalid; the program stops with exit status 2."""

    exit_code = 2


class UnknownJobError(SchedulerError):
    """A job id that no spec defines."""

    exit_code = 2

    def __init__(self, job_id: str, known: list[str] | None = None):
        self.job_id = job_id
        hint = f" (known jobs: {', '.join(sorted(known))})" if known else ""
        super().__init__(f"unknown job {job_id!r}{hint}")


class DaemonNotRunning(SchedulerError):
    """The command needs the running daemon and there is none."""

    exit_code = 3


class JobBusy(SchedulerError):
    """A run asked for while as many runs of the job as ``max_instances`` allows are going."""

    exit_code = 1


class UnknownExecution(SchedulerError):
    """An execution id the history does not hold."""

    exit_code = 1
