"""What a job function receives: its identity, its scheduled time, its business date and
parameters, settings and a database engine."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from fund_scheduler.settings import Settings


@dataclass
class JobContext:
    """Passed to every ``@scheduled`` function; the engine is created on first use."""

    job_id: str
    execution_id: int | None
    scheduled_run_time: datetime | None
    trigger: str
    settings: Settings
    timezone: ZoneInfo
    logger: logging.Logger
    #: The business date the daemon ran this for (see :attr:`run_date`); None: not given.
    business_date: date | None = None
    #: The run's parameters, validated against the job's declaration (defaults filled in).
    params: Mapping[str, Any] = field(default_factory=dict)
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from fund_scheduler.store.engine import make_engine

            self._engine = make_engine(self.settings.database_url)
        return self._engine

    @property
    def run_date(self) -> date:
        """The business date the run is for: the one the daemon passed (``exec --run-date``: a
        dependency run's is its upstream's), else its fire time's date in the job's timezone
        (today for a manual run)."""
        if self.business_date is not None:
            return self.business_date
        moment = self.scheduled_run_time or datetime.now(self.timezone)
        return moment.astimezone(self.timezone).date()

    @property
    def environ(self) -> Mapping[str, str]:
        return self.settings.environ
