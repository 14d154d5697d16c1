"""Setting up: ``check-config``, ``install-service``, ``db upgrade`` / ``db current``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from fund_common.i18n import gettext as _
from fund_scheduler.cli.context import Cli
from fund_scheduler.cli.output import error, warning
from fund_scheduler.errors import ConfigError, SchedulerError

__all__ = ["COMMANDS"]

pass_cli = click.make_pass_decorator(Cli)


def _with_runtime_changes(cli: Cli, registry: Any) -> Any:
    """``registry`` with the runtime job changes of the existing database on top (as is when
    there is none, or it cannot be read: said on stderr)."""
    from fund_scheduler.jobs.registry import apply_changes
    from fund_scheduler.store import job_changes

    engine = cli.existing_engine()
    if engine is None:
        return registry
    try:
        return apply_changes(registry, job_changes.read_all(engine), cli.settings.timezone)
    except Exception as exc:  # noqa: BLE001 - the file's configuration is still worth showing
        warning(
            _("runtime job changes not read: {reason}").format(reason=f"{type(exc).__name__}: {exc}"),
            err=True,
        )
        return registry
    finally:
        engine.dispose()


@click.command(name="check-config", epilog="Exit status: 0 valid; 2 with one line per problem.")
@pass_cli
def check_config(cli: Cli) -> int:
    """Load the settings, every job spec, every jobs.toml override and the runtime job changes of
    an existing database (read only), print them with where each value comes from (secrets
    masked) and run nothing. A job's calendar must be one exchange_calendars knows or the operator
    calendar file declares."""
    from fund_scheduler.cli.calendar_book import calendar_config_problems
    from fund_scheduler.jobs.triggers import describe

    settings = cli.settings
    registry = _with_runtime_changes(cli, cli.registry(strict=False))
    print(_("settings:"))
    for key, value in settings.describe().items():
        print(f"  {key} = {value}")
    jobs_line = (
        _("jobs ({n}), overrides from {path}:")
        if settings.jobs_config.is_file()
        else _("jobs ({n}), overrides from {path} (file absent: no overrides):")
    )
    print(jobs_line.format(n=len(registry.specs), path=settings.jobs_config))
    for spec in registry.specs.values():
        try:
            when = describe(spec.trigger(settings.timezone))
        except (ValueError, ConfigError) as exc:
            when = _("invalid: {reason}").format(reason=exc)
        parts = [
            when,
            _("enabled") if spec.enabled else _("disabled ({reason})").format(reason=spec.why_disabled),
            _("timeout {seconds}").format(seconds=spec.timeout or _("none")),
            _("runs {target}").format(target=spec.target),
        ]
        if spec.overridden:
            parts.append(_("overridden: {fields}").format(fields=", ".join(spec.overridden)))
        if spec.changed:
            parts.append(
                _("runtime change by {who}: {fields}").format(
                    who=spec.changed_by, fields=", ".join(spec.changed)
                )
            )
        print(f"  {spec.id}: " + _("; ").join(parts))
    calendar_problems = calendar_config_problems(cli, registry) + _token_problems(settings)
    if settings.alerts.urls:  # whether apprise understands each ALERT_URLS entry (loads apprise)
        from fund_scheduler.alerts.channels import apprise_url_problems

        calendar_problems += apprise_url_problems(settings.alerts.urls)
    if registry.problems or registry.broken or calendar_problems:
        for problem in registry.problems + calendar_problems:
            error(problem)
        for line in registry.broken_lines():
            error(_("{problem} (the daemon would run the other jobs)").format(problem=line))
        return 2
    held_by = cli.check_http_port()
    if held_by is not None:
        print(_("http port: held by the running scheduler (PID {pid})").format(pid=held_by))
    print(_("configuration OK"))
    return 0


def _token_problems(settings) -> list[str]:
    """Print the HTTP API's tokens (names and roles, never the tokens); the tokens file's problem."""
    from fund_scheduler.api.tokens import TokenBook

    try:
        book = TokenBook.of(settings.api_token, settings.api_tokens_file)
    except ConfigError as exc:
        return [str(exc)]
    named = ", ".join(f"{t.name} ({t.role})" for t in book.tokens) or _("none: HTTP writes disabled")
    print(_("api tokens: {tokens}").format(tokens=named))
    return []


@click.command(
    name="install-service",
    epilog="Exit status: 0 written, unchanged or printed; 1 a different file exists (without --force) or "
    "the target is not writable; 2 invalid settings or options.",
)
@click.option("--user", "user_unit", is_flag=True, help="A systemd --user unit (~/.config/systemd/user).")
@click.option("--print", "print_only", is_flag=True, help="Write to stdout only; install nothing.")
@click.option("--supervisor", is_flag=True, help="A supervisor [program:] section instead.")
@click.option("--cron", is_flag=True, help="The @reboot crontab line instead (printed only).")
@click.option("--force", is_flag=True, help="Replace an existing, different file.")
@click.option("--output", type=click.Path(path_type=Path), help="Write here instead of the default location.")
@click.option("--run-as", metavar="USER", help="User= of a system unit (default: you, or the sudo caller).")
@click.option("--worker", is_flag=True, help="A worker's systemd unit (fund-scheduler-worker) instead.")
@click.option("-Q", "--queues", metavar="QUEUES", help="With --worker: the queues it takes (required).")
@click.option(
    "-c", "--concurrency", type=click.IntRange(min=1), metavar="N", help="With --worker: runs at once."
)
@click.option("-n", "--name", "worker_name", metavar="NAME", help="With --worker: its name (cpu1@%h).")
@pass_cli
def install_service(
    cli: Cli,
    user_unit: bool,
    print_only: bool,
    supervisor: bool,
    cron: bool,
    force: bool,
    output: Path | None,
    run_as: str | None,
    worker: bool,
    queues: str | None,
    concurrency: int | None,
    worker_name: str | None,
) -> int:
    """Render the systemd unit (or a supervisor section, or the @reboot crontab line) with this
    installation's absolute paths and write it, never over a different file without --force.
    With --worker: a worker's unit (`worker -Q QUEUES`, KillMode=control-group)."""
    from fund_scheduler import install

    if supervisor and cron:
        raise ConfigError(_("install-service: give at most one of --supervisor and --cron"))
    if worker and (supervisor or cron):
        raise ConfigError(_("install-service --worker renders a systemd unit only"))
    if worker and not queues:
        raise ConfigError(_("install-service --worker needs -Q QUEUES"))
    if not worker and (queues or concurrency or worker_name):
        raise ConfigError(_("install-service: -Q, -c and -n go with --worker"))
    user, group = run_as, None
    if user is None:
        user, group = install.default_user()
    project_dir = install.default_project_dir(cli.settings.home)
    ctx = install.ServiceContext(
        project_dir=project_dir,
        python=install.default_python(project_dir),
        stop_timeout=cli.settings.stop_timeout,
        user=user,
        group=group,
    )
    if cron:
        sys.stdout.write(install.render_cron(ctx))
        if not print_only:
            print(_("add this line with `crontab -e` as the user who runs the daemon"), file=sys.stderr)
        return 0
    if supervisor:
        text = install.render_supervisor(ctx)
        target = output or install.supervisor_conf_path()
        next_steps = "supervisorctl reread && supervisorctl update"
    elif worker:
        assert queues is not None
        options = install.WorkerOptions(queues, concurrency, worker_name)
        text = install.render_worker_systemd(ctx, options, user_unit=user_unit)
        target = output or install.systemd_unit_path(user_unit, name=install.WORKER_SERVICE_NAME)
        ctl = "systemctl --user" if user_unit else "systemctl"
        next_steps = f"{ctl} daemon-reload && {ctl} enable --now {install.WORKER_SERVICE_NAME}"
    else:
        text = install.render_systemd(ctx, user_unit=user_unit)
        target = output or install.systemd_unit_path(user_unit)
        ctl = "systemctl --user" if user_unit else "systemctl"
        next_steps = f"{ctl} daemon-reload && {ctl} enable --now {install.SERVICE_NAME}"
    if print_only:
        sys.stdout.write(text)
        return 0
    try:
        written = install.install_file(target, text, force=force)
    except PermissionError as exc:
        error(
            _("cannot write {path}: {reason} (run as root, or use --user)").format(
                path=target, reason=exc.strerror
            )
        )
        return 1
    print((_("wrote: {path}") if written else _("unchanged: {path}")).format(path=target))
    print(_("next: {steps}").format(steps=next_steps))
    return 0


@click.group(epilog="Exit status: 0; 2 migrations turned off (SCHEDULER_MIGRATIONS=none).")
def db() -> None:
    """Schema migrations (Alembic): the job store, the run history and the fund tables."""


@db.command(epilog="Exit status: 0; 1 the database refused; 2 migrations turned off.")
@click.option("--revision", default="head", show_default=True, help="Upgrade to this revision.")
@pass_cli
def upgrade(cli: Cli, revision: str) -> int:
    """Apply the migrations (the daemon also does at every start; a database created by an earlier
    version is stamped first)."""
    func = _runner(cli, "upgrade")
    engine = cli.engine()
    try:
        revision_now = func(engine, revision)
        print(
            _("database {url} at revision {revision}").format(
                url=cli.settings.masked_database_url, revision=revision_now
            )
        )
    finally:
        engine.dispose()
    return 0


@db.command(epilog="Exit status: 0; 2 migrations turned off.")
@pass_cli
def current(cli: Cli) -> int:
    """Print the database's revision (none when no database exists yet; nothing is created)."""
    func = _runner(cli, "current")
    engine = cli.existing_engine()
    if engine is None:
        print(_("none (no database yet)"))
        return 0
    try:
        print(func(engine) or _("none (no migration applied)"))
    finally:
        engine.dispose()
    return 0


@db.command(epilog="Exit status: 0; 1 no database, or the database refused.")
@pass_cli
def vacuum(cli: Cli) -> int:
    """Give the space freed by deleted rows (an old history purged) back to the file system: on
    SQLite the file is rebuilt (jobs that write wait meanwhile); a server database needs nothing."""
    from fund_scheduler.store.engine import vacuum as vacuum_database

    engine = cli.existing_engine()
    if engine is None:
        raise SchedulerError(_("no database at {url}").format(url=cli.settings.masked_database_url))
    try:
        sizes = vacuum_database(engine)
    finally:
        engine.dispose()
    if sizes is None:
        print(
            _("database {url}: a server database reuses freed space itself").format(
                url=cli.settings.masked_database_url
            )
        )
        return 0
    before, after = sizes
    print(
        _("database {url}: {before} MiB -> {after} MiB").format(
            url=cli.settings.masked_database_url, before=f"{before / 2**20:.1f}", after=f"{after / 2**20:.1f}"
        )
    )
    return 0


def _runner(cli: Cli, name: str):
    func = cli.migrations(name)
    if func is None:
        raise ConfigError(_("SCHEDULER_MIGRATIONS=none: schema migrations are turned off"))
    return func


COMMANDS = [check_config, install_service, db]
