"""The command line: ``fund-scheduler COMMAND`` (also ``python -m fund_scheduler`` and, from a
checkout, ``python scheduler_daemon.py``; the shell scripts are thin wrappers).

Exit statuses: 0 success; 1 failure (a job failed, the daemon did not become ready, the database is
unreachable or refuses: one line naming it, password masked); 2 invalid
configuration, options or job; 3 daemon not running (pause, resume; status follows LSB: 0
running, 1 dead with a PID file left, 3 not running); 130 interrupted. Every error is one
"error: ..." line on stderr, never a traceback; a reader that goes away (| head) ends the
output quietly.

Shell completion (bash; zsh and fish alike with ``zsh_source`` / ``fish_source``)::

    eval "$(_FUND_SCHEDULER_COMPLETE=bash_source fund-scheduler)"
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

import click

from fund_common.i18n import gettext as _
from fund_scheduler.cli.context import Cli
from fund_scheduler.cli.help_text import TranslatedHelp, translated
from fund_scheduler.cli.output import error
from fund_scheduler.errors import SchedulerError

__all__ = ["COMMAND_MODULES", "cli", "main"]

COMPLETE_VAR = "_FUND_SCHEDULER_COMPLETE"  # the same for fund-scheduler and scheduler_daemon.py
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Each command's module (``fund_scheduler.cli.<module>``, its ``COMMANDS``), in the help's
#: order. A command's module is imported when the command runs, and only then: ``status`` never
#: imports what ``history`` needs.
COMMAND_MODULES = {
    "run": "daemon_commands",
    "start": "daemon_commands",
    "stop": "daemon_commands",
    "reload": "daemon_commands",
    "status": "daemon_commands",
    "jobs": "job_commands",
    "next": "job_commands",
    "run-job": "job_commands",
    "pause": "job_commands",
    "resume": "job_commands",
    "forget-job": "job_commands",
    "exec": "job_commands",
    "fork-server": "job_commands",
    "job": "job_change_commands",
    "backfill": "backfill_commands",
    "backfills": "backfill_commands",
    "cancel": "backfill_commands",
    "history": "report_commands",
    "dashboard": "report_commands",
    "audit": "report_commands",
    "logs": "log_commands",
    "check-config": "admin_commands",
    "install-service": "admin_commands",
    "db": "admin_commands",
    "calendars": "calendar_commands",
    "worker": "worker_commands",
}


class _LazyGroup(TranslatedHelp, click.Group):
    """The commands of :data:`COMMAND_MODULES`, each module imported on first use; every command's
    ``--help`` speaks the language in effect (:mod:`fund_scheduler.cli.help_text`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"fund_scheduler.cli.{module_name}")
        for command in module.COMMANDS:
            if command.name == cmd_name:
                return translated(command)
        raise LookupError(f"fund_scheduler.cli.{module_name} has no command {cmd_name!r} in COMMANDS")


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from fund_scheduler.version import version

        click.echo(f"fund-scheduler {version()}")
        ctx.exit()


@click.group(
    cls=_LazyGroup, context_settings=CONTEXT, epilog=(__doc__ or "").split("\n\n")[1].replace("\n", " ")
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version and exit.",
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """fund-scheduler: a job-scheduler daemon running the fund-data pipeline and any command.

    Settings come from the environment and .env (see `check-config`); the daemon's own log is
    logs/scheduler.log.
    """
    ctx.obj = Cli()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (see the module docstring)."""
    try:
        try:
            result = cli.main(
                args=list(argv) if argv is not None else None,
                prog_name=_prog(),
                complete_var=COMPLETE_VAR,
                standalone_mode=False,
            )
        except click.exceptions.Exit as exc:
            return exc.exit_code
        except click.exceptions.NoArgsIsHelpError as exc:  # no command: the help, as usage
            click.echo(exc.format_message(), err=True)
            return exc.exit_code
        except click.UsageError as exc:
            error(_usage_line(exc))
            return exc.exit_code
        except click.ClickException as exc:
            error(exc.format_message())
            return exc.exit_code
        except click.Abort:
            return 130
        except SchedulerError as exc:  # shown in the language in effect (str(exc) stays English)
            for line in exc.shown().splitlines() or [type(exc).__name__]:
                error(line)
            return exc.exit_code
        except KeyboardInterrupt:
            return 130
        except Exception as exc:
            from fund_scheduler.store.engine import describe_error, is_database_error

            if not is_database_error(exc):
                raise
            error(
                _("database {url} unavailable: {reason}").format(
                    url=_masked_database_url(), reason=describe_error(exc)
                )
            )
            return 1
        sys.stdout.flush()
        return result if isinstance(result, int) else 0
    except BrokenPipeError:
        # The reader went away (``status | head``): no traceback; silence the final flush too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _masked_database_url() -> str:
    """The configured database, password masked (``?`` when the settings cannot be read)."""
    try:
        from fund_scheduler.settings import Settings

        return Settings.from_env().masked_database_url
    except Exception:  # noqa: BLE001 - only for an error line
        return "?"


def _prog() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "fund-scheduler"
    return "fund-scheduler" if name in ("__main__.py", "-c", "") else name


def _usage_line(exc: click.UsageError) -> str:
    command = exc.ctx.command_path if exc.ctx is not None else "fund-scheduler"
    message = exc.format_message().rstrip(".")
    message = message[0].lower() + message[1:] if message else message
    return _("{command}: {message} (see --help)").format(command=command, message=message)
