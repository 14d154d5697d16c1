"""``worker -Q QUEUES [-c N] [-n NAME]``: take remote runs (``executor = "celery"``) from the
broker and run them on this host."""

from __future__ import annotations

import os
import re

import click

from fund_common.i18n import gettext as _
from fund_scheduler.cli.context import Cli
from fund_scheduler.errors import ConfigError
from fund_scheduler.settings import QUEUE_NAME

__all__ = ["COMMANDS"]

pass_cli = click.make_pass_decorator(Cli)
#: A worker's name: Celery's node name, ``name@host`` (``%h``: this host's name).
WORKER_NAME = re.compile(r"^[A-Za-z0-9_.%-]{1,64}(@[A-Za-z0-9_.%-]{1,128})?$")


@click.command(
    epilog="Exit status: 0 stopped (SIGTERM or SIGINT: the runs going finish first); 1 the worker "
    "failed; 2 a bad option or setting (no SCHEDULER_BROKER_URL, a database not migrated)."
)
@click.option(
    "-Q", "--queues", required=True, metavar="QUEUES", help="Comma-separated queues to take runs from."
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    metavar="N",
    help="Runs at once (default: the number of CPUs).",
)
@click.option(
    "-n",
    "--name",
    default="fund@%h",
    show_default=True,
    metavar="NAME",
    help="The worker's name (%h: this host).",
)
@pass_cli
def worker(cli: Cli, queues: str, concurrency: int | None, name: str) -> int:
    """Run a worker on this host: take the runs of QUEUES from the broker (SCHEDULER_BROKER_URL)
    and run each as a child process in its own process group, as the daemon runs local jobs (its
    timeout, its log in logs/jobs/ here). It needs the daemon's database, job packages and
    jobs.toml. Each run's history row names the worker; `status` and the page list the workers."""
    from fund_scheduler import logsetup
    from fund_scheduler.store import workers
    from fund_scheduler.workers.worker import node_name, run_worker

    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    bad = [q for q in wanted if not QUEUE_NAME.fullmatch(q)]
    if not wanted or bad:
        raise click.BadParameter(
            _("{value!r} is not a queue name (letters, digits, _ . -)").format(value=(bad or [queues])[0]),
            param_hint="-Q/--queues",
        )
    if not WORKER_NAME.fullmatch(name):
        raise click.BadParameter(
            _("{value!r} is not a worker name such as cpu1@%h").format(value=name), param_hint="-n/--name"
        )
    settings = cli.settings
    if not settings.remote.broker_url:
        raise ConfigError(_("a worker needs SCHEDULER_BROKER_URL (the broker the daemon sends runs to)"))
    registry = cli.registry(strict=False)
    engine = cli.existing_engine()
    if engine is None or not workers.exists(engine):
        raise ConfigError(
            _("the database is not ready for workers: start the daemon or run `db upgrade` first")
        )
    engine.dispose()
    node = node_name(name)
    safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", node)
    logsetup.configure(settings, console=True, log_file=settings.log_dir / f"worker-{safe}.log")
    for line in registry.broken_lines():
        click.echo(f"warning: {line}", err=True)
    if settings.database_url.get_backend_name() == "sqlite":
        click.echo(
            "warning: "
            + _("DATABASE_URL is SQLite: only workers on this host share it; other hosts need the MariaDB")
            + f" ({settings.masked_database_url})",
            err=True,
        )
    return run_worker(
        settings, registry, queues=wanted, concurrency=concurrency or os.cpu_count() or 1, name=name
    )


COMMANDS = [worker]
