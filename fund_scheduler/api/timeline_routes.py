"""``GET /api/timeline?hours=24``: each job's runs of the last ``hours`` hours and its fire times
of the next (:meth:`fund_scheduler.daemon.operations.Operations.timeline`), for the page's
Timeline card. ``hours`` is a whole number from 1 to 72 (default 24); another value is 400 naming
it. Statuses' ``label`` and the jobs' ``schedule`` are in the request's language.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request

from fund_common.i18n import gettext as _

__all__ = ["HOURS_DEFAULT", "HOURS_MAX", "register"]

HOURS_DEFAULT = 24
#: The widest window asked for (Operations.timeline refuses wider ones too; the API names the bound).
HOURS_MAX = 72


def register(app: Flask, ops: Any) -> None:
    """Add ``GET /api/timeline`` to ``app``, answered by ``ops``."""

    @app.get("/api/timeline")
    def timeline() -> Response:
        raw = request.args.get("hours", "").strip()
        hours = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else 0
        if not raw:
            hours = HOURS_DEFAULT
        if not 1 <= hours <= HOURS_MAX:
            problem = _("hours={value} must be a whole number from 1 to {most}")
            response = jsonify({"error": problem.format(value=repr(raw), most=HOURS_MAX)})
            response.status_code = 400
            return response
        return jsonify(ops.timeline(hours=hours))
