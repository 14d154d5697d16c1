"""``logs EXECUTION_ID``: print one run's whole log (``logs/jobs/<job>/<execution>.log``), or
follow it while the run goes. Reads the history and the file directly: no daemon needed."""

from __future__ import annotations

import os
import sys
import time

import click

from fund_common.i18n import gettext as _
from fund_scheduler.cli.context import Cli
from fund_scheduler.errors import SchedulerError

__all__ = ["COMMANDS", "FOLLOW_POLL_SECONDS"]

pass_cli = click.make_pass_decorator(Cli)
#: How often ``--follow`` looks at the file and the row (a file's growth sends no event).
FOLLOW_POLL_SECONDS = 0.5
BLOCK = 64 * 1024


class LogUnavailable(SchedulerError):
    """No log to print (unknown execution, never ran, deleted by retention): exit status 1."""

    exit_code = 1


@click.command(
    epilog="Exit status: 0; 1 an unknown execution or one without a log (never ran, deleted by "
    "retention); 2 a bad option."
)
@click.argument("execution_id", type=click.IntRange(min=1), metavar="EXECUTION_ID")
@click.option("-f", "--follow", is_flag=True, help="Keep printing while the run is running.")
@click.option("--tail", "lines", type=click.IntRange(min=1), help="Only the last N lines.", metavar="N")
@click.option("--bytes", "size", type=click.IntRange(min=1), help="Only the last N bytes.", metavar="N")
@pass_cli
def logs(cli: Cli, execution_id: int, follow: bool, lines: int | None, size: int | None) -> int:
    """Print the log of one execution (its id as `history` shows it): the header line, then all
    the run printed (an in-thread run: the records it logged). Control characters but lines and
    tabs are shown escaped. `--follow` goes on printing while the run's history row is
    `running` and ends once it is final and everything is printed."""
    from fund_scheduler.run.logview import NoRunLog, locate, log_answer

    if lines is not None and size is not None:
        raise click.UsageError(_("--tail and --bytes exclude each other"))
    settings = cli.settings
    engine = cli.existing_engine()
    if engine is None:
        raise LogUnavailable(_("no execution {id} (no database yet)").format(id=execution_id))
    try:
        retention = settings.history_retention_days
        try:
            run_log = locate(engine, settings.job_log_dir, execution_id, retention)
            offset = _start(run_log.path, lines, size)
            while True:
                answer = log_answer(run_log, offset=offset)
                _write(answer["text"])
                offset = answer["next_offset"]
                if answer["complete"] or not follow:
                    return 0
                time.sleep(FOLLOW_POLL_SECONDS)
                run_log = locate(engine, settings.job_log_dir, execution_id, retention)
        except NoRunLog as exc:
            raise LogUnavailable(str(exc)) from None
    finally:
        engine.dispose()


def _start(path: os.PathLike[str], lines: int | None, size: int | None) -> int:
    """The offset to print from: 0, the start of the last ``lines`` lines or the last ``size`` bytes."""
    try:
        end = os.path.getsize(path)
    except FileNotFoundError:
        return 0
    if size is not None:
        return max(end - size, 0)
    if lines is None:
        return 0
    return _last_lines_start(path, end, lines)


def _last_lines_start(path: os.PathLike[str], end: int, lines: int) -> int:
    """Where the last ``lines`` lines of a file of ``end`` bytes begin (read backwards by blocks)."""
    position, seen = end, 0
    with open(path, "rb") as f:
        while position > 0:
            step = min(BLOCK, position)
            f.seek(position - step)
            block = f.read(step)
            if position == end and block.endswith(b"\n"):
                block = block[:-1]  # the final newline ends the last line, it starts none
                position -= 1
                step -= 1
            index = len(block)
            while True:
                index = block.rfind(b"\n", 0, index)
                if index < 0:
                    break
                seen += 1
                if seen == lines:
                    return position - step + index + 1
            position -= step
    return 0


def _write(text: str) -> None:
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()


COMMANDS = [logs]
