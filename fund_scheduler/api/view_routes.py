"""The views: the job packages' panels that take a query (see :mod:`fund_scheduler.jobs.declare`).

``GET /api/panels``: ``{"views": [{"name", "title", "inputs": [{"name", "label", "pattern",
"required", "default", "example", "kind"}]}]}``, texts in the request's language; the page
draws a card with a form for each.

``GET /api/panels/<name>?<input>=<value>&...``: that view run on the query
(:meth:`fund_scheduler.daemon.operations.Operations.panel`): 200 its answer (``title``,
``tables``, ``charts``, ``notes``, ``query``...), 400 ``{"error", "field"}`` naming a missing or
bad input, 404 no view of that name, 500 the view failed (the answer, ``ok`` false, ``error``
its reason). Query names a view does not declare (``lang``, the page's language switch) are
ignored. Read-only: no token needed.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request

from fund_scheduler.jobs.panels import PanelQueryError, UnknownPanel

__all__ = ["register"]


def register(app: Flask, ops: Any) -> None:
    """Add ``GET /api/panels`` and ``GET /api/panels/<name>`` to ``app``, answered by ``ops``."""

    def refuse(status: int, message: str, **extra: Any) -> Response:
        response = jsonify({"error": message, **extra})
        response.status_code = status
        return response

    @app.get("/api/panels")
    def views() -> Response:
        return jsonify({"views": ops.panel()})

    @app.get("/api/panels/<name>")
    def view(name: str) -> Response:
        query = {key: request.args.get(key, "") for key in request.args}
        try:
            answer = ops.panel(name, query)
        except UnknownPanel as exc:
            return refuse(404, str(exc))
        except PanelQueryError as exc:
            return refuse(400, str(exc), field=exc.field)
        response = jsonify(answer)
        response.status_code = 200 if answer.get("ok") else 500
        return response
