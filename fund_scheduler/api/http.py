"""The daemon's HTTP surface: health, Prometheus metrics, a JSON jobs API and the dashboard page.

One small Flask app (:func:`create_app`) served by waitress in a daemon thread
(:class:`HttpServer`), bound before the scheduler starts (a port in use is a :class:`ConfigError`)
and closed at shutdown. Disabled with ``SCHEDULER_HTTP_PORT=0``.

============================================  ===============================================
``GET /health``                               scheduler loop, database, jobs, data freshness;
                                              200 healthy, 503 degraded or unhealthy
``GET /metrics``                              Prometheus text format
``GET /api/status``                           pid, uptime, version, running executions,
                                              7-day success rate per job
``GET /api/jobs``, ``GET /api/jobs/<id>``     jobs with trigger in words, next run, last run
``POST /api/jobs/<id>/run|pause|resume``      ``Authorization: Bearer $SCHEDULER_API_TOKEN``;
                                              401, 404 unknown job, 409 busy or disabled;
                                              run answers 202 ``{"execution_id": N}``
``GET /api/executions?job=&status=&limit=``   history rows, newest first (limit 1..500)
``GET /api/executions/<id>``                  one row with its output tail
``GET /``, ``GET /static/<path>``             the dashboard (``scheduler/web/``)
============================================  ===============================================

Write endpoints refuse every request while ``SCHEDULER_API_TOKEN`` is unset. No answer carries
a secret: the database URL is shown with its password masked, the token never.

Health, in order: ``unhealthy`` when the scheduler's loop thread is dead (checked on the thread,
so a crashed loop is noticed while the process lives) or its heartbeat is older than
:data:`HEARTBEAT_STALE_SECONDS` (the loop passes at least once a minute); ``degraded`` when
``SELECT 1`` fails or takes longer than :data:`DB_CHECK_TIMEOUT` (the daemon stays up and
recovers by itself when the database is back) or a dashboard panel contributed by a job package
raises; else ``healthy``. Both answer 503. Stale fund data is reported (``panels``) but does not
change the status: the panels' own ``status`` fields say ``stale``.

Metrics: ``fund_scheduler_runs_total{job,status}`` and
``fund_scheduler_run_duration_seconds{job}`` count the executions that finished (or were recorded
missed/skipped) since this daemon process started: in memory, reset by a restart, as Prometheus
counters are. Everything else is read at scrape time from the scheduler and the history table.
"""

from __future__ import annotations

import errno
import functools
import hmac
import logging
import os
import threading
import time
import tomllib
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from fund_scheduler.errors import ConfigError, SchedulerError, UnknownJobError
from fund_scheduler.jobs.triggers import describe
from fund_scheduler.settings import PROJECT_DIR
from fund_scheduler.store import history

if TYPE_CHECKING:
    from fund_scheduler.daemon.daemon import Daemon

logger = logging.getLogger("scheduler.http")

WEB_DIR = Path(__file__).resolve().parent / "web"
HEARTBEAT_STALE_SECONDS = 120.0
DB_CHECK_TIMEOUT = 3.0
PANEL_CACHE_SECONDS = 5.0
EXECUTIONS_LIMIT_DEFAULT = 20
EXECUTIONS_LIMIT_MAX = 500
SUCCESS_RATE_DAYS = 7
HTTP_THREADS = 4
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, float("inf"))
RAN_STATUSES = ("success", "failed", "timeout", "interrupted")


@functools.cache
def version() -> str:
    """The installed distribution's version, else the one in the project's pyproject.toml."""
    try:
        return metadata.version("fund-scheduler")
    except metadata.PackageNotFoundError:
        pass
    try:
        with open(PROJECT_DIR / "pyproject.toml", "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    return value


class _JSONProvider(DefaultJSONProvider):
    """Flask's JSON with ISO 8601 times (Flask's default is the HTTP date format)."""

    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime | date):
            return _iso(o) if isinstance(o, datetime) else o.isoformat()
        return DefaultJSONProvider.default(o)


# -- observations fed by the runner --------------------------------------------------------------
class RunMetrics:
    """Counters and the duration histogram of this daemon process, fed with final history rows."""

    def __init__(self, registry: CollectorRegistry):
        self.runs = Counter(
            "fund_scheduler_runs",
            "Executions finished (or recorded missed/skipped) since the daemon started, by job and status",
            ["job", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "fund_scheduler_run_duration_seconds",
            "Duration of executions that ran (success, failed, timeout, interrupted)",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )

    def prime(self, job_ids: Iterable[str]) -> None:
        """Export zero series for each job's success and failure, so rates exist from the start."""
        for job_id in job_ids:
            for status in ("success", "failed"):
                self.runs.labels(job_id, status)

    def observe(self, row: dict[str, Any]) -> None:
        job_id, status = row.get("job_id"), row.get("status")
        if not job_id or not status or status == "running":
            return
        self.runs.labels(job_id, status).inc()
        if status in RAN_STATUSES and row.get("duration") is not None:
            self.duration.labels(job_id).observe(float(row["duration"]))


# -- the read model shared by /health, /metrics and /api ------------------------------------------
class DaemonView:
    """What the HTTP endpoints read from a running :class:`~fund_scheduler.daemon.daemon.Daemon`."""

    def __init__(self, daemon: Daemon):
        self.daemon = daemon
        self._db_lock = threading.Lock()
        self._db_check: Future | None = None
        self._panel_lock = threading.Lock()
        self._panels: tuple[float, list[dict[str, Any]]] | None = None

    @property
    def engine(self):
        return self.daemon.engine

    # scheduler ----------------------------------------------------------------------------------
    def scheduler_state(self) -> tuple[bool, float | None]:
        """(loop thread alive, seconds since its last pass)."""
        scheduler = self.daemon.scheduler
        if scheduler is None:
            return False, None
        alive = bool(getattr(scheduler, "loop_alive", scheduler.running))
        age_of = getattr(scheduler, "heartbeat_age", None)
        return alive, age_of() if age_of else None

    def database(self) -> dict[str, Any]:
        """``SELECT 1`` off the request thread, waited for at most :data:`DB_CHECK_TIMEOUT`.

        A check that hangs (a blackholed MySQL host) is not started twice: later calls wait on
        the same one.
        """
        with self._db_lock:
            if self._db_check is None or self._db_check.done():
                future: Future = Future()
                threading.Thread(
                    target=self._select_one, args=(future,), name="db-check", daemon=True
                ).start()
                self._db_check = future
            future = self._db_check
        try:
            latency = future.result(timeout=DB_CHECK_TIMEOUT)
        except FutureTimeout:
            return {"ok": False, "status": "unreachable", "error": f"no answer in {DB_CHECK_TIMEOUT:g}s"}
        except Exception as exc:  # noqa: BLE001 - any driver error means unreachable
            return {"ok": False, "status": "unreachable", "error": _one_line(exc)}
        return {
            "ok": True,
            "status": "ok",
            "latency_ms": round(latency * 1000, 1),
        }

    def _select_one(self, future: Future) -> None:
        started = time.monotonic()
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1")).scalar()
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
            future.set_exception(exc)
        else:
            future.set_result(time.monotonic() - started)

    # jobs ---------------------------------------------------------------------------------------
    def jobs(self, last: dict[str, dict] | None = None) -> list[dict[str, Any]]:
        """Every job of the registry and the scheduler, sorted by id, with its last execution."""
        daemon = self.daemon
        tz = daemon.settings.timezone
        live = {job.id: job for job in daemon.scheduler.get_jobs()}
        last = history.last_per_job(self.engine) if last is None else last
        out = {}
        for spec in daemon.registry.specs.values():
            out[spec.id] = {
                "id": spec.id,
                "name": spec.name,
                "trigger": describe(spec.trigger(tz)),
                "timezone": str(spec.zone(tz)),
                "next_run_time": None,
                "paused": False,
                "enabled": spec.enabled,
                "disabled_reason": spec.disabled_reason,
                "max_instances": spec.max_instances,
                "timeout": spec.timeout,
            }
        for job_id, job in live.items():
            entry = out.setdefault(
                job_id,
                {"id": job_id, "enabled": True, "disabled_reason": None, "max_instances": job.max_instances},
            )
            entry.update(
                name=job.name,
                trigger=describe(job.trigger),
                timezone=str(getattr(job.trigger, "timezone", tz)),
                next_run_time=job.next_run_time,
                paused=job.next_run_time is None,
                enabled=True,
            )
        for job_id, entry in out.items():
            entry["last_execution"] = _summary(last.get(job_id))
        return [out[k] for k in sorted(out)]

    def job(self, job_id: str) -> dict[str, Any] | None:
        for entry in self.jobs():
            if entry["id"] == job_id:
                return entry
        return None

    # panels -------------------------------------------------------------------------------------
    def panels(self) -> list[dict[str, Any]]:
        """The dashboard panels contributed by job packages (cached briefly); one failing panel is
        reported with its error, never raised."""
        with self._panel_lock:
            now = time.monotonic()
            if self._panels is not None and now - self._panels[0] < PANEL_CACHE_SECONDS:
                return self._panels[1]
            out = []
            for panel in self.daemon.registry.panels:
                name = f"{panel.__module__}.{panel.__name__}"
                try:
                    result = panel(self.engine, self.daemon.settings.environ)
                    out.append(
                        {
                            "name": name,
                            "title": result.get("title", name),
                            "ok": True,
                            "data": result.get("data"),
                        }
                    )
                except Exception as exc:  # noqa: BLE001 - one broken panel only degrades the health
                    logger.warning("dashboard panel %s failed: %s", name, _one_line(exc))
                    out.append(
                        {"name": name, "title": name, "ok": False, "error": _one_line(exc), "data": None}
                    )
            self._panels = (now, out)
            return out

    # composed answers ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        alive, age = self.scheduler_state()
        database = self.database()
        report: dict[str, Any] = {
            "status": "healthy",
            "scheduler_running": alive,
            "role": getattr(self.daemon, "role", "active"),
            "heartbeat_age_seconds": None if age is None else round(age, 3),
            "database": database,
            "jobs": 0,
            "last_success": {},
            "panels": [],
            "problems": [],
        }
        if database["ok"]:
            try:
                report["jobs"] = len(self.daemon.scheduler.get_jobs()) if self.daemon.scheduler else 0
                report["last_success"] = {
                    job_id: None for job_id in sorted(self.daemon.registry.specs)
                } | history.last_success_per_job(self.engine)
                report["panels"] = self.panels()
            except Exception as exc:  # noqa: BLE001 - the database went away between the checks
                report["problems"].append(f"history unavailable: {_one_line(exc)}")
        report["status"], report["problems"] = assess(
            scheduler_alive=alive,
            heartbeat_age=age,
            database_ok=database["ok"],
            failed_panels=[p["name"] for p in report["panels"] if not p["ok"]],
            problems=report["problems"],
        )
        return report

    def status(self) -> dict[str, Any]:
        daemon = self.daemon
        alive, age = self.scheduler_state()
        since = datetime.now(UTC) - timedelta(days=SUCCESS_RATE_DAYS)
        rates = {}
        for job_id, counts in sorted(history.counts_since(self.engine, since).items()):
            finished = sum(n for s, n in counts.items() if s != "running")
            success = counts.get("success", 0)
            rates[job_id] = {
                "runs": finished,
                "success": success,
                "rate": round(success / finished, 4) if finished else None,
                "by_status": counts,
            }
        started = daemon.started_at
        return {
            "pid": os.getpid(),
            "version": version(),
            "started_at": started,
            "uptime": (daemon.clock() - started).total_seconds() if started else 0.0,
            "scheduler_running": alive,
            "role": getattr(daemon, "role", "active"),
            "heartbeat_age_seconds": None if age is None else round(age, 3),
            "running_executions": daemon.runner.active_count if daemon.runner else 0,
            "jobs": len(daemon.scheduler.get_jobs()) if daemon.scheduler else 0,
            "timezone": str(daemon.settings.timezone),
            "database": daemon.settings.masked_database_url,
            "writes_enabled": bool(daemon.settings.api_token),
            "success_7d": rates,
        }


def assess(
    *,
    scheduler_alive: bool,
    heartbeat_age: float | None,
    database_ok: bool,
    failed_panels: Iterable[str] = (),
    problems: Iterable[str] = (),
    stale_after: float = HEARTBEAT_STALE_SECONDS,
) -> tuple[str, list[str]]:
    """The health status and the reasons for it (a pure function of the checks' results)."""
    unhealthy, degraded = [], list(problems)
    if not scheduler_alive:
        unhealthy.append("the scheduler loop is not running")
    elif heartbeat_age is not None and heartbeat_age > stale_after:
        unhealthy.append(
            f"the scheduler loop has not passed for {heartbeat_age:.0f}s (limit {stale_after:g}s)"
        )
    if not database_ok:
        degraded.append("the database is unreachable")
    degraded += [f"dashboard panel {name} failed" for name in failed_panels]
    if unhealthy:
        return "unhealthy", unhealthy + degraded
    return ("degraded" if degraded else "healthy"), degraded


def _one_line(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text_[0] if text_ else ''}".rstrip(": ")


def _summary(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: v for k, v in row.items() if k != "output_tail"}


# -- metrics ---------------------------------------------------------------------------------------
class DaemonCollector:
    """Gauges read at scrape time: daemon up, scheduler loop, jobs, last success, next run, panel data."""

    def __init__(self, view: DaemonView):
        self.view = view

    def describe(self):  # no description at registration: collect() needs a started daemon
        return []

    def collect(self):
        view = self.view
        up = GaugeMetricFamily("fund_scheduler_up", "1 while the daemon process answers")
        up.add_metric([], 1)
        yield up
        alive, age = view.scheduler_state()
        g = GaugeMetricFamily("fund_scheduler_scheduler_running", "1 while the scheduler loop thread runs")
        g.add_metric([], 1 if alive else 0)
        yield g
        g = GaugeMetricFamily(
            "fund_scheduler_active", "1 while this daemon is active (holds the leader lock), 0 on standby"
        )
        g.add_metric([], 1 if getattr(view.daemon, "role", "active") == "active" else 0)
        yield g
        if age is not None:
            g = GaugeMetricFamily(
                "fund_scheduler_heartbeat_age_seconds", "Seconds since the scheduler loop's last pass"
            )
            g.add_metric([], age)
            yield g
        runner = view.daemon.runner
        g = GaugeMetricFamily("fund_scheduler_running_executions", "Executions running now")
        g.add_metric([], runner.active_count if runner else 0)
        yield g

        next_run = GaugeMetricFamily(
            "fund_scheduler_next_run_timestamp_seconds",
            "Next scheduled run per job (Unix time)",
            labels=["job"],
        )
        paused = GaugeMetricFamily("fund_scheduler_job_paused", "1 when the job is paused", labels=["job"])
        database_ok = view.database()["ok"]
        g = GaugeMetricFamily("fund_scheduler_database_up", "1 when SELECT 1 answers")
        g.add_metric([], 1 if database_ok else 0)
        yield g
        if not database_ok:
            return  # the job store and the history live in the database
        for job in view.daemon.scheduler.get_jobs() if view.daemon.scheduler else []:
            paused.add_metric([job.id], 0 if job.next_run_time else 1)
            if job.next_run_time is not None:
                next_run.add_metric([job.id], job.next_run_time.timestamp())
        yield next_run
        yield paused
        last = GaugeMetricFamily(
            "fund_scheduler_last_success_timestamp_seconds",
            "When each job's newest successful run finished (Unix time)",
            labels=["job"],
        )
        for job_id, when in sorted(history.last_success_per_job(view.engine).items()):
            last.add_metric([job_id], when.timestamp())
        yield last
        yield from _panel_metrics(view.panels())


def _panel_metrics(panels: list[dict[str, Any]]):
    """Explicit gauges from the panel data a job package provides (fund_monitor's ``freshness``)."""
    freshness = GaugeMetricFamily(
        "fund_data_freshness_days",
        "Calendar days the newest row of each table is behind today",
        labels=["table"],
    )
    business = GaugeMetricFamily(
        "fund_data_freshness_business_days",
        "Business days the newest row of each table is behind",
        labels=["table"],
    )
    quarantined = staging = None
    for panel in panels:
        fresh = (panel.get("data") or {}).get("freshness") if isinstance(panel.get("data"), dict) else None
        if not isinstance(fresh, dict):
            continue
        for table, info in sorted(fresh.items()):
            if not isinstance(info, dict):
                continue
            if info.get("days_behind") is not None:
                freshness.add_metric([table], float(info["days_behind"]))
            if info.get("business_days_behind") is not None:
                business.add_metric([table], float(info["business_days_behind"]))
            if table == "fund_nav_quarantine" and info.get("rows") is not None:
                quarantined = GaugeMetricFamily(
                    "fund_quarantined_rows_7d",
                    f"Rows quarantined by the validation rules in the last {info.get('days', 7)} days",
                )
                quarantined.add_metric([], float(info["rows"]))
            if table == "fund_nav_staging" and info.get("unprocessed") is not None:
                staging = GaugeMetricFamily(
                    "fund_staging_unprocessed_rows", "Staged rows waiting for validation"
                )
                staging.add_metric([], float(info["unprocessed"]))
    yield freshness
    yield business
    for family in (quarantined, staging):
        if family is not None:
            yield family


# -- the app -------------------------------------------------------------------------------------
def create_app(daemon: Daemon) -> Flask:
    """The WSGI app answering for ``daemon`` (whose scheduler must be started before a request)."""
    app = Flask(__name__, static_folder=None)
    app.json = _JSONProvider(app)
    view = DaemonView(daemon)
    registry = CollectorRegistry(auto_describe=False)
    run_metrics = RunMetrics(registry)
    registry.register(DaemonCollector(view))
    app.extensions["fund_scheduler"] = {"view": view, "metrics": run_metrics, "registry": registry}

    def error(status: int, message: str, **extra: Any):
        response = jsonify({"error": message, **extra})
        response.status_code = status
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        logger.warning(
            "http %s %s: database unavailable: %s", request.method, request.path, _one_line(exc.orig)
        )
        return error(503, f"database unavailable: {_one_line(exc.orig)}")

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        logger.exception("http %s %s failed", request.method, request.path)
        return error(500, f"internal error: {_one_line(exc)}")

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def authorised() -> Response | None:
        token = daemon.settings.api_token
        if not token:
            return error(
                401, "writes are disabled until SCHEDULER_API_TOKEN is set in the daemon's environment"
            )
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            response = error(401, "missing or wrong token (send Authorization: Bearer <SCHEDULER_API_TOKEN>)")
            response.headers["WWW-Authenticate"] = 'Bearer realm="fund-scheduler"'
            return response
        return None

    @app.get("/health")
    def health():
        report = view.health()
        response = jsonify(report)
        response.status_code = 200 if report["status"] == "healthy" else 503
        return response

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/api/status")
    def status():
        return jsonify(view.status())

    @app.get("/api/jobs")
    def jobs():
        return jsonify({"jobs": view.jobs()})

    @app.get("/api/jobs/<job_id>")
    def job(job_id: str):
        entry = view.job(job_id)
        return jsonify(entry) if entry else error(404, f"unknown job {job_id!r}")

    def job_action(job_id: str, action: Callable[[], Response]):
        denied = authorised()
        if denied is not None:
            return denied
        try:
            daemon.registry.get(job_id)
            return action()
        except UnknownJobError as exc:
            return error(404, str(exc))
        except SchedulerError as exc:  # disabled, already running (max_instances), stopping
            return error(409, str(exc))

    @app.post("/api/jobs/<job_id>/run")
    def run(job_id: str):
        def act():
            execution_id, _done = daemon.run_now(job_id)
            logger.info(
                "job=%s execution=%s run requested over HTTP by %s", job_id, execution_id, request.remote_addr
            )
            response = jsonify({"job": job_id, "execution_id": execution_id, "status": "running"})
            response.status_code = 202
            response.headers["Location"] = f"/api/executions/{execution_id}"
            return response

        return job_action(job_id, act)

    def pause_resume(job_id: str, paused: bool):
        def act():
            job = daemon.set_paused(job_id, paused)
            return jsonify(
                {"job": job_id, "paused": job.next_run_time is None, "next_run_time": job.next_run_time}
            )

        return job_action(job_id, act)

    @app.post("/api/jobs/<job_id>/pause")
    def pause(job_id: str):
        return pause_resume(job_id, True)

    @app.post("/api/jobs/<job_id>/resume")
    def resume(job_id: str):
        return pause_resume(job_id, False)

    @app.get("/api/executions")
    def executions():
        args = request.args
        raw_limit = args.get("limit", "").strip()
        try:
            limit = int(raw_limit) if raw_limit else EXECUTIONS_LIMIT_DEFAULT
        except ValueError:
            limit = 0
        if not 1 <= limit <= EXECUTIONS_LIMIT_MAX:
            return error(400, f"limit={raw_limit!r} must be a whole number from 1 to {EXECUTIONS_LIMIT_MAX}")
        status_ = args.get("status", "").strip() or None
        if status_ is not None and status_ not in history.STATUSES:
            return error(400, f"status={status_!r} is not one of {', '.join(history.STATUSES)}")
        job_id = args.get("job", "").strip() or None
        rows = history.recent(daemon.engine, job_id=job_id, status=status_, limit=limit)
        return jsonify({"executions": [_summary(r) for r in rows], "limit": limit})

    @app.get("/api/executions/<int:execution_id>")
    def execution(execution_id: int):
        row = history.get(daemon.engine, execution_id)
        return jsonify(row) if row else error(404, f"no execution {execution_id}")

    @app.get("/")
    def index():
        if not (WEB_DIR / "index.html").is_file():
            return error(404, "the dashboard is not installed (scheduler/web/index.html is missing)")
        return send_from_directory(WEB_DIR, "index.html", max_age=0)

    @app.get("/static/<path:path>")
    def static_file(path: str):
        return send_from_directory(WEB_DIR, path, max_age=0)

    return app


# -- the server ----------------------------------------------------------------------------------
class HttpServer:
    """waitress serving :func:`create_app` in a daemon thread.

    The socket is bound in the constructor, so a port in use raises :class:`ConfigError` before
    the scheduler starts; :meth:`start` begins answering, :meth:`close` stops it (from any thread).
    """

    def __init__(self, daemon: Daemon, host: str, port: int):
        from waitress import create_server

        self.app = create_app(daemon)
        self._map: dict = {}
        try:
            self.server = create_server(
                self.app,
                host=host,
                port=port,
                threads=HTTP_THREADS,
                map=self._map,
                ident="fund-scheduler",
                clear_untrusted_proxy_headers=True,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"SCHEDULER_HTTP_PORT={port}: {host}:{port} is already in use") from None
            raise ConfigError(
                f"SCHEDULER_HTTP_HOST={host!r} SCHEDULER_HTTP_PORT={port}: cannot listen on {host}:{port}: "
                f"{exc.strerror or exc}"
            ) from None
        except ValueError as exc:  # waitress refuses an unresolvable host
            raise ConfigError(f"SCHEDULER_HTTP_HOST={host!r}: {exc}") from None
        self.host, self.port = host, port
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)
        self._metrics: RunMetrics = self.app.extensions["fund_scheduler"]["metrics"]
        self._daemon = daemon

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Hook the run metrics to the daemon's runner and start answering."""
        daemon = self._daemon
        if daemon.runner is not None:
            daemon.runner.on_finished.append(self._metrics.observe)
        self._metrics.prime(job.id for job in daemon.scheduler.get_jobs())
        self._thread.start()

    def _serve(self) -> None:
        try:
            self.server.run()
        except Exception:  # noqa: BLE001 - logged; /health cannot answer it, the log must
            logger.exception("http server stopped unexpectedly")

    def close(self, timeout: float = 5.0) -> None:
        """Close every socket from the server's own loop, wait for it, stop the worker threads."""
        from waitress import wasyncore
        from waitress.trigger import trigger

        if self._thread.is_alive():
            pullers = [d for d in list(self._map.values()) if isinstance(d, trigger)]
            if pullers:
                pullers[0].pull_trigger(lambda: wasyncore.close_all(self._map))
            self._thread.join(timeout)
        else:
            wasyncore.close_all(self._map)
        self.server.task_dispatcher.shutdown(timeout=timeout)
