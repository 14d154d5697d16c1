"""The daemon's life: ``run``, ``start``, ``stop``, ``reload``, ``status``."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from fund_common.i18n import N_, ngettext
from fund_common.i18n import gettext as _
from fund_scheduler import program
from fund_scheduler.cli.context import Cli
from fund_scheduler.cli.output import (
    error,
    fmt_time,
    format_table,
    json_language,
    print_json,
    row_zone,
    state_word,
    status_word,
    warning,
)
from fund_scheduler.errors import DaemonNotRunning, SchedulerError

__all__ = ["COMMANDS", "EXIT_ALREADY_RUNNING"]

EXIT_ALREADY_RUNNING = 75  # from `run` when another daemon holds the lock (start maps it to 0)
READY_TIMEOUT = 15.0
pass_cli = click.make_pass_decorator(Cli)


@click.command(epilog="Exit status: 0 after a clean stop; 2 bad configuration; 70 the scheduler loop died.")
@click.option("--background", is_flag=True, hidden=True)
@click.option("--ready-fd", type=int, hidden=True)
@pass_cli
def run(cli: Cli, background: bool, ready_fd: int | None) -> int:
    """Run the daemon in the foreground (systemd, supervisor, ./start_scheduler.sh --foreground).

    Logs to stderr and logs/scheduler.log.
    """
    from fund_scheduler import logsetup
    from fund_scheduler.cli.serve import serve
    from fund_scheduler.daemon.pidfile import AlreadyRunning

    registry = cli.registry()
    running = cli.check_http_port()  # the HTTP port in use: exit 2 before anything is logged
    if running is not None:
        print(
            _("scheduler already running (PID {pid}); not starting another").format(pid=running),
            file=sys.stderr,
        )
        return EXIT_ALREADY_RUNNING
    logsetup.configure(cli.settings, console=not background, queued=True)

    def on_ready(_daemon: object) -> None:
        if ready_fd is not None:
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)

    try:
        return serve(
            cli.settings,
            registry,
            load_registry=cli.load_registry,
            migrate=_migrations_at_start(cli),
            on_ready=on_ready,
        )
    except AlreadyRunning as exc:
        print(_("scheduler {reason}; not starting another").format(reason=exc), file=sys.stderr)
        return EXIT_ALREADY_RUNNING


def _migrations_at_start(cli: Cli) -> Any:
    """The daemon's migration step, None when turned off: nothing to do when the runner's
    ``is_current(engine)`` (if it has one) finds the database at its newest revision; otherwise
    ``db upgrade`` in a child process, its lines logged, so that the migration tool (Alembic,
    about 10 MiB) never stays in the daemon's memory. A failed upgrade raises SchedulerError with
    the child's error line (the database's unavailability named, password masked)."""
    import logging

    if cli.migrations("upgrade") is None:
        return None
    try:
        is_current = cli.migrations("is_current")
    except SchedulerError:  # a runner of its own without the check: always upgrade
        is_current = None
    settings = cli.settings
    logger = logging.getLogger("scheduler.migrations")

    def migrate(engine: Any) -> None:
        if is_current is not None and is_current(engine):
            return
        done = subprocess.run(
            program.python_command("db", "upgrade"),
            capture_output=True,
            text=True,
            env={**(dict(settings.environ) or os.environ), "SCHEDULER_LANG": "en"},  # its lines are logged
            check=False,
        )
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        for line in lines:
            logger.info("db upgrade: %s", line)
        if done.returncode != 0:
            errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
            raise SchedulerError(
                "; ".join(errors) or f"schema migration failed (db upgrade exit status {done.returncode})"
            )

    return migrate


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return _("({path} cannot be read)").format(path=path)


def _new_error_lines(path: Path, offset: int) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.startswith("error: ")]


@click.command(
    epilog="Exit status: 0 started (or already running); 1 did not become ready (the log's last lines "
    "are printed); 2 bad configuration (a bad job definition, the HTTP port in use): one line, nothing "
    "started."
)
@pass_cli
def start(cli: Cli) -> int:
    """Start the daemon in the background and return once it is ready (at most 15 s).

    Prints the PID, the log and each job's next run; starts nothing when one already runs.
    """
    from fund_scheduler.daemon.pidfile import starting

    with starting(cli.settings.pid_file):  # a second start waits here, then finds this daemon
        return _start(cli)


def _start(cli: Cli) -> int:
    from fund_scheduler.daemon.pidfile import RUNNING, probe

    settings = cli.settings
    state = probe(settings.pid_file)
    if state.state == RUNNING:
        print(_("scheduler already running (PID {pid}); nothing started").format(pid=state.pid))
        return 0
    # A bad job configuration is refused by the daemon itself (exit 2, its reasons printed
    # below): not checked here first, which would read every job definition twice.
    cli.check_http_port()  # the HTTP port in use: exit 2 before anything starts
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    out_path = settings.log_dir / "daemon.out"
    read_fd, write_fd = os.pipe()
    out_offset = out_path.stat().st_size if out_path.exists() else 0
    with open(out_path, "ab") as out:
        proc = subprocess.Popen(
            program.python_command("run", "--background", "--ready-fd", str(write_fd)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            pass_fds=(write_fd,),
            start_new_session=True,
            cwd=str(settings.workdir),
        )
    os.close(write_fd)
    if _wait_ready(read_fd):
        print(_("scheduler started: PID {pid}").format(pid=proc.pid))
        print(_("log: {path}").format(path=settings.scheduler_log))
        return _print_next_runs(cli)
    try:
        code = proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        code = None
    if code == EXIT_ALREADY_RUNNING:
        state = probe(settings.pid_file)
        print(_("scheduler already running (PID {pid}); nothing started").format(pid=state.pid))
        return 0
    if code == 0:  # a stop came while it started
        error(_("the scheduler was stopped before it became ready"))
        return 1
    if code is None:
        proc.terminate()
        error(
            _("the scheduler did not become ready within {seconds}s; stopped it").format(
                seconds=f"{READY_TIMEOUT:.0f}"
            )
        )
    else:
        reasons = _new_error_lines(out_path, out_offset)
        if code == 2 and reasons:  # bad configuration: its one-line reason says it all
            for line in reasons:
                print(line, file=sys.stderr)
            return 2
        error(_("the scheduler exited with status {code} before it was ready").format(code=code))
        for line in reasons:
            print(line, file=sys.stderr)
    for path in (settings.scheduler_log, out_path):
        print(_("--- last lines of {path} ---").format(path=path), file=sys.stderr)
        print(_tail(path), file=sys.stderr)
    return 1


def _wait_ready(read_fd: int) -> bool:
    """True once the daemon wrote ``ready`` on the pipe (False after :data:`READY_TIMEOUT`)."""
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
    return data.startswith(b"ready")


def _print_next_runs(cli: Cli) -> int:
    try:
        reply = cli.ask_daemon({"cmd": "status"})
    except (SchedulerError, OSError) as exc:  # a stop came right after it became ready
        warning(
            _("the scheduler did not answer after it became ready ({reason}); see `status`").format(
                reason=exc
            )
        )
        return 0
    for job in reply["jobs"]:
        if not job["enabled"]:
            continue
        when = state_word("paused") if job["paused"] else fmt_time(job["next_run_time"], row_zone(job))
        print(f"  {job['id']:<28} " + _("next run {when}").format(when=when))
    return 0


@click.command(epilog="Exit status: 0 (also when nothing was running); 1 the daemon did not stop in time.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for running jobs before terminating them.",
)
@pass_cli
def stop(cli: Cli, timeout: float) -> int:
    """Stop the daemon gracefully (SIGTERM): no new runs, wait for the running ones, then end
    their process groups (recorded interrupted); the PID file is removed."""
    from fund_scheduler.daemon.pidfile import RUNNING, STALE, AlreadyRunning, PidFile, probe
    from fund_scheduler.run.process import process_alive

    settings = cli.settings
    state = _wait_for_start(settings.pid_file)
    if state.state == STALE:
        lock = PidFile(settings.pid_file)
        try:
            lock.acquire()
            lock.release()
        except AlreadyRunning:
            print(_("a daemon started meanwhile; its PID file was left alone"))
            return 0
        print(_("scheduler not running (removed a stale PID file naming PID {pid})").format(pid=state.pid))
        return 0
    if state.state != RUNNING or state.pid is None:
        print(_("scheduler not running"))
        return 0
    try:
        cli.ask_daemon({"cmd": "set-stop-timeout", "timeout": timeout}, timeout=5)
    except (SchedulerError, OSError) as exc:
        warning(
            _("could not pass the stop timeout to the daemon ({reason}); using its default").format(
                reason=exc
            ),
            err=True,
        )
    os.kill(state.pid, signal.SIGTERM)
    print(
        _("stopping scheduler (PID {pid}); waiting up to {seconds}s for running jobs").format(
            pid=state.pid, seconds=f"{timeout:g}"
        )
    )
    deadline = time.monotonic() + timeout + 20
    while probe(settings.pid_file).state == RUNNING:
        if time.monotonic() > deadline:
            error(_("PID {pid} still holds the PID file; it did not stop").format(pid=state.pid))
            return 1
        time.sleep(0.1)
    gone_by = time.monotonic() + max(deadline - time.monotonic(), 5.0)
    while process_alive(state.pid) and time.monotonic() < gone_by:  # interpreter teardown
        time.sleep(0.05)
    print(_("scheduler stopped"))
    return 0


@click.command(
    epilog="Exit status: 0 reloaded; 1 the specs could not be read or the database is away; 2 "
    "refused (each problem named; the running jobs kept); 3 the daemon is not running."
)
@pass_cli
def reload(cli: Cli) -> int:
    """Re-read the job specs and jobs.toml into the running daemon and print what changed (as
    SIGHUP or `systemctl reload` do; recorded in the audit log with your Unix user)."""
    if not cli.daemon_running():
        raise DaemonNotRunning("the scheduler daemon is not running: nothing to reload")
    answer = cli.ask_daemon({"cmd": "reload"}, timeout=60)
    if answer.get("standby"):
        count = answer["jobs"]
        print(
            ngettext(
                "reloaded on the standby: {n} job, reconciled when it becomes active",
                "reloaded on the standby: {n} jobs, reconciled when it becomes active",
                count,
            ).format(n=count)
        )
        return 0
    print(_("reloaded: {summary}").format(summary=answer["summary"]))
    for name, words in _RELOAD_LINES.items():
        if answer.get(name):
            print("  " + _(words).format(jobs=", ".join(answer[name])))
    return 0


#: ``reload``'s lists of jobs, in its order.
_RELOAD_LINES = {
    "added": N_("added: {jobs}"),
    "updated": N_("updated: {jobs}"),
    "set_aside": N_("set aside: {jobs}"),
    "restored": N_("restored: {jobs}"),
    "done": N_("done: {jobs}"),
}


def _wait_for_start(pid_file: Path) -> Any:
    """The PID file's state once no ``start`` is under way, or as soon as its daemon holds the
    lock (so a stop that comes while a daemon starts stops it, never reports "not running")."""
    from fund_scheduler.daemon.pidfile import RUNNING, probe, start_in_progress

    state = probe(pid_file)
    if state.state == RUNNING or not start_in_progress(pid_file):
        return state
    print(_("scheduler is starting; waiting for it to come up"))
    deadline = time.monotonic() + READY_TIMEOUT + 10
    while start_in_progress(pid_file) and time.monotonic() < deadline:
        state = probe(pid_file)
        if state.state == RUNNING:
            return state
        time.sleep(0.05)
    return probe(pid_file)


def _process_info(pid: int) -> dict[str, Any]:
    try:
        import psutil

        proc = psutil.Process(pid)
        return {"rss_bytes": proc.memory_info().rss, "uptime": time.time() - proc.create_time()}
    except Exception:  # noqa: BLE001 - best effort; status must answer anyway
        return {}


@click.command(epilog="Exit status (LSB): 0 running; 1 dead, its PID file left; 3 not running.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_cli
def status(cli: Cli, as_json: bool) -> int:
    """Whether the daemon runs (PID, uptime, memory, role), the database (password masked), each
    job's schedule, state, next run and last result, each check job's state (ok or breach), and
    the failures of the last 24 h. A running daemon answers all of it; without one it is read
    from the configuration and the database."""
    from fund_scheduler.daemon.pidfile import NOT_RUNNING, RUNNING, probe

    state = probe(cli.paths.pid_file)
    report: dict[str, Any] = {"state": state.state, "pid": state.pid}
    with json_language(as_json):
        if state.state == RUNNING and state.pid is not None:
            try:
                live = cli.ask_daemon({"cmd": "status", "report": True}, timeout=5)
            except (SchedulerError, OSError) as exc:
                report["control_error"] = str(exc)
            else:
                live.pop("ok", None)
                report.update(live, pid=state.pid)
        if "jobs" not in report:
            report.update(_local_report(cli, state))
    code = {RUNNING: 0, NOT_RUNNING: 3}.get(state.state, 1)
    if as_json:
        print_json(report)
        return code
    _print_status(report, state.state)
    return code


def _local_report(cli: Cli, state: Any) -> dict[str, Any]:
    """What ``status`` says without a daemon to answer: the configuration's problems and jobs,
    the job store's, the calendars', the chain, the checks and the failures from the database."""
    from fund_scheduler.daemon.checks import check_rows
    from fund_scheduler.daemon.dependents import chain_view
    from fund_scheduler.store import history

    settings = cli.settings
    report: dict[str, Any] = {"database": settings.masked_database_url}
    if state.pid is not None:
        report.update(_process_info(state.pid))
    registry = cli.registry(strict=False)
    report["config_problems"] = registry.problems
    try:
        report["jobs"] = cli.local_job_rows()
        report["job_store_problems"] = cli.local_job_store_problems()
        report["log_problems"] = []
        report["calendar_problems"] = _local_calendar_problems(cli, registry)
        report["checks"] = cli.read_history(lambda engine: check_rows(engine, registry), [])
        report["chain"] = cli.read_history(
            lambda engine: chain_view(registry, engine, settings.timezone, datetime.now(UTC)), []
        )
        report["failures_24h"] = cli.read_history(
            lambda engine: history.failures_since(engine, datetime.now(UTC) - timedelta(hours=24)), []
        )
        report["remote"] = cli.read_history(lambda engine: _local_workers(engine, settings), {})
    except Exception as exc:  # noqa: BLE001 - report the database problem, keep the exit status
        report["database_error"] = f"{type(exc).__name__}: {exc}"
    return report


def _local_workers(engine: Any, settings: Any) -> dict[str, Any]:
    """The workers and queues from the database (no broker asked: its depths unknown)."""
    from fund_scheduler.store import workers

    if not workers.exists(engine):
        return {}
    view = workers.overview(engine, datetime.now(UTC), settings.remote.lease)
    for queue in view["queues"]:
        queue["at_broker"] = None
    return {"broker": settings.remote.masked_broker_url, **view}


def _local_calendar_problems(cli: Cli, registry: Any) -> list[str]:
    """The calendars' problems as the daemon would report them, without a daemon."""
    from fund_scheduler.cli.calendar_book import local_calendar_problems

    return local_calendar_problems(cli, registry, datetime.now(UTC).astimezone(cli.settings.timezone).date())


def _print_status(report: dict[str, Any], state: str) -> None:
    from fund_scheduler.daemon.pidfile import NOT_RUNNING, RUNNING

    words = {RUNNING: _("running"), NOT_RUNNING: _("not running")}
    parts = [words.get(state) or _("dead (stale PID file)")]
    if report.get("pid"):
        parts.append(_("PID {pid}").format(pid=report["pid"]))
    if "uptime" in report and state == RUNNING:
        parts.append(_("up {time}").format(time=timedelta(seconds=int(report["uptime"]))))
    if "role" in report:
        parts.append(_(_ROLES[report["role"]]) if report["role"] in _ROLES else str(report["role"]))
    if "rss_bytes" in report:
        parts.append(_("memory {mib} MiB").format(mib=f"{report['rss_bytes'] / 2**20:.1f}"))
    print(_("scheduler: {state}").format(state=_(", ").join(parts)))
    print(_("database: {url}").format(url=report["database"]))
    fork_server = report.get("fork_server")
    if fork_server and state == RUNNING:
        where = _("PID {pid}").format(pid=fork_server["pid"]) if fork_server["pid"] else _("not running")
        line = _("fork server: {where}").format(where=where)
        if not fork_server["ready"]:
            line += _(" (starting)")
        if fork_server["starts"] > 1:
            line += _("; started {n} times").format(n=fork_server["starts"])
        print(line)
    for key in ("control_error", "database_error"):
        if report.get(key):
            warning(report[key])
    for problem in report.get("config_problems") or []:
        warning(_("configuration problem: {problem}").format(problem=problem))
    for key in ("job_store_problems", "log_problems", "calendar_problems"):
        for problem in report.get(key) or []:
            warning(problem)
    jobs = report.get("jobs") or []
    if jobs:
        rows = [
            [
                j["id"],
                j.get("schedule") or j["trigger"],
                state_word(j["state"]),
                fmt_time(j["next_run_time"], row_zone(j)) if j["enabled"] else "-",
                status_word(j["last_status"]) if j["last_status"] else "-",
                fmt_time(j["last_started_at"], row_zone(j)),
            ]
            for j in jobs
        ]
        headers = [_("JOB"), _("SCHEDULE"), _("STATE"), _("NEXT RUN"), _("LAST"), _("LAST STARTED")]
        print(format_table(rows, headers))
    print_disabled_notes(jobs)
    _print_chain(report.get("chain") or [])
    _print_checks(report.get("checks") or [])
    _print_remote(report.get("remote") or {})
    failures = report.get("failures_24h") or []
    print(_("failures in the last 24 h: {n}").format(n=len(failures)))
    for row in failures[:10]:
        error_line = (row["error"] or "").splitlines()[0] if row["error"] else ""
        print(
            "  "
            + _("#{id} {job} {status} at {time}: {error}").format(
                id=row["id"],
                job=row["job_id"],
                status=status_word(row["status"]),
                time=fmt_time(row["started_at"]),
                error=error_line,
            )
        )


#: The daemon's role words (``status``).
_ROLES = {"active": N_("active (leader)"), "standby": N_("standby")}


def print_disabled_notes(jobs: list[dict[str, Any]]) -> None:
    """One ``note:`` line for each disabled job of ``jobs`` with why (``jobs`` and ``status``)."""
    for j in jobs:
        if not j["enabled"]:
            reason = j["disabled_reason"] or _("enabled = false in jobs.toml")
            print(_("note: {job} is disabled: {reason}").format(job=j["id"], reason=reason))


def _print_chain(steps: list[dict[str, Any]]) -> None:
    """The dependency chains in order with where today's run of each step stands:
    ``STEP  AFTER  DEADLINE  TODAY``."""
    if not steps:
        return
    rows = [
        [
            s["job"],
            ", ".join(s["after"]) or "-",
            fmt_time(s["deadline"], row_zone(s)) if s["deadline"] else "-",
            s["text"],
        ]
        for s in steps
    ]
    print(format_table(rows, [_("STEP"), _("AFTER"), _("DEADLINE"), _("TODAY")]))


def _print_remote(remote: dict[str, Any]) -> None:
    """The workers (``WORKER  HOST  QUEUES  STATE  HEARTBEAT  RUNNING``) and the queues (``QUEUE
    WAITING  QUEUED  RUNNING  WORKERS``); nothing when no worker ever ran and no broker is set."""
    if not remote or not (remote.get("broker") or remote.get("workers")):
        return
    print(_("broker: {url}").format(url=remote.get("broker") or _("(unset)")))
    rows = [
        [
            w["name"],
            w["host"],
            ",".join(w["queues"]),
            _("up") if w["alive"] else (_("stopped") if w.get("stopped_at") else _("silent")),
            _("{seconds}s ago").format(seconds=f"{w['heartbeat_age_seconds']:.0f}"),
            f"{w['running']}/{w['concurrency']}",
        ]
        for w in remote.get("workers") or []
    ]
    if rows:
        headers = [_("WORKER"), _("HOST"), _("QUEUES"), _("STATE"), _("HEARTBEAT"), _("RUNNING")]
        print(format_table(rows, headers))
    queues = [
        [
            q["name"],
            "?" if q.get("at_broker") is None else str(q["at_broker"]),
            str(q["queued"]),
            str(q["running"]),
            ", ".join(q["workers"]) or _("none"),
        ]
        for q in remote.get("queues") or []
    ]
    if queues:
        print(format_table(queues, [_("QUEUE"), _("WAITING"), _("QUEUED"), _("RUNNING"), _("WORKERS")]))


def _print_checks(checks: list[dict[str, Any]]) -> None:
    """The check jobs' states: ``CHECK  STATE  SINCE  SUMMARY``."""
    if not checks:
        return
    rows = [[c["job_id"], state_word(c["state"]), fmt_time(c["since"]), c["summary"] or ""] for c in checks]
    print(format_table(rows, [_("CHECK"), _("STATE"), _("SINCE"), _("SUMMARY")]))


COMMANDS = [run, start, stop, reload, status]
