"""The exceptions of fundpipe; each message names the offending setting, field, row or value."""


class FundPipelineError(Exception):
    """Base class of every error fundpipe raises on purpose."""


class FundConfigError(FundPipelineError, ValueError):
    """One or more ``FUND_*`` settings are invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class SourceError(FundPipelineError):
    """A source returned data that cannot be staged at all (wrong shape, missing column)."""


class ValidationFailed(FundPipelineError):
    """A validation run left the day unusable (e.g. staged rows but none loaded)."""
