"""The daemon's HTTP API and the dashboard page: one small Flask app over
:class:`~fund_scheduler.daemon.operations.Operations`.

============================================  ===============================================
``GET /health``                               scheduler loop, database, jobs, panels
                                              (:mod:`fund_scheduler.api.health`);
                                              200 healthy, 503 degraded or unhealthy
``GET /metrics``                              Prometheus text (:mod:`fund_scheduler.api.metrics`)
``GET /api/status``                           pid, uptime, version, running executions,
                                              7-day runs per job, the run-status vocabulary
``GET /api/jobs``, ``GET /api/jobs/<id>``     the job rows (trigger in words, next run, last run)
``POST /api/jobs/<id>/run|pause|resume``      ``Authorization: Bearer <token>`` of an operator
                                              (:mod:`fund_scheduler.api.tokens`); 401 no or
                                              wrong token, 403 a viewer's, 404 unknown job,
                                              409 busy or disabled; run answers 202
                                              ``{"execution_id": N}``; its body
                                              ``{"run_date": "2026-11-26", "params": {...},
                                              "with_dependents": true}`` (400 naming a bad field)
``POST /api/reload``                          re-read the specs and jobs.toml (operator): 200
                                              what changed, 400 refused with the reason
``GET /api/chain``                            each step of the dependency chains in order: after,
                                              today's deadline and where today's run stands
``GET /api/checks``                           each check job's state: ok or breach, since,
                                              last checked, summary, details
``GET /api/executions?job=&status=&limit=``   history rows, newest first (limit 1..500); also
                                              ``trigger=``, ``date_from=``/``date_to=`` (the
                                              business date ``run_date``, inclusive) and the
                                              cursor ``before_id=`` (``next_before_id`` of the
                                              previous page); 400 naming a bad parameter
``GET /api/executions/<id>``                  one row with its output tail
``GET /api/executions/<id>/log``              the run's log: ``?offset=N&limit=M`` (bytes) or
                                              ``?tail=N``; ``next_offset`` to follow; 404 none
``GET /api/panels``                           the views (panels taking a query) and their inputs
``GET /api/panels/<name>?…``                  one view run on its query: 400 names the input,
                                              404 unknown
``GET /api/timeline?hours=24``                each job's runs of the last ``hours`` h (bars;
                                              never-run rows as marks) and fire times of the
                                              next (deadlines for dependents); 1..72, 400 else
``GET /reports/``                              the weekly reports (SCHEDULER_REPORTS_DIR), newest
                                              first: name, week, size, modified
``GET /reports/<weekly-YYYY-Www.html>``       one report, read-only, under its own CSP; any
                                              other name (or a link leading out) 404
``GET /``, ``GET /static/<path>``             the dashboard (``fund_scheduler/api/web/``)
============================================  ===============================================

Every request naming a foreign ``Host`` is refused with 400 (DNS rebinding: see
:func:`create_app`). Write endpoints refuse every request while no operator token is configured; a token is
compared in constant time and checked before the job; each write is recorded in the audit log
with the token's name. No answer carries a secret: the database
URL is shown masked, the token never.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from fund_common import i18n
from fund_common.i18n import gettext
from fund_common.runstatus import vocabulary
from fund_scheduler.api import language as request_language
from fund_scheduler.api import timeline_routes, view_routes
from fund_scheduler.api.health import health_report
from fund_scheduler.api.metrics import DaemonCollector, RunMetrics
from fund_scheduler.api.tokens import TokenBook
from fund_scheduler.errors import ConfigError, SchedulerError, UnknownExecution, UnknownJobError, shown
from fund_scheduler.jobs.panels import error_line
from fund_scheduler.jobs.params import ParamError
from fund_scheduler.settings import LOCAL_HOST_NAMES
from fund_scheduler.store.audit import ACTIONS, Actor
from fund_scheduler.store.history import STATUSES, TRIGGERS
from fund_scheduler.version import version

__all__ = ["EXECUTIONS_LIMIT_MAX", "WEB_DIR", "create_app", "host_name"]

logger = logging.getLogger("scheduler.http")

WEB_DIR = Path(__file__).resolve().parent / "web"
EXECUTIONS_LIMIT_DEFAULT = 20
EXECUTIONS_LIMIT_MAX = 500
AUDIT_LIMIT_MAX = 500
LOG_LIMIT = 256 * 1024  # bytes of a run's log per answer unless ``limit`` says otherwise
LOG_LIMIT_MAX = 4 * 1024 * 1024
#: The byte-range arguments of ``GET /api/executions/<id>/log``: name, least, most (None: any).
LOG_QUERY = (("offset", 0, None), ("limit", 1, LOG_LIMIT_MAX), ("tail", 1, LOG_LIMIT_MAX))
SUCCESS_RATE_DAYS = 7
FAILURE_HOURS = 24  # the failures ``/health`` lists for the page's banner
#: The only names ``GET /reports/<name>`` serves (what fundpipe's weekly run writes).
REPORT_NAME = re.compile(r"weekly-(?P<year>[0-9]{4})-W(?P<week>0[1-9]|[1-4][0-9]|5[0-3])\.html")
#: A report's own policy (its ``<meta>`` in fundpipe/report/templates/weekly.html.j2), as a header,
#: tightened: no base, no form, not framed.
#: The page and the API: scripts, styles and requests of this server only, nothing inline, no
#: frames (a page that injected markup could run nothing).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
REPORT_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class _JSONProvider(DefaultJSONProvider):
    """Flask's JSON with ISO 8601 times (Flask's default is the HTTP date format)."""

    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return (o if o.tzinfo else o.replace(tzinfo=UTC)).isoformat()
        if isinstance(o, date):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "output_tail"}


def _iso_date(name: str, value: Any) -> date | None:
    """``value`` (``YYYY-MM-DD``, or None) as a date; ParamError naming ``name`` otherwise."""
    if value is None:
        return None
    try:
        if isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ParamError(f"{name} {value!r} is not a date (YYYY-MM-DD)")


def _inside(folder: Path, name: str) -> Path | None:
    """The file ``name`` directly in ``folder`` once links are followed, or None (missing, not a
    regular file, or a link leading out of the folder)."""
    try:
        root = folder.resolve(strict=True)
        path = (root / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return path if path.parent == root and path.is_file() else None


def _limit_error(raw: str, most: int) -> str:
    return gettext("limit={value} must be a whole number from 1 to {most}").format(value=repr(raw), most=most)


def _not_one_of(name: str, value: str | None, allowed: Iterable[str]) -> str:
    return gettext("{name}={value} is not one of {allowed}").format(
        name=name, value=repr(value), allowed=", ".join(allowed)
    )


def host_name(header: str) -> str:
    """The host of a ``Host`` header, lower-cased, without port, brackets or a final dot
    (``[::1]:5000`` -> ``::1``, ``Fund.Example.:80`` -> ``fund.example``)."""
    header = header.strip().lower()
    if header.startswith("["):
        host = header[1:].partition("]")[0]
    elif header.count(":") == 1:
        host = header.partition(":")[0]
    else:
        host = header  # a name, or a bare IPv6 address
    return host.rstrip(".")


def create_app(
    ops: Any,
    tokens: TokenBook | str | None,
    allowed_hosts: Iterable[str] = LOCAL_HOST_NAMES,
    language: str = i18n.DEFAULT_LANGUAGE,
) -> Flask:
    """The WSGI app answering for ``ops``; ``app.extensions["fund_scheduler"]["metrics"]`` is the
    :class:`RunMetrics` to subscribe to finished runs. ``tokens``: who may write (a single string
    is the operator token ``default``).

    A request whose ``Host`` header names none of ``allowed_hosts`` (any port) is answered 400
    before anything else: a page that DNS rebinding pointed at the daemon cannot read it. A
    request without ``Host`` (HTTP/1.0; no browser sends one) is served.

    Each request is answered in its language (:mod:`fund_scheduler.api.language`; ``language``
    when nothing in the request says)."""
    allowed = frozenset(host_name(h) for h in allowed_hosts)
    book = tokens if isinstance(tokens, TokenBook) else TokenBook.of(tokens)
    app = Flask(__name__, static_folder=None, template_folder=str(WEB_DIR))
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    app.json = _JSONProvider(app)
    registry = CollectorRegistry(auto_describe=False)
    run_metrics = RunMetrics(registry)
    registry.register(DaemonCollector(ops))
    app.extensions["fund_scheduler"] = {"ops": ops, "metrics": run_metrics, "registry": registry}

    def error(status: int, message: str, **extra: Any) -> Response:
        response = jsonify({"error": message, **extra})
        response.status_code = status
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        reason = error_line(exc.orig or exc)
        logger.warning("http %s %s: database unavailable: %s", request.method, request.path, reason)
        return error(503, gettext("database unavailable: {reason}").format(reason=reason))

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        logger.exception("http %s %s failed", request.method, request.path)
        return error(500, f"internal error: {error_line(exc)}")

    @app.before_request
    def check_host() -> Response | None:
        header = request.environ.get("HTTP_HOST")
        if header is None or host_name(header) in allowed:
            return None
        logger.warning("http %s %s: refused foreign Host %r", request.method, request.path, header)
        return error(
            400,
            f"Host {header!r} is not allowed: this server answers only to the names of "
            "SCHEDULER_HTTP_ALLOWED_HOSTS, its bind address and localhost",
        )

    @app.before_request
    def speak() -> None:
        chosen = request_language.choose(request.args, request.cookies, request.accept_languages, language)
        g.language_block = i18n.use(chosen)
        g.language = g.language_block.__enter__()

    @app.teardown_request
    def stop_speaking(_exc: BaseException | None) -> None:
        block = g.pop("language_block", None)
        if block is not None:
            block.__exit__(None, None, None)

    @app.after_request
    def headers(response: Response) -> Response:
        if i18n.normalise(request.args.get("lang")):  # the page's switch: remembered
            response.set_cookie(
                request_language.COOKIE,
                g.language,
                max_age=request_language.COOKIE_MAX_AGE,
                samesite="Lax",
                httponly=True,
            )
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)  # a report keeps its own
        return response

    def authorised() -> Actor | Response:
        """Who asks (an operator token's holder), or the refusal: 401 no or wrong token, 403 a
        viewer's token."""
        if not book.writes_enabled:
            return error(
                401,
                gettext(
                    "writes are disabled until SCHEDULER_API_TOKEN or SCHEDULER_API_TOKENS_FILE (an "
                    "operator token) is set in the daemon's environment"
                ),
            )
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        token = book.find(given.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            response = error(401, gettext("missing or wrong token (send Authorization: Bearer <token>)"))
            response.headers["WWW-Authenticate"] = 'Bearer realm="fund-scheduler"'
            return response
        if not token.may_write:
            logger.warning(
                "http %s %s: refused %s token %r", request.method, request.path, token.role, token.name
            )
            refusal = gettext("token {name} has the role {role}: writes need an operator's")
            return error(403, refusal.format(name=repr(token.name), role=token.role))
        return Actor(f"token:{token.name}", "http", request.remote_addr, token.role)

    @app.get("/health")
    def health():
        report = health_report(ops)
        # The failed runs of the last 24 h (the page's banner); they do not change the status.
        report["failures_24h"] = None
        if report["database"]["ok"]:
            try:
                report["failures_24h"] = ops.recent_failures(FAILURE_HOURS)
            except Exception as exc:  # noqa: BLE001 - the database went away meanwhile
                unavailable = gettext("history unavailable: {reason}")
                report["problems"].append(unavailable.format(reason=error_line(exc)))
        response = jsonify(report)
        response.status_code = 200 if report["status"] == "healthy" else 503
        return response

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/api/status")
    def status():
        return jsonify(
            {
                **ops.status(),
                "version": version(),
                "writes_enabled": book.writes_enabled,
                "success_7d": ops.run_stats(SUCCESS_RATE_DAYS),
                "statuses": vocabulary(),
            }
        )

    @app.get("/api/jobs")
    def jobs():
        return jsonify({"jobs": ops.jobs()})

    @app.get("/api/jobs/<job_id>")
    def job(job_id: str):
        row = ops.job(job_id)
        return jsonify(row) if row else error(404, gettext("unknown job {job}").format(job=repr(job_id)))

    def job_action(job_id: str, action: Callable[[Actor], Response]) -> Response:
        actor = authorised()
        if isinstance(actor, Response):
            return actor
        try:
            ops.check_job(job_id)
            return action(actor)
        except UnknownJobError as exc:
            return error(404, shown(exc))
        except ParamError as exc:  # an unknown or invalid parameter, a future run date
            return error(400, shown(exc))
        except SchedulerError as exc:  # disabled, already running (max_instances), stopping
            return error(409, shown(exc))

    @app.post("/api/jobs/<job_id>/run")
    def run(job_id: str):
        def act(actor: Actor) -> Response:
            body = json_body()
            run_date = body.get("run_date")
            params = body.get("params", {})
            with_dependents = body.get("with_dependents", False)
            unknown = sorted(set(body) - {"run_date", "params", "with_dependents"})
            if unknown:
                known = "run_date, params, with_dependents"
                raise ParamError(f"unknown field(s) {', '.join(unknown)} in the body (known: {known})")
            if not isinstance(with_dependents, bool):
                raise ParamError("with_dependents must be true or false")
            if not isinstance(params, dict):
                raise ParamError('params must be an object such as {"fund_codes": "000001"}')
            answer = ops.run(
                job_id,
                with_dependents=with_dependents,
                run_date=_iso_date("run_date", run_date),
                params=params,
                actor=actor,
            )
            execution_id = answer["execution_id"]
            logger.info(
                "job=%s execution=%s run requested over HTTP by %s from %s",
                job_id,
                execution_id,
                actor.name,
                request.remote_addr,
            )
            response = jsonify(
                {
                    "job": job_id,
                    "execution_id": execution_id,
                    "status": "running",
                    "run_date": answer["run_date"],
                    "params": answer["params"],
                    "with_dependents": with_dependents,
                }
            )
            response.status_code = 202
            response.headers["Location"] = f"/api/executions/{execution_id}"
            return response

        return job_action(job_id, act)

    @app.post("/api/jobs")
    def add_job():
        actor = authorised()
        if isinstance(actor, Response):
            return actor
        try:
            body = json_body()
            job_id = body.pop("id", None)
            if not isinstance(job_id, str) or not job_id:
                raise ParamError('the body needs "id", the new job\'s id')
            answer = ops.add_job(job_id, body, actor)
        except ConfigError as exc:
            return error(400, shown(exc))
        except ParamError as exc:
            return error(400, shown(exc))
        except SchedulerError as exc:
            return error(409, shown(exc))
        response = jsonify(answer)
        response.status_code = 201
        response.headers["Location"] = f"/api/jobs/{job_id}"
        return response

    @app.patch("/api/jobs/<job_id>")
    def set_job(job_id: str):
        def act(actor: Actor) -> Response:
            body = json_body()
            reset = body.pop("reset", False) is True
            try:
                return jsonify(ops.set_job(job_id, body, actor, reset=reset))
            except ConfigError as exc:
                raise ParamError(str(exc)) from None

        return job_action(job_id, act)

    @app.delete("/api/jobs/<job_id>")
    def remove_job(job_id: str):
        return job_action(job_id, lambda actor: jsonify(ops.remove_job(job_id, actor)))

    @app.post("/api/jobs/<job_id>/backfill")
    def backfill(job_id: str):
        def act(actor: Actor) -> Response:
            body = json_body()
            known = ("from", "to", "params", "with_dependents", "continue_on_failure", "dry_run")
            unknown = sorted(set(body) - set(known))
            if unknown:
                names = ", ".join(unknown)
                raise ParamError(f"unknown field(s) {names} in the body (known: {', '.join(known)})")
            start, end = _iso_date("from", body.get("from")), _iso_date("to", body.get("to"))
            if start is None or end is None:
                raise ParamError('"from" and "to" dates (YYYY-MM-DD) are required')
            flags = {name: body.get(name, False) for name in known[3:]}
            for name, value in flags.items():
                if not isinstance(value, bool):
                    raise ParamError(f"{name} must be true or false")
            params = body.get("params", {})
            if not isinstance(params, dict):
                raise ParamError('params must be an object such as {"fund_codes": "000001"}')
            answer = ops.backfill(job_id, start, end, params=params, actor=actor, **flags)
            response = jsonify(answer)
            if answer["backfill_id"]:
                response.status_code = 202
                response.headers["Location"] = f"/api/backfills/{answer['backfill_id']}"
            return response

        return job_action(job_id, act)

    @app.post("/api/reload")
    def reload():
        """Re-read the job specs and jobs.toml: 200 what changed; 400 refused (the reason; the
        current jobs kept); 503 the specs could not be read or the database is away."""
        actor = authorised()
        if isinstance(actor, Response):
            return actor
        try:
            return jsonify(ops.reload(actor))
        except ConfigError as exc:
            return error(400, shown(exc))
        except SchedulerError as exc:
            return error(503, shown(exc))

    @app.get("/api/audit")
    def audit_log():
        """Who did what, newest first: ``?limit=`` (1–500, default 50), ``job=``, ``action=``, ``by=``."""
        args = request.args
        raw_limit = args.get("limit", "").strip()
        limit = int(raw_limit) if raw_limit.isdigit() else (50 if not raw_limit else 0)
        if not 1 <= limit <= AUDIT_LIMIT_MAX:
            return error(400, _limit_error(raw_limit, AUDIT_LIMIT_MAX))
        action = args.get("action", "").strip() or None
        if action is not None and action not in ACTIONS:
            return error(400, _not_one_of("action", action, ACTIONS))
        rows = ops.audit_rows(
            limit=limit,
            actor=args.get("by", "").strip() or None,
            action=action,
            target=args.get("job", "").strip() or None,
        )
        return jsonify({"audit": rows, "limit": limit})

    @app.get("/api/backfills")
    def backfills():
        job_id = request.args.get("job", "").strip() or None
        return jsonify({"backfills": ops.backfills(job_id=job_id)})

    @app.get("/api/backfills/<backfill_id>")
    def backfill_progress(backfill_id: str):
        found = ops.backfill_progress(backfill_id)
        if not found:
            return error(404, gettext("no backfill {id}").format(id=repr(backfill_id)))
        return jsonify(found)

    @app.post("/api/executions/<int:execution_id>/cancel")
    def cancel_execution(execution_id: int):
        actor = authorised()
        if isinstance(actor, Response):
            return actor
        try:
            return jsonify(ops.cancel(execution_id, actor=actor))
        except UnknownExecution as exc:
            return error(404, shown(exc))
        except SchedulerError as exc:
            return error(409, shown(exc))

    @app.post("/api/backfills/<backfill_id>/cancel")
    def cancel_backfill(backfill_id: str):
        actor = authorised()
        if isinstance(actor, Response):
            return actor
        if ops.backfill_progress(backfill_id) is None:
            return error(404, gettext("no backfill {id}").format(id=repr(backfill_id)))
        try:
            return jsonify(ops.cancel_backfill(backfill_id, actor=actor))
        except SchedulerError as exc:
            return error(409, shown(exc))

    def json_body() -> dict[str, Any]:
        """The request's JSON object (empty without a body); ParamError for anything else."""
        if not request.content_length:
            return {}
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ParamError('the body must be empty or a JSON object such as {"run_date": "2026-11-26"}')
        return body

    @app.post("/api/jobs/<job_id>/pause")
    def pause(job_id: str):
        return job_action(job_id, lambda actor: jsonify(ops.pause(job_id, actor=actor)))

    @app.post("/api/jobs/<job_id>/resume")
    def resume(job_id: str):
        return job_action(job_id, lambda actor: jsonify(ops.resume(job_id, actor=actor)))

    @app.get("/api/chain")
    def chain():
        return jsonify({"chain": ops.chain()})

    @app.get("/api/checks")
    def checks():
        return jsonify({"checks": ops.checks()})

    @app.get("/api/workers")
    def workers():
        return jsonify(ops.workers())

    @app.get("/api/executions")
    def executions() -> Response:
        args = request.args
        raw_limit = args.get("limit", "").strip()
        try:
            limit = int(raw_limit) if raw_limit else EXECUTIONS_LIMIT_DEFAULT
        except ValueError:
            limit = 0
        if not 1 <= limit <= EXECUTIONS_LIMIT_MAX:
            return error(400, _limit_error(raw_limit, EXECUTIONS_LIMIT_MAX))
        status_ = args.get("status", "").strip() or None
        if status_ is not None and status_ not in STATUSES:
            return error(400, _not_one_of("status", status_, STATUSES))
        trigger = args.get("trigger", "").strip() or None
        if trigger is not None and trigger not in TRIGGERS:
            return error(400, _not_one_of("trigger", trigger, TRIGGERS))
        dates: dict[str, date | None] = {}
        for name in ("date_from", "date_to"):
            raw = args.get(name, "").strip()
            try:
                dates[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                problem = gettext("{name}={value} is not a date (YYYY-MM-DD)")
                return error(400, problem.format(name=name, value=repr(raw)))
        if dates["date_from"] and dates["date_to"] and dates["date_from"] > dates["date_to"]:
            first, last = args["date_from"].strip(), args["date_to"].strip()
            problem = gettext("date_from={first} is after date_to={last}")
            return error(400, problem.format(first=repr(first), last=repr(last)))
        raw_before = args.get("before_id", "").strip()
        before_id = int(raw_before) if raw_before.isascii() and raw_before.isdigit() else None
        if raw_before and not (before_id and before_id <= 2**63 - 1):
            return error(400, f"before_id={raw_before!r} must be a whole number of 1 or more (an id)")
        job_id = args.get("job", "").strip() or None
        rows = ops.executions(
            job_id=job_id,
            status=status_,
            limit=limit + 1,  # one more: is there a next page?
            trigger=trigger,
            before_id=before_id,
            **dates,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return jsonify(
            {
                "executions": [_summary(r) for r in rows],
                "limit": limit,
                "next_before_id": rows[-1]["id"] if more else None,
            }
        )

    @app.get("/api/executions/<int:execution_id>")
    def execution(execution_id: int):
        row = ops.execution(execution_id)
        return jsonify(row) if row else error(404, gettext("no execution {id}").format(id=execution_id))

    @app.get("/api/executions/<int:execution_id>/log")
    def execution_log(execution_id: int):
        """Bytes ``offset`` (0) to ``offset + limit`` of the run's log, or its last ``tail``."""
        from fund_scheduler.run.logview import NoRunLog

        asked: dict[str, int | None] = {}
        for name, least, most in LOG_QUERY:
            raw = request.args.get(name, "").strip()
            value = int(raw) if raw.isdigit() else -1
            if raw and not (least <= value and (most is None or value <= most)):
                bound = f"from {least} to {most}" if most else f"of {least} or more"
                return error(400, f"{name}={raw!r} must be a whole number {bound}")
            asked[name] = value if raw else None
        if asked["tail"] is not None and (asked["offset"] is not None or asked["limit"] is not None):
            return error(400, "tail excludes offset and limit")
        if asked["tail"] is None and asked["limit"] is None:
            asked["limit"] = LOG_LIMIT
        try:
            return jsonify(ops.execution_log(execution_id, **asked))
        except NoRunLog as exc:
            return error(404, shown(exc))

    @app.get("/reports/")
    def reports():
        """The weekly reports, newest week first (read-only; nothing here writes)."""
        folder = Path(ops.reports_dir)
        found = []
        try:
            entries = list(folder.iterdir()) if folder.is_dir() else []
        except OSError:
            entries = []
        for entry in entries:
            match = REPORT_NAME.fullmatch(entry.name)
            path = _inside(folder, entry.name) if match else None
            if match is None or path is None:
                continue
            try:
                info = path.stat()
            except OSError:
                continue
            found.append(
                {
                    "name": entry.name,
                    "week": f"{match['year']}-W{match['week']}",
                    "size": info.st_size,
                    "modified": datetime.fromtimestamp(info.st_mtime, UTC),
                    "url": f"/reports/{entry.name}",
                }
            )
        found.sort(key=lambda r: r["week"], reverse=True)
        return jsonify({"reports": found})

    @app.get("/reports/<path:name>")
    def report_file(name: str):
        path = _inside(Path(ops.reports_dir), name) if REPORT_NAME.fullmatch(name) else None
        if path is None:
            return error(404, f"no report {name!r} (names look like weekly-2026-W48.html)")
        try:
            body = path.read_bytes()
        except OSError:
            return error(404, f"no report {name!r}")
        response = Response(body, mimetype="text/html")
        response.headers["Content-Security-Policy"] = REPORT_CSP
        return response

    @app.get("/")
    def index():
        if not (WEB_DIR / "index.html").is_file():
            return error(404, "the dashboard is not installed (fund_scheduler/api/web/index.html is missing)")
        chosen = g.language
        return render_template(
            "index.html",
            language=chosen,
            html_lang=chosen.replace("_", "-"),
            languages=i18n.language_names(),
            catalogue=i18n.web_catalogue(chosen),
        )

    @app.get("/static/<path:path>")
    def static_file(path: str):
        return send_from_directory(WEB_DIR, path, max_age=0)

    timeline_routes.register(app, ops)
    view_routes.register(app, ops)
    return app
