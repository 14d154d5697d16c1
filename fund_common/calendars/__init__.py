"""Exchange calendars shared by the scheduler and the fund pipeline: one source of sessions.

* :mod:`.model`: :class:`SessionCalendar`, an exchange's sessions in plain Python.
* :mod:`.library`: sessions computed by ``exchange_calendars`` (the only module importing it,
  lazily: it imports pandas, which the daemon never loads).
* :mod:`.operator_file`: the operator's ``config/calendars.toml`` laid over them.
* :mod:`.table`, :mod:`.store`: the ``exchange_calendars`` table and its reads and writes.
* :mod:`.loading`: :func:`load_calendars` (stored or computed, then the operator file) and
  :func:`refresh` (compute and store).
* :mod:`.horizon`: :func:`ending_soon`, the warning before a calendar's known range ends.
"""

from fund_common.calendars.horizon import ENDING_SOON_DAYS, ending_soon
from fund_common.calendars.loading import Calendars, load_calendars, refresh
from fund_common.calendars.model import WEEKDAYS, SessionCalendar, weekdays_only
from fund_common.calendars.operator_file import DEFAULT_OPERATOR_FILE

__all__ = [
    "DEFAULT_OPERATOR_FILE",
    "ENDING_SOON_DAYS",
    "WEEKDAYS",
    "Calendars",
    "SessionCalendar",
    "ending_soon",
    "load_calendars",
    "refresh",
    "weekdays_only",
]
