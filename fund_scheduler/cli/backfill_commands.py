"""Operating runs through the daemon: ``backfill JOB --from D1 --to D2`` (one run per date the
job's schedule fires on, in date order), ``backfills [ID]`` (list, follow, cancel) and
``cancel EXECUTION_ID|BACKFILL_ID``."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import Any

import click

from fund_common.i18n import gettext as _
from fund_scheduler.cli.context import Cli
from fund_scheduler.cli.job_commands import complete_job
from fund_scheduler.cli.output import fmt_time, format_table, print_json, state_word
from fund_scheduler.errors import DaemonNotRunning

__all__ = ["COMMANDS", "FOLLOW_SECONDS"]

pass_cli = click.make_pass_decorator(Cli)
FOLLOW_SECONDS = 1.0  # how often a followed backfill's progress is asked for
DATE = click.DateTime(formats=["%Y-%m-%d"])
FINISHED = ("done", "failed", "cancelled")


def _need_daemon(cli: Cli, what: str) -> None:
    """DaemonNotRunning unless the daemon runs; ``what`` (translated) says what for."""
    if not cli.daemon_running():
        raise DaemonNotRunning(_("the scheduler daemon is not running: start it to {what}").format(what=what))


@click.command(
    epilog="Exit status: 0 every run succeeded (or, with --detach / --dry-run, the backfill was "
    "stored / listed); 1 a run failed or the backfill was cancelled; 2 unknown job, a bad date range "
    "or --param; 3 the daemon is not running. Ctrl-C stops following, not the backfill.",
)
@click.argument("job", shell_complete=complete_job)
@click.option(
    "--from", "start", type=DATE, required=True, metavar="YYYY-MM-DD", help="The first business date."
)
@click.option("--to", "end", type=DATE, required=True, metavar="YYYY-MM-DD", help="The last business date.")
@click.option("--with-dependents", is_flag=True, help="Each date's run starts its chain for that date.")
@click.option("--continue-on-failure", is_flag=True, help="Go on with the next date after a failure.")
@click.option("--dry-run", is_flag=True, help="List the runs it would make; store nothing.")
@click.option(
    "--param", "assignments", multiple=True, metavar="NAME=VALUE", help="A run parameter (repeatable)."
)
@click.option(
    "--detach", is_flag=True, help="Store the backfill and return; `backfills ID --follow` follows it."
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer (and the final progress) as JSON.")
@pass_cli
def backfill(
    cli: Cli,
    job: str,
    start: datetime,
    end: datetime,
    with_dependents: bool,
    continue_on_failure: bool,
    dry_run: bool,
    assignments: tuple[str, ...],
    detach: bool,
    as_json: bool,
) -> int:
    """Re-run JOB for every past date from --from to --to its schedule fires on (the sessions of
    its exchange calendar), oldest first, one after the other, each a run with trigger ``backfill``
    and one shared backfill id; queued behind a run already going, never skipped. It stops at the
    first failure unless --continue-on-failure. The daemon runs it: a restart resumes it. Follows
    its progress (a bar with the ETA) until it ends."""
    from fund_scheduler.jobs.params import parse_assignments, validate_params

    spec = cli.registry().get(job)
    given = parse_assignments(assignments)
    validate_params(spec.params, given, spec.id)
    _need_daemon(cli, _("backfill {job}").format(job=job))
    answer = cli.ask_daemon(
        {
            "cmd": "backfill",
            "job": spec.id,
            "from": start.date().isoformat(),
            "to": end.date().isoformat(),
            "params": given,
            "with_dependents": with_dependents,
            "continue_on_failure": continue_on_failure,
            "dry_run": dry_run,
        },
        timeout=60,
    )
    dates = answer["run_dates"]
    if dry_run:
        if as_json:
            print_json(answer)
            return 0
        print(
            _("backfill of {job} would make {n} run(s) (dry run, nothing stored):").format(
                job=spec.id, n=len(dates)
            )
        )
        for day in dates:
            print(f"  {day}")
        return 0
    backfill_id = answer["backfill_id"]
    if not as_json:
        print(
            _("backfill {id}: {n} run(s) of {job} from {first} to {last}").format(
                id=backfill_id, n=len(dates), job=spec.id, first=dates[0], last=dates[-1]
            )
        )
    if detach:
        if as_json:
            print_json(answer)
        return 0
    return _follow(cli, backfill_id, as_json)


def _follow(cli: Cli, backfill_id: str, as_json: bool) -> int:
    """Show the backfill's progress until it ends; 0 when it is done."""
    shown: set[Any] = set()
    bar = None
    try:
        while True:
            progress = cli.ask_daemon({"cmd": "backfill-progress", "id": backfill_id})
            settled = progress["settled"]
            if not as_json:
                if sys.stdout.isatty():
                    if bar is None:
                        bar = click.progressbar(length=progress["total"], label=backfill_id, show_eta=True)
                        bar.__enter__()
                    bar.update(settled - bar.pos)
                else:
                    for run in progress["runs"]:
                        key = (run["run_date"], run["state"])
                        if run["state"] in ("done", "failed", "cancelled") and key not in shown:
                            shown.add(key)
                            print(_run_line(run))
            if progress["state"] in FINISHED:
                break
            time.sleep(FOLLOW_SECONDS)
    except KeyboardInterrupt:
        print(
            "\n"
            + _("backfill {id} goes on in the daemon; `backfills {id} --cancel` stops it").format(
                id=backfill_id
            )
        )
        return 130
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if as_json:
        print_json(progress)
    else:
        print(_summary(progress))
    return 0 if progress["state"] == "done" else 1


def _run_line(run: dict[str, Any]) -> str:
    line = f"  {run['run_date']} {state_word(run['state'])}"
    if run["execution_id"]:
        line += _(" (execution {id})").format(id=run["execution_id"])
    if run.get("note"):
        line += f": {run['note']}"
    return line


def _summary(progress: dict[str, Any]) -> str:
    counts = progress["counts"]
    state = state_word(progress["state"])
    if progress.get("cancelled_by"):
        state = _("{state} by {who}").format(state=state, who=progress["cancelled_by"])
    line = _("backfill {id} {state} ({done} done, {failed} failed, {cancelled} cancelled of {total})").format(
        id=progress["id"],
        state=state,
        done=counts["done"],
        failed=counts["failed"],
        cancelled=counts["cancelled"],
        total=progress["total"],
    )
    return line + (f": {progress['error']}" if progress.get("error") else "")


@click.command(
    epilog="Exit status: 0; 1 a cancel refused (unknown or finished); 3 the daemon is not running."
)
@click.argument("backfill_id", required=False)
@click.option("--job", help="Only the backfills of this job.")
@click.option("--follow", is_flag=True, help="Follow BACKFILL_ID's progress until it ends.")
@click.option(
    "--cancel", is_flag=True, help="Cancel BACKFILL_ID as a whole: its dates not started, its runs going."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def backfills(
    cli: Cli, backfill_id: str | None, job: str | None, follow: bool, cancel: bool, as_json: bool
) -> int:
    """The newest backfills (state, progress, who asked), or one with its dates; --follow and
    --cancel act on one."""
    _need_daemon(cli, _("see the backfills"))
    if backfill_id is None:
        if follow or cancel:
            raise click.UsageError(_("--follow and --cancel need a BACKFILL_ID"))
        rows = cli.ask_daemon({"cmd": "backfills", "job": job})["backfills"]
        if as_json:
            print_json(rows)
            return 0
        table = [
            [
                r["id"],
                r["job_id"],
                f"{r['from_date']}..{r['to_date']}",
                state_word(r["state"]),
                f"{r.get('settled', 0)}/{r['total']}",
                r.get("requested_by") or "-",
                fmt_time(r["created_at"]),
            ]
            for r in rows
        ]
        headers = [_("BACKFILL"), _("JOB"), _("DATES"), _("STATE"), _("DONE"), _("BY"), _("CREATED (UTC)")]
        print(format_table(table, headers))
        return 0
    if cancel:
        answer = cli.ask_daemon({"cmd": "cancel-backfill", "id": backfill_id})
        if as_json:
            print_json(answer)
        else:
            print(_cancelled_line(backfill_id, answer))
        return 0
    if follow:
        return _follow(cli, backfill_id, as_json)
    progress = cli.ask_daemon({"cmd": "backfill-progress", "id": backfill_id})
    if as_json:
        print_json(progress)
        return 0
    print(_summary(progress))
    for run in progress["runs"]:
        print(_run_line(run))
    return 0


@click.command(
    epilog="Exit status: 0 cancelled; 1 unknown, already finished or not cancellable here; "
    "3 the daemon is not running."
)
@click.argument("target", metavar="EXECUTION_ID|BACKFILL_ID")
@click.option("--wait", is_flag=True, help="Wait until the cancelled run's row is final; print it.")
@pass_cli
def cancel(cli: Cli, target: str, wait: bool) -> int:
    """Cancel a run going (SIGTERM to its process group, SIGKILL after a grace; its row becomes
    `cancelled` with who asked), the pending retry of a finished one, or a whole backfill (its
    id, `bf-...`: its dates not started and its run going)."""
    _need_daemon(cli, _("cancel {target}").format(target=target))
    if target.startswith("bf-"):
        answer = cli.ask_daemon({"cmd": "cancel-backfill", "id": target})
        print(_cancelled_line(target, answer))
        return 0
    if not target.isdigit():
        raise click.BadParameter(
            _("{target!r} is neither an execution id nor a backfill id (bf-...)").format(target=target)
        )
    answer = cli.ask_daemon({"cmd": "cancel", "execution_id": int(target)})
    if answer["cancelled"] == "retry":
        print(_("execution {id} of {job}: its pending retry cancelled").format(id=target, job=answer["job"]))
        return 0
    print(
        _("execution {id} of {job}: cancelling (process group signalled)").format(
            id=target, job=answer["job"]
        )
    )
    if wait:
        from fund_scheduler.store import history

        engine = cli.existing_engine()
        deadline = time.monotonic() + 60
        row = history.get(engine, int(target)) if engine is not None else None
        while row is not None and row["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            row = history.get(engine, int(target)) if engine is not None else None
        if row is not None:
            status = state_word(row["status"])
            if row.get("cancelled_by"):
                status = _("{state} by {who}").format(state=status, who=row["cancelled_by"])
            print(_("execution {id}: {status}").format(id=target, status=status))
    return 0


def _cancelled_line(backfill_id: str, answer: dict[str, Any]) -> str:
    return _("backfill {id} cancelled: {dates} date(s) not started, {runs} run(s) ended").format(
        id=backfill_id, dates=answer["cancelled_dates"], runs=len(answer["cancelled_executions"])
    )


COMMANDS = [backfill, backfills, cancel]
