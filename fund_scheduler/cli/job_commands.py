"""The jobs: ``jobs``, ``next``, ``run-job``, ``pause``, ``resume``, ``forget-job`` (and the hidden
``exec`` and ``fork-server``)."""

from __future__ import annotations

import getpass
from datetime import UTC, date, datetime
from typing import Any

import click
from click.shell_completion import CompletionItem

from fund_common.i18n import gettext as _
from fund_scheduler.cli.context import Cli
from fund_scheduler.cli.output import (
    fmt_time,
    format_table,
    json_language,
    print_json,
    row_zone,
    state_word,
    status_word,
    weekday,
)
from fund_scheduler.errors import DaemonNotRunning, SchedulerError

__all__ = ["COMMANDS"]

pass_cli = click.make_pass_decorator(Cli)
MAX_COUNT = 1000


def complete_job(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion of a job id: the ids of the configured job packages and jobs.toml."""
    try:
        specs = Cli().registry(strict=False).specs
    except Exception:  # noqa: BLE001 - completion must never print an error
        return []
    return [
        CompletionItem(job_id, help=spec.name)
        for job_id, spec in specs.items()
        if job_id.startswith(incomplete)
    ]


@click.command(epilog="Exit status: 0.")
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
@pass_cli
def jobs(cli: Cli, as_json: bool) -> int:
    """The registered jobs: id, name, schedule in words (``weekdays at 19:00 (Asia/Shanghai),
    XSHG sessions``; --json also gives the technical ``trigger``), timezone, next run, state
    (active, paused, disabled, done: a one-off whose time has come, with its time). The running
    daemon's view when it runs; never creates the database."""
    with json_language(as_json):
        live = cli.live_reply()
        if live is not None:  # the daemon's view; the job definitions are not read here
            rows = live["jobs"]
        else:
            from fund_scheduler.cli.calendar_book import load_book

            load_book(cli, cli.registry(strict=False), compute_missing=False)
            rows = cli.local_job_rows()
    if as_json:
        print_json(rows)
        return 0
    table = [
        [
            j["id"],
            j["name"],
            j.get("schedule") or j["trigger"],
            j["timezone"],
            _next_run_words(j),
            state_word(j["state"]),
        ]
        for j in rows
    ]
    headers = [_("ID"), _("NAME"), _("SCHEDULE"), _("TIMEZONE"), _("NEXT RUN"), _("STATE")]
    print(format_table(table, headers))
    for j in rows:
        if j.get("after"):
            upstream = ", ".join(j["after"])
            if j["after_mode"] == "any" and len(j["after"]) > 1:
                upstream = _("{jobs} (any of them)").format(jobs=upstream)
            print(
                _(
                    "after: {job} runs after {upstream} succeeded for the date; its own time is its "
                    "deadline; late upstream: {on_late}"
                ).format(job=j["id"], upstream=upstream, on_late=j["on_late"])
            )
    from fund_scheduler.cli.daemon_commands import print_disabled_notes

    print_disabled_notes(rows)
    return 0


def _next_run_words(row: dict[str, Any]) -> str:
    """The NEXT RUN cell: the time, ``-`` when disabled, ``done (<its time>)`` for a done one-off."""
    if not row["enabled"]:
        return "-"
    if row.get("done_at"):
        return _("done ({time})").format(time=fmt_time(row["done_at"], row_zone(row)))
    return fmt_time(row["next_run_time"], row_zone(row))


@click.command(name="next", epilog="Exit status: 0; 2 unknown job, a count below 1 or a bad --from.")
@click.argument("job", required=False, shell_complete=complete_job)
@click.option(
    "--count",
    type=click.IntRange(1, MAX_COUNT),
    default=5,
    show_default=True,
    help="How many fire times per job.",
)
@click.option(
    "--from",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    metavar="DATE[THH:MM]",
    help="List the fire times after this moment (in the job's timezone) instead of after now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the fire times and skipped dates as JSON.")
@pass_cli
def next_(cli: Cli, job: str | None, count: int, start: datetime | None, as_json: bool) -> int:
    """The next fire times of each job (or of JOB), in the job's timezone. A job on an exchange
    calendar lists beside them the fire times it skips, with the reason (``skipped: XSHG closed:
    National Day``): the calendars are read as the daemon reads them (the stored ones and the
    operator file; one not stored is computed here). An interval job lists its next intervals from
    now; a one-off its time, or nothing once it has passed."""
    from fund_scheduler.cli.calendar_book import load_book
    from fund_scheduler.jobs.triggers import CalendarCronTrigger, next_fire_times

    registry = cli.registry(strict=False)
    settings = cli.settings
    specs = [registry.get(job)] if job else list(registry.specs.values())
    load_book(cli, registry)
    listing = []
    for spec in specs:
        tz = spec.zone(settings.timezone)
        now = start.replace(tzinfo=tz) if start else datetime.now(UTC).astimezone(tz)
        trigger = spec.trigger(settings.timezone, now)
        fires = next_fire_times(trigger, now, count)
        calendar_trigger = isinstance(trigger, CalendarCronTrigger)
        skipped = trigger.skipped_between(now, fires[-1]) if fires and calendar_trigger else []
        listing.append((spec, fires, skipped))
    if as_json:
        print_json([_next_json(spec, fires, skipped) for spec, fires, skipped in listing])
        return 0
    for spec, fires, skipped in listing:
        if spec.enabled:
            print(_("{job}:").format(job=spec.id))
        else:
            print(_("{job} (disabled: {reason}):").format(job=spec.id, reason=spec.why_disabled))
        lines = [(fire, "") for fire in fires] + [
            (fire, "  " + _("skipped: {reason}").format(reason=why)) for fire, why in skipped
        ]
        for fire, why in sorted(lines, key=lambda line: line[0]):
            print(f"  {fire.strftime('%Y-%m-%d %H:%M:%S %Z')} ({weekday(fire)}){why}")
        if not lines:
            print("  " + (_("none (a one-off whose time has passed)") if spec.at is not None else _("none")))
    return 0


def _next_json(spec: Any, fires: list[datetime], skipped: list[tuple[datetime, str]]) -> dict[str, Any]:
    return {
        "job": spec.id,
        "enabled": spec.enabled,
        "calendar": spec.calendar,
        "fire_times": [fire.isoformat() for fire in fires],
        "skipped": [{"time": fire.isoformat(), "reason": why} for fire, why in skipped],
    }


@click.command(
    name="run-job",
    epilog="Exit status: 0 success (or started, without --wait); 1 failed, already running or disabled; "
    "2 unknown job, an unknown or invalid --param, a future --date.",
)
@click.argument("job", shell_complete=complete_job)
@click.option(
    "--date",
    "run_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="The business date the run is for (default today's in the job's timezone): re-run a past day.",
)
@click.option(
    "--param",
    "assignments",
    multiple=True,
    metavar="NAME=VALUE",
    help="A run parameter the job declares (repeatable); `jobs --json` lists each job's.",
)
@click.option("--wait", is_flag=True, help="Through the daemon: wait for the result.")
@click.option(
    "--with-dependents",
    is_flag=True,
    help="Then run the jobs that run after it (its chain) for the same business date, as its "
    "scheduled run would.",
)
@pass_cli
def run_job(
    cli: Cli,
    job: str,
    run_date: datetime | None,
    assignments: tuple[str, ...],
    wait: bool,
    with_dependents: bool,
) -> int:
    """Run JOB now, for today or for the business date of --date, with the parameters of --param:
    through the running daemon (trigger manual, respecting max_instances), else in this command
    ("test mode": the same runner, history and alerts). JOB alone: its dependents start only with
    --with-dependents. Parameters are checked against the job's declaration before anything runs."""
    from fund_scheduler.jobs.params import parse_assignments, validate_params

    spec = cli.registry().get(job)
    given = parse_assignments(assignments)
    validate_params(spec.params, given, spec.id)  # the same check the daemon makes, before asking it
    day = run_date.date() if run_date else None
    if cli.daemon_running():
        request = {
            "cmd": "run",
            "job": spec.id,
            "wait": wait,
            "with_dependents": with_dependents,
            "run_date": day.isoformat() if day else None,
            "params": given,
        }
        reply = cli.ask_daemon(request, timeout=None if wait else 60)
        print(
            _("job {job}: execution {id} {status} (for {date}{params}; through the daemon)").format(
                job=spec.id,
                id=reply["execution_id"],
                status=status_word(reply["status"]),
                date=reply["run_date"],
                params=_params_words(reply["params"]),
            )
        )
        if reply.get("error"):
            print(f"error: {reply['error']}")
        if with_dependents:
            print(
                _("its dependents start after its success (see `status`): {jobs}").format(
                    jobs=_dependents_line(cli, spec.id)
                )
            )
        return 0 if reply["status"] in ("success", "running") else 1
    if not spec.enabled:
        raise SchedulerError(
            _("job {job!r} is disabled: {reason}").format(job=spec.id, reason=spec.why_disabled)
        )
    return _run_here(cli, spec.id, with_dependents, run_date=day, params=given)


def _params_words(params: dict[str, Any]) -> str:
    """``, with fund_codes=000001`` (nothing without parameters)."""
    if not params:
        return ""
    return _(", with {params}").format(params=" ".join(f"{k}={v}" for k, v in params.items()))


def _dependents_line(cli: Cli, job_id: str) -> str:
    dependents = sorted(s.id for s in cli.registry().specs.values() if job_id in s.after)
    return ", ".join(dependents) or _("none")


def _run_here(
    cli: Cli,
    job_id: str,
    with_dependents: bool = False,
    *,
    run_date: date | None = None,
    params: dict[str, Any] | None = None,
) -> int:
    """Run ``job_id`` in this process, as the daemon would (schema upgraded first, alerts sent),
    for ``run_date`` (default today's) with ``params``; ``with_dependents``: then its chain, one
    step after the other. Recorded as asked by ``cli:<user>``."""
    from fund_scheduler import logsetup
    from fund_scheduler.alerts import Notifier, channels_from
    from fund_scheduler.daemon.checks import CheckWatcher
    from fund_scheduler.daemon.dependents import run_chain_here
    from fund_scheduler.jobs.params import check_run_date, validate_params
    from fund_scheduler.run.runner import Runner
    from fund_scheduler.store import history

    settings = cli.settings
    spec = cli.registry().get(job_id)
    values = validate_params(spec.params, params, job_id)
    today = datetime.now(UTC).astimezone(spec.zone(settings.timezone)).date()
    check_run_date(job_id, run_date or today, today)
    asked = {"params": values, "requested_by": f"cli:{getpass.getuser()}"}
    logsetup.configure(settings, console=True)
    engine = cli.engine()
    migrate = cli.migrations("upgrade")
    if migrate is not None:
        migrate(engine)
    runner = Runner(settings, cli.registry(), engine)
    runner.remote_runs_here = True  # test mode: a worker's job runs here too
    # Alerts as the daemon would send them (only when a channel is configured: no log noise).
    notifier = Notifier.from_settings(settings, engine) if channels_from(settings) else None
    if notifier is not None:
        runner.on_finished.append(notifier.observe)
    runner.on_finished.append(CheckWatcher(engine, lambda: runner.registry, notifier).observe)  # check jobs
    try:
        result = runner.run(
            job_id, trigger="manual", with_dependents=with_dependents, run_date=run_date, asked=asked
        )
        chain = run_chain_here(runner, result)
    finally:
        if notifier is not None:
            notifier.close()  # sends what is queued, for at most a couple of seconds
    for done in (result, *chain):
        row = history.get(engine, done.execution_id) if done.execution_id is not None else None
        if row and row["output_tail"]:
            print(row["output_tail"].rstrip())
        print(
            _(
                "job {job}: execution {id} {status} in {seconds}s (for {date}; no daemon running: ran in "
                "this process)"
            ).format(
                job=done.job_id,
                id=done.execution_id,
                status=status_word(done.status),
                seconds=f"{done.duration or 0:.1f}",
                date=done.run_date,
            )
        )
    return 0 if all(done.status == "success" for done in (result, *chain)) else 1


def _pause_resume(cli: Cli, action: str, job: str) -> int:
    cli.registry().get(job)
    if not cli.daemon_running():
        refusal = (
            _("the scheduler daemon is not running: start it to pause {job}")
            if action == "pause"
            else _("the scheduler daemon is not running: start it to resume {job}")
        )
        raise DaemonNotRunning(refusal.format(job=job))
    reply: dict[str, Any] = cli.ask_daemon({"cmd": action, "job": job})
    when = fmt_time(reply["next_run_time"]) if reply.get("next_run_time") else "-"
    if action == "pause":
        print(_("job {job} paused").format(job=job))
    else:
        print(_("job {job} resumed; next run {when}").format(job=job, when=when))
    return 0


@click.command(epilog="Exit status: 0; 2 unknown job; 3 the daemon is not running.")
@click.argument("job", shell_complete=complete_job)
@pass_cli
def pause(cli: Cli, job: str) -> int:
    """Pause JOB through the running daemon; it stays paused across restarts."""
    return _pause_resume(cli, "pause", job)


@click.command(epilog="Exit status: 0; 2 unknown job; 3 the daemon is not running.")
@click.argument("job", shell_complete=complete_job)
@pass_cli
def resume(cli: Cli, job: str) -> int:
    """Resume JOB through the running daemon and print its next run."""
    return _pause_resume(cli, "resume", job)


@click.command(
    name="forget-job",
    epilog="Exit status: 0 deleted; 1 nothing is kept for JOB (or no database).",
)
@click.argument("job")
@pass_cli
def forget_job(cli: Cli, job: str) -> int:
    """Delete what the job store keeps aside for JOB: its state set aside when nothing defined it
    (or it was disabled), and its stored rows rejected as unreadable. A job that is defined
    and stored is not touched; nothing else deletes these rows."""
    from fund_scheduler.store.engine import has_tables
    from fund_scheduler.store.jobstore import JsonJobStore, scheduler_jobs_set_aside

    engine = cli.existing_engine()
    kept = rejected = 0
    if engine is not None:
        try:
            if has_tables(engine, scheduler_jobs_set_aside.name):
                kept, rejected = JsonJobStore(engine).forget(job)
        finally:
            engine.dispose()
    if kept + rejected == 0:
        raise SchedulerError(_("nothing is set aside or rejected for job {job!r}").format(job=job))
    print(
        _("job {job}: deleted {kept} set-aside and {rejected} rejected row(s)").format(
            job=job, kept=kept, rejected=rejected
        )
    )
    return 0


@click.command(name="exec", hidden=True)
@click.argument("job")
@click.option("--execution-id", type=int)
@click.option("--trigger", default="manual")
@click.option("--scheduled")
@click.option("--run-date", type=click.DateTime(formats=["%Y-%m-%d"]))
@pass_cli
def exec_(
    cli: Cli,
    job: str,
    execution_id: int | None,
    trigger: str,
    scheduled: str | None,
    run_date: datetime | None,
) -> int:
    """Internal: run one Python job in this process (the daemon's child)."""
    from fund_scheduler.run.child import run_job_function

    return run_job_function(
        cli.settings,
        cli.registry(),
        job,
        execution_id=execution_id,
        trigger=trigger,
        scheduled=datetime.fromisoformat(scheduled) if scheduled else None,
        run_date=run_date.date() if run_date else None,
    )


@click.command(name="fork-server", hidden=True)
@click.option("--channel-fd", type=int, required=True)
@pass_cli
def fork_server(cli: Cli, channel_fd: int) -> int:
    """Internal: the daemon's fork server for Python job runs (see fund_scheduler.run.zygote)."""
    from fund_scheduler.run.zygote import serve

    return serve(channel_fd, cli.settings.jobs_packages)


COMMANDS = [jobs, next_, run_job, pause, resume, forget_job, exec_, fork_server]
