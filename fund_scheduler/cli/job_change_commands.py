"""Job changes at runtime: ``job add|set|remove``, stored in the database on top of the code and
``jobs.toml``.

Through the running daemon when one runs here (applied at once, audited as ``unix:<user>``);
otherwise straight into the database (:func:`~fund_scheduler.store.job_changes.save_edit`, the
same check, audited as ``cli:<user>``): a daemon on another host applies it within
:data:`~fund_scheduler.daemon.daemon.CHANGES_INTERVAL`, a stopped one at its next start."""

from __future__ import annotations

import getpass
import os
import tomllib
from typing import Any

import click

from fund_common.i18n import gettext as _
from fund_scheduler.cli.context import Cli
from fund_scheduler.cli.job_commands import complete_job
from fund_scheduler.errors import ConfigError, SchedulerError
from fund_scheduler.jobs.edits import EditRequest

__all__ = ["COMMANDS", "parse_fields"]

pass_cli = click.make_pass_decorator(Cli)
EPILOG = (
    "Exit status: 0 changed; 1 the job exists (add), or no database; 2 unknown job or a change "
    "refused (each problem named, nothing stored)."
)


def parse_fields(assignments: tuple[str, ...]) -> dict[str, Any]:
    """``name=value`` pairs as jobs.toml would read them (``timeout=600``, ``enabled=false``,
    ``command=["/usr/bin/backup", "--all"]``); a value TOML cannot read is a string
    (``cron=15 4 * * *``); ``name=`` (nothing) drops that field's change."""
    fields: dict[str, Any] = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(_("{item!r} is not NAME=VALUE (a jobs.toml field)").format(item=item))
        text = text.strip()
        if not text:
            fields[name.strip()] = None
            continue
        try:
            fields[name.strip()] = tomllib.loads(f"value = {text}")["value"]
        except tomllib.TOMLDecodeError:
            fields[name.strip()] = text
    return fields


@click.group(name="job", epilog=EPILOG)
def job_group() -> None:
    """Create, change or delete a job at runtime (stored in the database: kept across restarts,
    seen by a standby that takes over). Field names are those of jobs.toml. Through the running
    daemon (applied at once), or, with no daemon here, straight into the database (a daemon
    elsewhere applies it within 30 s, a stopped one when it starts)."""


@job_group.command(name="add", epilog=EPILOG)
@click.argument("job")
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE...")
@pass_cli
def add(cli: Cli, job: str, assignments: tuple[str, ...]) -> int:
    """Create command job JOB: `job add backup 'cron=0 3 * * *' 'command=["/usr/local/bin/backup"]'`."""
    fields = parse_fields(assignments)
    where, _fields = _change(cli, EditRequest("job_add", job, fields))
    print(_("job {job} added{where}: {fields}").format(job=job, where=where, fields=_words(fields)))
    return 0


@job_group.command(name="set", epilog=EPILOG)
@click.argument("job", shell_complete=complete_job)
@click.argument("assignments", nargs=-1, metavar="NAME=VALUE...")
@click.option("--reset", is_flag=True, help="Drop every runtime change of JOB (a removed job comes back).")
@pass_cli
def set_(cli: Cli, job: str, assignments: tuple[str, ...], reset: bool) -> int:
    """Change JOB's fields: `job set daily_collection 'cron=15 4 * * *' timeout=900 retries=2`."""
    if not assignments and not reset:
        raise click.UsageError(_("give NAME=VALUE pairs, or --reset"))
    where, fields = _change(cli, EditRequest("job_set", job, parse_fields(assignments), reset))
    if reset:
        print(_("job {job}: runtime changes reset{where}").format(job=job, where=where))
    else:
        print(_("job {job} changed{where}: {fields}").format(job=job, where=where, fields=_words(fields)))
    return 0


@job_group.command(name="remove", epilog=EPILOG)
@click.argument("job", shell_complete=complete_job)
@pass_cli
def remove(cli: Cli, job: str) -> int:
    """Delete JOB (one of the code or jobs.toml stays removed until `job set JOB --reset`)."""
    where, _fields = _change(cli, EditRequest("job_remove", job))
    print(_("job {job} removed{where}").format(job=job, where=where))
    return 0


def _change(cli: Cli, request: EditRequest) -> tuple[str, dict[str, Any]]:
    """Ask the running daemon, or store ``request``'s edit straight into the database; the words
    saying where it went ("" through the daemon) and the job's changed fields now."""
    if cli.daemon_running():
        payload = {
            "cmd": request.action.replace("_", "-"),
            "job": request.job_id,
            "fields": dict(request.fields),
            "reset": request.reset,
        }
        return "", cli.ask_daemon(payload).get("fields") or {}
    from fund_common.clock import utcnow
    from fund_scheduler.store import job_changes
    from fund_scheduler.store.audit import Actor

    engine = cli.existing_engine()
    if engine is None or not job_changes.exists(engine):
        raise SchedulerError(
            _("no database with runtime job changes yet: start the daemon once (or run `db upgrade`)")
        )
    try:
        edit, _stored = job_changes.save_edit(
            engine,
            request,
            base=cli.registry(strict=False),
            actor=Actor(f"cli:{getpass.getuser()}", "cli", f"pid {os.getpid()}"),
            default_tz=cli.settings.timezone,
            now=utcnow(),
        )
    finally:
        engine.dispose()
    where = _(" (stored in the database: no daemon runs here; a running daemon applies it within 30 s)")
    return where, edit.fields or {}


def _words(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in fields.items()) or _("no field changed")


COMMANDS = [job_group]
