"""Exchange calendars shared by the scheduler and the fund pipeline: one source of sessions.

* :mod:`.model`: :class:`SessionCalendar`, an exchange's sessions in plain Python.
"""

from fund_common.calendars.model import WEEKDAYS, SessionCalendar, weekdays_only

__all__ = ["WEEKDAYS", "SessionCalendar", "weekdays_only"]
