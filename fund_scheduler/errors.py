"""The exceptions of the scheduler package; each message names the offending job, field or value.

A message is English for ``str(exc)`` (log files, existing callers) and is shown to a person in
the language in effect by :func:`shown` / :meth:`SchedulerError.shown`: raise with an ``N_``-marked
template and its values, ``SchedulerError(N_("job {job}: disabled"), job=job_id)``; the values stay
as they are, the template is translated. A plain string is a template without values (shown
translated when the catalogue has it, else as it is).
"""

from __future__ import annotations

from fund_common.envreader import Lines, Message
from fund_common.envreader import shown as shown_text
from fund_common.i18n import N_

__all__ = [
    "ConfigError",
    "DaemonNotRunning",
    "JobBusy",
    "Lines",
    "Message",
    "SchedulerError",
    "UnknownExecution",
    "UnknownJobError",
    "shown",
]


class SchedulerError(Exception):
    """Base class of every error the CLI turns into one clear line."""

    exit_code = 1

    def __init__(self, message: str = "", /, **values: object):
        if isinstance(message, str) and not isinstance(message, Message | Lines):
            message = Message(message, **values)
        super().__init__(message)

    def shown(self) -> str:
        """The message in the language in effect (``str(self)`` stays English)."""
        return shown_text(self.args[0]) if self.args else str(self)


def shown(exc: BaseException) -> str:
    """``exc``'s message for a person, in the language in effect: translated for a
    :class:`SchedulerError` (or an exception whose message is a :class:`Message`), else ``str(exc)``."""
    if isinstance(exc, SchedulerError):
        return exc.shown()
    if len(exc.args) == 1 and isinstance(exc.args[0], Message | Lines):
        return shown_text(exc.args[0])
    return str(exc)


class ConfigError(SchedulerError):
    """A setting or job override is invalid; the program stops with exit status 2."""

    exit_code = 2


class UnknownJobError(SchedulerError):
    """A job id that no spec defines."""

    exit_code = 2

    def __init__(self, job_id: str, known: list[str] | None = None):
        self.job_id, self.known = job_id, known
        if known:
            super().__init__(
                N_("unknown job {job!r} (known jobs: {known})"), job=job_id, known=", ".join(sorted(known))
            )
        else:
            super().__init__(N_("unknown job {job!r}"), job=job_id)

    def __reduce__(self):
        return (type(self), (self.job_id, self.known))


class DaemonNotRunning(SchedulerError):
    """The command needs the running daemon and there is none."""

    exit_code = 3


class JobBusy(SchedulerError):
    """A run asked for while as many runs of the job as ``max_instances`` allows are going."""

    exit_code = 1


class UnknownExecution(SchedulerError):
    """An execution id the history does not hold."""

    exit_code = 1
