"""The command line: ``python scheduler_daemon.py COMMAND`` (the shell scripts are thin wrappers).

Exit statuses: 0 success; 1 failure (a job failed, the daemon did not become ready); 2 invalid
configuration or unknown job; 3 daemon not running (``pause``/``resume``; ``status`` follows LSB:
0 running, 1 dead with a PID file left, 3 not running).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fund_scheduler.errors import ConfigError, DaemonNotRunning, SchedulerError
from fund_scheduler.settings import PROJECT_DIR, Settings, load_dotenv_files

EXIT_ALREADY_RUNNING = 75  # from `run` when another daemon holds the lock (start maps it to 0)
READY_TIMEOUT = 15.0
logger = logging.getLogger("scheduler.cli")


# -- helpers ------------------------------------------------------------------------------------
def _registry(settings: Settings, strict: bool = True):
    from fund_scheduler.jobs.registry import load_registry

    registry = load_registry(
        settings.jobs_packages, settings.jobs_config, settings.timezone, settings.environ
    )
    if strict and registry.problems:
        raise ConfigError("\n".join(registry.problems))
    return registry


def _engine(settings: Settings):
    from fund_scheduler.store import history
    from fund_scheduler.store.jobstore import make_engine

    engine = make_engine(settings.database_url)
    history.ensure_schema(engine)
    return engine


DEFAULT_MIGRATIONS = "fund_scheduler_migrations.runner:upgrade"
#: Earlier names of the default runner, still accepted in SCHEDULER_MIGRATIONS.
LEGACY_MIGRATIONS = {"migrations.runner:upgrade": DEFAULT_MIGRATIONS}


def _migrations(settings: Settings, name: str = "upgrade"):
    """The schema migration runner's ``name`` function (``upgrade``/``current``), or None.

    ``SCHEDULER_MIGRATIONS`` names the runner's upgrade function as ``module:function``
    (default ``fund_scheduler_migrations.runner:upgrade``, the project's Alembic environment; ``none`` turns
    migrations off: the daemon then only creates missing tables). ``current`` is looked up
    beside it in the same module.
    """
    import importlib

    ref = settings.environ.get("SCHEDULER_MIGRATIONS", "").strip() or DEFAULT_MIGRATIONS
    ref = LEGACY_MIGRATIONS.get(ref, ref)
    if ref.lower() == "none":
        return None
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr if name == "upgrade" else name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"SCHEDULER_MIGRATIONS={ref!r}: cannot load {name!r} ({exc})") from None


def _fmt_time(value: datetime | str | None, tz=None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if tz is not None:
        value = value.astimezone(tz)
    return value.strftime("%Y-%m-%d %H:%M:%S %Z")


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=False))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _stored_jobs(settings: Settings, engine) -> dict[str, Any]:
    from fund_scheduler.store.jobstore import JsonJobStore

    store = JsonJobStore(engine)
    store.create_tables()
    return {job.id: job for job in store.get_all_jobs()}


def _job_rows(settings: Settings, registry, engine, live: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each job of the specs and of the running daemon, with its state and last result.

    The running daemon's view wins (it may have loaded an older jobs.toml); without a daemon the
    job store gives next run and paused state.
    """
    from fund_scheduler.jobs.triggers import describe
    from fund_scheduler.store import history

    stored = _stored_jobs(settings, engine) if live is None else {}
    last = history.last_per_job(engine)
    rows = {}
    for spec in registry.specs.values():
        rows[spec.id] = {
            "id": spec.id,
            "name": spec.name,
            "trigger": describe(spec.trigger(settings.timezone)),
            "timezone": str(spec.zone(settings.timezone)),
            "enabled": spec.enabled,
            "disabled_reason": spec.disabled_reason,
            "next_run_time": stored[spec.id].next_run_time if spec.id in stored else None,
            "paused": spec.id in stored and stored[spec.id].next_run_time is None,
            "target": spec.target,
        }
    for job_id, job in (live or {}).items():
        entry = rows.setdefault(job_id, {"id": job_id, "disabled_reason": None, "target": None})
        entry.update(
            {key: job[key] for key in ("name", "trigger", "timezone", "next_run_time", "paused")},
            enabled=True,
        )
    for job_id, entry in rows.items():
        last_row = last.get(job_id) or {}
        entry["last_status"] = last_row.get("status")
        entry["last_started_at"] = last_row.get("started_at")
        entry["last_error"] = last_row.get("error")
    return sorted(rows.values(), key=lambda e: e["id"])


def _state_word(entry: dict[str, Any]) -> str:
    if not entry["enabled"]:
        return "disabled"
    return "paused" if entry["paused"] else "active"


# -- commands -----------------------------------------------------------------------------------
def cmd_run(args, settings: Settings) -> int:
    from fund_scheduler import logsetup
    from fund_scheduler.daemon.daemon import Daemon
    from fund_scheduler.daemon.pidfile import AlreadyRunning

    registry = _registry(settings)
    logsetup.configure(settings, console=not args.background)

    def on_ready() -> None:
        if args.ready_fd is not None:
            os.write(args.ready_fd, b"ready\n")
            os.close(args.ready_fd)

    try:
        daemon = Daemon(
            settings,
            registry,
            load_registry=lambda: _registry(settings, strict=False),
            migrate=_migrations(settings, "upgrade"),
        )
        return daemon.run(on_ready=on_ready)
    except AlreadyRunning as exc:
        print(f"scheduler {exc}; not starting another", file=sys.stderr)
        return EXIT_ALREADY_RUNNING


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} cannot be read)"


def _new_error_lines(path: Path, offset: int) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.startswith("error: ")]


def cmd_start(args, settings: Settings) -> int:
    from fund_scheduler.daemon.pidfile import RUNNING, probe

    state = probe(settings.pid_file)
    if state.state == RUNNING:
        print(f"scheduler already running (PID {state.pid}); nothing started")
        return 0
    _registry(settings)  # refuse to start on a bad job configuration (exit 2)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    out_path = settings.log_dir / "daemon.out"
    read_fd, write_fd = os.pipe()
    out_offset = out_path.stat().st_size if out_path.exists() else 0
    with open(out_path, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(PROJECT_DIR / "scheduler_daemon.py"),
                "run",
                "--background",
                "--ready-fd",
                str(write_fd),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            pass_fds=(write_fd,),
            start_new_session=True,
            cwd=str(PROJECT_DIR),
        )
    os.close(write_fd)
    deadline = time.monotonic() + READY_TIMEOUT
    data = b""
    with os.fdopen(read_fd, "rb", buffering=0) as ready:
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([ready], [], [], remaining)[0]:
                break
            chunk = ready.read(64)
            if not chunk:
                break
            data += chunk
    if data.startswith(b"ready"):
        print(f"scheduler started: PID {proc.pid}")
        print(f"log: {settings.scheduler_log}")
        return _print_next_runs(settings)
    try:
        code = proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        code = None
    if code == EXIT_ALREADY_RUNNING:
        state = probe(settings.pid_file)
        print(f"scheduler already running (PID {state.pid}); nothing started")
        return 0
    if code is None:
        proc.terminate()
        print(
            f"error: the scheduler did not become ready within {READY_TIMEOUT:.0f}s; stopped it",
            file=sys.stderr,
        )
    else:
        print(f"error: the scheduler exited with status {code} before it was ready", file=sys.stderr)
        for line in _new_error_lines(out_path, out_offset):
            print(line, file=sys.stderr)  # the daemon's own one-line reason (a port in use, say)
    print(f"--- last lines of {settings.scheduler_log} ---\n{_tail(settings.scheduler_log)}", file=sys.stderr)
    print(f"--- last lines of {out_path} ---\n{_tail(out_path)}", file=sys.stderr)
    return 1


def _print_next_runs(settings: Settings) -> int:
    from fund_scheduler.api.control import request

    reply = request(settings.control_socket, {"cmd": "status"})
    for job in reply["jobs"]:
        when = "paused" if job["paused"] else _fmt_time(job["next_run_time"], _zone(job))
        print(f"  {job['id']:<28} next run {when}")
    return 0


def cmd_stop(args, settings: Settings) -> int:
    from fund_scheduler.api.control import request
    from fund_scheduler.daemon.pidfile import RUNNING, STALE, PidFile, probe

    state = probe(settings.pid_file)
    if state.state == STALE:
        lock = PidFile(settings.pid_file)
        from fund_scheduler.daemon.pidfile import AlreadyRunning

        try:
            lock.acquire()
            lock.release()
        except AlreadyRunning:
            print("a daemon started meanwhile; its PID file was left alone")
            return 0
        print(f"scheduler not running (removed a stale PID file naming PID {state.pid})")
        return 0
    if state.state != RUNNING or state.pid is None:
        print("scheduler not running")
        return 0
    try:
        request(settings.control_socket, {"cmd": "set-stop-timeout", "timeout": args.timeout}, timeout=5)
    except (SchedulerError, OSError) as exc:
        print(
            f"warning: could not pass the stop timeout to the daemon ({exc}); using its default",
            file=sys.stderr,
        )
    os.kill(state.pid, signal.SIGTERM)
    print(f"stopping scheduler (PID {state.pid}); waiting up to {args.timeout:g}s for running jobs")
    deadline = time.monotonic() + args.timeout + 20
    while probe(settings.pid_file).state == RUNNING:
        if time.monotonic() > deadline:
            print(f"error: PID {state.pid} still holds the PID file; it did not stop", file=sys.stderr)
            return 1
        time.sleep(0.1)
    _wait_exit(state.pid, max(deadline - time.monotonic(), 5.0))
    print("scheduler stopped")
    return 0


def _wait_exit(pid: int, timeout: float) -> None:
    """Wait for ``pid`` to be gone after it released the lock (interpreter teardown)."""
    from fund_scheduler.run.runner import process_alive

    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _process_info(pid: int) -> dict[str, Any]:
    try:
        import psutil

        proc = psutil.Process(pid)
        return {"rss_bytes": proc.memory_info().rss, "uptime": time.time() - proc.create_time()}
    except Exception:  # noqa: BLE001 - best effort; status must answer anyway
        return {}


def cmd_status(args, settings: Settings) -> int:
    from fund_scheduler.api.control import request
    from fund_scheduler.daemon.pidfile import NOT_RUNNING, RUNNING, probe
    from fund_scheduler.store import history

    state = probe(settings.pid_file)
    report: dict[str, Any] = {
        "state": state.state,
        "pid": state.pid,
        "database": settings.masked_database_url,
    }
    live = None
    if state.state == RUNNING:
        report.update(_process_info(state.pid))
        try:
            reply = request(settings.control_socket, {"cmd": "status"}, timeout=5)
            live = {j["id"]: j for j in reply["jobs"]}
            report["uptime"] = reply["uptime"]
            report["running_executions"] = reply["running_executions"]
            report["role"] = reply.get("role", "active")
        except (SchedulerError, OSError) as exc:
            report["control_error"] = str(exc)
    try:
        registry = _registry(settings, strict=False)
        report["config_problems"] = registry.problems
        engine = _engine(settings)
        report["jobs"] = _job_rows(settings, registry, engine, live)
        since = datetime.now(UTC) - timedelta(hours=24)
        report["failures_24h"] = history.failures_since(engine, since)
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - report the database problem, keep the exit status
        report["database_error"] = f"{type(exc).__name__}: {exc}"
    code = {RUNNING: 0, NOT_RUNNING: 3}.get(state.state, 1)
    if args.json:
        print(json.dumps(report, default=_json_default, indent=2))
        return code
    words = {RUNNING: "running", NOT_RUNNING: "not running"}
    line = f"scheduler: {words.get(state.state, 'dead (stale PID file)')}"
    if state.pid:
        line += f", PID {state.pid}"
    if "uptime" in report and state.state == RUNNING:
        line += f", up {timedelta(seconds=int(report['uptime']))}"
    if "role" in report:
        line += f", {report['role']}"
    if "rss_bytes" in report:
        line += f", memory {report['rss_bytes'] / 2**20:.1f} MiB"
    print(line)
    print(f"database: {report['database']}")
    for key in ("control_error", "database_error"):
        if key in report:
            print(f"warning: {report[key]}")
    for problem in report.get("config_problems") or []:
        print(f"warning: configuration problem: {problem}")
    if report.get("jobs"):
        rows = [
            [
                j["id"],
                j["trigger"],
                _state_word(j),
                _fmt_time(j["next_run_time"], _zone(j)) if j["enabled"] else "-",
                j["last_status"] or "-",
                _fmt_time(j["last_started_at"], _zone(j)),
            ]
            for j in report["jobs"]
        ]
        print(_table(rows, ["JOB", "TRIGGER", "STATE", "NEXT RUN", "LAST", "LAST STARTED"]))
    for j in report.get("jobs") or []:
        if not j["enabled"]:
            print(f"note: {j['id']} is disabled: {j['disabled_reason'] or 'enabled = false in jobs.toml'}")
    failures = report.get("failures_24h") or []
    print(f"failures in the last 24 h: {len(failures)}")
    for row in failures[:10]:
        print(
            f"  #{row['id']} {row['job_id']} {row['status']} at {_fmt_time(row['started_at'])}: "
            f"{(row['error'] or '').splitlines()[0] if row['error'] else ''}"
        )
    return code


def _zone(entry: dict[str, Any]):
    from zoneinfo import ZoneInfo

    return ZoneInfo(entry["timezone"])


def _live_jobs(settings: Settings) -> dict[str, Any] | None:
    from fund_scheduler.api.control import request
    from fund_scheduler.daemon.pidfile import RUNNING, probe

    if probe(settings.pid_file).state != RUNNING:
        return None
    try:
        return {j["id"]: j for j in request(settings.control_socket, {"cmd": "status"})["jobs"]}
    except (SchedulerError, OSError):
        return None


def cmd_jobs(args, settings: Settings) -> int:
    registry = _registry(settings, strict=False)
    engine = _engine(settings)
    rows = _job_rows(settings, registry, engine, _live_jobs(settings))
    if args.json:
        print(json.dumps(rows, default=_json_default, indent=2))
        return 0
    table = [
        [
            j["id"],
            j["name"],
            j["trigger"],
            j["timezone"],
            _fmt_time(j["next_run_time"], _zone(j)) if j["enabled"] else "-",
            _state_word(j),
        ]
        for j in rows
    ]
    print(_table(table, ["ID", "NAME", "TRIGGER", "TIMEZONE", "NEXT RUN", "STATE"]))
    for j in rows:
        if not j["enabled"]:
            print(f"note: {j['id']} is disabled: {j['disabled_reason'] or 'enabled = false in jobs.toml'}")
    return 0


def cmd_next(args, settings: Settings) -> int:
    from fund_scheduler.jobs.triggers import next_fire_times

    registry = _registry(settings, strict=False)
    specs = [registry.get(args.job)] if args.job else list(registry.specs.values())
    now = datetime.now(UTC)
    for spec in specs:
        tz = spec.zone(settings.timezone)
        note = "" if spec.enabled else f" (disabled: {spec.disabled_reason or 'enabled = false'})"
        print(f"{spec.id}{note}:")
        for fire in next_fire_times(spec.trigger(settings.timezone), now.astimezone(tz), args.count):
            print(f"  {fire.strftime('%Y-%m-%d %H:%M:%S %Z (%a)')}")
    return 0


def cmd_run_job(args, settings: Settings) -> int:
    from fund_scheduler.api.control import request
    from fund_scheduler.daemon.pidfile import RUNNING, probe
    from fund_scheduler.store import history

    registry = _registry(settings)
    spec = registry.get(args.job)
    if probe(settings.pid_file).state == RUNNING:
        reply = request(
            settings.control_socket,
            {"cmd": "run", "job": spec.id, "wait": args.wait},
            timeout=None if args.wait else 60,
        )
        print(f"job {spec.id}: execution {reply['execution_id']} {reply['status']} (through the daemon)")
        if reply.get("error"):
            print(f"error: {reply['error']}")
        return 0 if reply["status"] in ("success", "running") else 1
    if not spec.enabled:
        raise SchedulerError(f"job {spec.id!r} is disabled: {spec.disabled_reason or 'enabled = false'}")
    from fund_scheduler import logsetup
    from fund_scheduler.alerts.notifier import Notifier, channels_from
    from fund_scheduler.run.runner import Runner

    logsetup.configure(settings, console=True)
    engine = _engine(settings)
    runner = Runner(settings, registry, engine)
    # Alerts as the daemon would send them (only when a channel is configured: no log noise).
    notifier = Notifier.from_settings(settings, engine) if channels_from(settings) else None
    if notifier is not None:
        runner.on_finished.append(notifier.observe)
    try:
        result = runner.run(spec.id, trigger="manual")
    finally:
        if notifier is not None:
            notifier.close()  # sends what is queued, for at most a couple of seconds
    row = history.get(engine, result.execution_id)
    if row and row["output_tail"]:
        print(row["output_tail"].rstrip())
    print(
        f"job {spec.id}: execution {result.execution_id} {result.status} in {result.duration or 0:.1f}s "
        "(no daemon running: ran in this process)"
    )
    return 0 if result.status == "success" else 1


def cmd_pause_resume(args, settings: Settings) -> int:
    from fund_scheduler.api.control import request
    from fund_scheduler.daemon.pidfile import RUNNING, probe

    registry = _registry(settings)
    registry.get(args.job)
    if probe(settings.pid_file).state != RUNNING:
        raise DaemonNotRunning(f"the scheduler daemon is not running: start it to {args.command} {args.job}")
    reply = request(settings.control_socket, {"cmd": args.command, "job": args.job})
    when = _fmt_time(reply["next_run_time"]) if reply.get("next_run_time") else "-"
    print(f"job {args.job} {args.command}d" + (f"; next run {when}" if args.command == "resume" else ""))
    return 0


def cmd_history(args, settings: Settings) -> int:
    from fund_scheduler.store import history

    engine = _engine(settings)
    rows = history.recent(engine, job_id=args.job, status=args.status, limit=args.limit)
    if args.json:
        print(json.dumps(rows, default=_json_default, indent=2))
        return 0
    table = [
        [
            r["id"],
            r["job_id"],
            r["trigger"],
            r["status"],
            _fmt_time(r["started_at"]),
            f"{r['duration']:.1f}s" if r["duration"] is not None else "-",
            (r["error"] or "").splitlines()[0][:60] if r["error"] else "",
        ]
        for r in rows
    ]
    print(_table(table, ["ID", "JOB", "TRIGGER", "STATUS", "STARTED (UTC)", "DURATION", "ERROR"]))
    return 0


def cmd_dashboard(args, settings: Settings) -> int:
    """The operator's panel: daemon state plus the panels job packages contribute."""
    from fund_scheduler.daemon.pidfile import RUNNING, probe

    registry = _registry(settings, strict=False)
    engine = _engine(settings)
    state = probe(settings.pid_file)
    report: dict[str, Any] = {"daemon": {"state": state.state, "pid": state.pid}, "panels": []}
    for panel in registry.panels:
        try:
            report["panels"].append(panel(engine, settings.environ))
        except Exception as exc:  # noqa: BLE001 - one broken panel must not hide the others
            name = f"{panel.__module__}.{panel.__name__}"
            report["panels"].append({"title": name, "data": None, "text": f"unavailable: {exc}"})
    engine.dispose()
    if args.json:
        print(json.dumps(report, default=_json_default, indent=2))
        return 0
    running = state.state == RUNNING
    print(f"scheduler: {'running, PID ' + str(state.pid) if running else state.state}")
    for panel in report["panels"]:
        print(f"\n== {panel['title']} ==")
        print(panel["text"].rstrip())
    return 0


def cmd_check_config(args, settings: Settings) -> int:
    registry = _registry(settings, strict=False)
    print("settings:")
    for key, value in settings.describe().items():
        print(f"  {key} = {value}")
    print(
        f"jobs ({len(registry.specs)}), overrides from {settings.jobs_config}"
        f"{'' if settings.jobs_config.is_file() else ' (file absent: no overrides)'}:"
    )
    for spec in registry.specs.values():
        try:
            trigger = spec.trigger(settings.timezone)
            from fund_scheduler.jobs.triggers import describe

            when = describe(trigger)
        except (ValueError, ConfigError) as exc:
            when = f"invalid: {exc}"
        state = "enabled" if spec.enabled else f"disabled ({spec.disabled_reason or 'enabled = false'})"
        print(
            f"  {spec.id}: {when}; {state}; timeout {spec.timeout or 'none'}; runs {spec.target}"
            + (f"; overridden: {', '.join(spec.overridden)}" if spec.overridden else "")
        )
    if registry.problems:
        for problem in registry.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    print("configuration OK")
    return 0


def cmd_exec(args, settings: Settings) -> int:
    """Internal: run one Python job in this process (the daemon's child)."""
    from fund_scheduler.jobs.context import JobContext
    from fund_scheduler.run.runner import resolve

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"%(asctime)s %(levelname)-7s job={args.job} execution={args.execution_id} "
        "%(name)s: %(message)s",
    )
    registry = _registry(settings)
    spec = registry.get(args.job)
    if not spec.func:
        raise SchedulerError(f"job {spec.id!r} is a command job; the daemon runs it directly")
    scheduled = datetime.fromisoformat(args.scheduled) if args.scheduled else None
    ctx = JobContext(
        job_id=spec.id,
        execution_id=args.execution_id,
        scheduled_run_time=scheduled,
        trigger=args.trigger,
        settings=settings,
        timezone=spec.zone(settings.timezone),
        logger=logging.getLogger(f"jobs.{spec.id}"),
    )
    try:
        outcome = resolve(spec.func)(ctx)
    except Exception:  # noqa: BLE001 - the traceback goes to the job log; exit status says failed
        logging.getLogger(f"jobs.{spec.id}").exception("job %s failed", spec.id)
        return 1
    if outcome is not None:
        print(f"result: {json.dumps(outcome, default=_json_default)}")
    return 0


def cmd_install_service(args, settings: Settings) -> int:
    from fund_scheduler import install as service

    if sum((args.supervisor, args.cron)) > 1:
        raise ConfigError("install-service: give at most one of --supervisor and --cron")
    user, group = args.run_as, None
    if user is None:
        user, group = service.default_user()
    ctx = service.ServiceContext(
        project_dir=PROJECT_DIR,
        python=service.default_python(PROJECT_DIR),
        stop_timeout=settings.stop_timeout,
        user=user,
        group=group,
    )
    if args.cron:
        sys.stdout.write(service.render_cron(ctx))
        if not args.print:
            print("add this line with `crontab -e` as the user who runs the daemon", file=sys.stderr)
        return 0
    if args.supervisor:
        text = service.render_supervisor(ctx)
        target = args.output or service.supervisor_conf_path()
        next_steps = "supervisorctl reread && supervisorctl update"
    else:
        text = service.render_systemd(ctx, user_unit=args.user)
        target = args.output or service.systemd_unit_path(args.user)
        ctl = "systemctl --user" if args.user else "systemctl"
        next_steps = f"{ctl} daemon-reload && {ctl} enable --now {service.SERVICE_NAME}"
    if args.print:
        sys.stdout.write(text)
        return 0
    try:
        written = service.install_file(target, text, force=args.force)
    except PermissionError as exc:
        print(f"error: cannot write {target}: {exc.strerror} (run as root, or use --user)", file=sys.stderr)
        return 1
    print(f"{'wrote' if written else 'unchanged'}: {target}")
    print(f"next: {next_steps}")
    return 0


def cmd_db(args, settings: Settings) -> int:
    from fund_scheduler.store.jobstore import make_engine

    func = _migrations(settings, "upgrade" if args.action == "upgrade" else "current")
    if func is None:
        raise ConfigError("SCHEDULER_MIGRATIONS=none: schema migrations are turned off")
    engine = make_engine(settings.database_url)
    try:
        if args.action == "upgrade":
            revision = func(engine, args.revision)
            print(f"database {settings.masked_database_url} at revision {revision}")
        else:
            print(func(engine) or "none (no migration applied)")
    finally:
        engine.dispose()
    return 0


# -- parser -------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scheduler_daemon.py",
        description="fund-scheduler: a job-scheduler daemon running the fund-data pipeline.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the daemon in the foreground (systemd, supervisor)")
    p.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_run)

    sub.add_parser("start", help="start the daemon in the background").set_defaults(handler=cmd_start)

    p = sub.add_parser("stop", help="stop the daemon gracefully")
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for running jobs before terminating them (default 30)",
    )
    p.set_defaults(handler=cmd_stop)

    p = sub.add_parser("status", help="daemon state, jobs, last results (LSB exit status)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("jobs", help="list the registered jobs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_jobs)

    p = sub.add_parser("next", help="the next fire times of each job (or one)")
    p.add_argument("job", nargs="?")
    p.add_argument("--count", type=int, default=5)
    p.set_defaults(handler=cmd_next)

    p = sub.add_parser("run-job", help="run a job now (through the daemon when it runs)")
    p.add_argument("job")
    p.add_argument("--wait", action="store_true", help="wait for the result (through the daemon)")
    p.set_defaults(handler=cmd_run_job)

    for name in ("pause", "resume"):
        p = sub.add_parser(name, help=f"{name} a job (through the daemon; survives restarts)")
        p.add_argument("job")
        p.set_defaults(handler=cmd_pause_resume)

    p = sub.add_parser("history", help="recent executions, newest first")
    p.add_argument("--job")
    p.add_argument("--status")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_history)

    p = sub.add_parser("dashboard", help="data freshness, recent updates, 7-day success rates")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_dashboard)

    sub.add_parser("check-config", help="validate settings and job specs; run nothing").set_defaults(
        handler=cmd_check_config
    )

    p = sub.add_parser(
        "install-service", help="render the systemd unit (or supervisor program, @reboot line)"
    )
    p.add_argument("--user", action="store_true", help="a systemd --user unit (~/.config/systemd/user)")
    p.add_argument("--print", action="store_true", help="write to stdout only; install nothing")
    p.add_argument("--supervisor", action="store_true", help="a supervisor [program:] section")
    p.add_argument("--cron", action="store_true", help="the @reboot crontab line (printed only)")
    p.add_argument("--force", action="store_true", help="replace an existing, different file")
    p.add_argument("--output", type=Path, help="write here instead of the default location")
    p.add_argument("--run-as", metavar="USER", help="User= of a system unit (default: you)")
    p.set_defaults(handler=cmd_install_service)

    p = sub.add_parser("db", help="schema migrations: `db upgrade` (also run at start), `db current`")
    p.add_argument("action", choices=("upgrade", "current"))
    p.add_argument("--revision", default="head", help="upgrade to this revision (default head)")
    p.set_defaults(handler=cmd_db)

    p = sub.add_parser("exec", help=argparse.SUPPRESS)
    p.add_argument("job")
    p.add_argument("--execution-id", type=int)
    p.add_argument("--trigger", default="manual")
    p.add_argument("--scheduled")
    p.set_defaults(handler=cmd_exec)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        load_dotenv_files()
        settings = Settings.from_env()
        return args.handler(args, settings)
    except SchedulerError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"error: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
