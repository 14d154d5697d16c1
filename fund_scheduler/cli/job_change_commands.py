"""Job changes at runtime: ``job add|set|remove``, through the running daemon, stored in the
database on top of the code and ``jobs.toml`` (see :meth:`Daemon.change_job`)."""

from __future__ import annotations

import tomllib
from typing import Any

import click

from fund_scheduler.cli.backfill_commands import _need_daemon
from fund_scheduler.cli.context import Cli
from fund_scheduler.cli.job_commands import complete_job
from fund_scheduler.errors import ConfigError

__all__ = ["COMMANDS", "parse_fields"]

pass_cli = click.make_pass_decorator(Cli)
EPILOG = (
    "Exit status: 0 changed; 1 the job exists (add) or the database is away; 2 unknown job or a "
    "change refused (named); 3 the daemon is not running."
)


def parse_fields(assignments: tuple[str, ...]) -> dict[str, Any]:
    """``name=value`` pairs as jobs.toml would read them (``timeout=600``, ``enabled=false``,
    ``command=["/usr/bin/backup", "--all"]``); a value TOML cannot read is a string
    (``cron=15 4 * * *``); ``name=`` (nothing) drops that field's change."""
    fields: dict[str, Any] = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{item!r} is not NAME=VALUE (a jobs.toml field)")
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
    seen by a standby that takes over). Field names are those of jobs.toml."""


@job_group.command(name="add", epilog=EPILOG)
@click.argument("job")
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE...")
@pass_cli
def add(cli: Cli, job: str, assignments: tuple[str, ...]) -> int:
    """Create command job JOB: `job add backup 'cron=0 3 * * *' 'command=["/usr/local/bin/backup"]'`."""
    fields = parse_fields(assignments)
    _need_daemon(cli, f"add job {job}")
    cli.ask_daemon({"cmd": "job-add", "job": job, "fields": fields})
    print(f"job {job} added: {_words(fields)}")
    return 0


@job_group.command(name="set", epilog=EPILOG)
@click.argument("job", shell_complete=complete_job)
@click.argument("assignments", nargs=-1, metavar="NAME=VALUE...")
@click.option("--reset", is_flag=True, help="Drop every runtime change of JOB (a removed job comes back).")
@pass_cli
def set_(cli: Cli, job: str, assignments: tuple[str, ...], reset: bool) -> int:
    """Change JOB's fields: `job set daily_collection 'cron=15 4 * * *' timeout=900 retries=2`."""
    if not assignments and not reset:
        raise click.UsageError("give NAME=VALUE pairs, or --reset")
    fields = parse_fields(assignments)
    _need_daemon(cli, f"change job {job}")
    answer = cli.ask_daemon({"cmd": "job-set", "job": job, "fields": fields, "reset": reset})
    print(f"job {job}: runtime changes reset" if reset else f"job {job} changed: {_words(answer['fields'])}")
    return 0


@job_group.command(name="remove", epilog=EPILOG)
@click.argument("job", shell_complete=complete_job)
@pass_cli
def remove(cli: Cli, job: str) -> int:
    """Delete JOB (one of the code or jobs.toml stays removed until `job set JOB --reset`)."""
    _need_daemon(cli, f"remove job {job}")
    cli.ask_daemon({"cmd": "job-remove", "job": job})
    print(f"job {job} removed")
    return 0


def _words(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in fields.items()) or "no field changed"


COMMANDS = [job_group]
