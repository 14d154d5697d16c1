"""What ran and who did what: ``history``, ``dashboard`` and ``audit``. They only read: they never
create the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click

from fund_common.i18n import gettext as _
from fund_common.texttable import format_table as plain_table
from fund_scheduler.cli.context import Cli
from fund_scheduler.cli.job_commands import complete_job
from fund_scheduler.cli.output import (
    fmt_time,
    format_table,
    json_language,
    print_json,
    state_word,
    status_word,
)
from fund_scheduler.errors import UnknownJobError
from fund_scheduler.store.audit import ACTIONS
from fund_scheduler.store.history import STATUSES

__all__ = ["COMMANDS"]

pass_cli = click.make_pass_decorator(Cli)
RUN_DAYS = 7


@click.command(epilog="Exit status: 0; 2 an unknown job or status, or a limit below 1.")
@click.option("--job", help="Only this job's runs.", shell_complete=complete_job)
@click.option("--status", type=click.Choice(STATUSES), help="Only runs that ended so.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many rows."
)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (with their output tail).")
@pass_cli
def history(cli: Cli, job: str | None, status: str | None, limit: int, as_json: bool) -> int:
    """Recent executions, newest first: id, job, trigger, status, the business date it was for,
    start, duration, who asked for it (a manual run, a backfill), error. ``--json`` carries every
    column, the run's parameters too."""
    from fund_scheduler.store import history as runs

    if job:
        known = cli.registry(strict=False).specs
        if job not in known and cli.read_history(lambda engine: runs.newest_row(engine, job), None) is None:
            raise UnknownJobError(job, list(known))  # neither defined nor ever run
    rows = cli.read_history(lambda engine: runs.recent(engine, job_id=job, status=status, limit=limit), [])
    if as_json:
        print_json(rows)
        return 0
    table = [
        [
            r["id"],
            r["job_id"],
            r["trigger"] + (f" #{r['attempt']}" if (r.get("attempt") or 1) > 1 else ""),
            status_word(r["status"]),
            str(r.get("run_date") or "-"),
            fmt_time(r["started_at"]),
            f"{r['duration']:.1f}s" if r["duration"] is not None else "-",
            r.get("requested_by") or "-",
            (r["error"] or "").splitlines()[0][:60] if r["error"] else "",
        ]
        for r in rows
    ]
    headers = [
        _("ID"),
        _("JOB"),
        _("TRIGGER"),
        _("STATUS"),
        _("FOR"),
        _("STARTED (UTC)"),
        _("DURATION"),
        _("BY"),
        _("ERROR"),
    ]
    print(format_table(table, headers))
    return 0


def runs_panel(cli: Cli, now: datetime) -> dict[str, Any]:
    """The scheduler's own panel: per job, the runs started in the last 7 days (``runs`` counts
    every row, ``running`` ones included) and the success rate of the finished ones."""
    from fund_scheduler.store import history as runs

    since = now - timedelta(days=RUN_DAYS)
    counts = cli.read_history(lambda engine: runs.counts_since(engine, since, until=now), None)
    stats = runs.run_stats(counts or {})
    total: dict[str, int] = {}
    for job in stats.values():
        for status, n in job["by_status"].items():
            total[status] = total.get(status, 0) + n

    def shown(job: dict[str, Any]) -> dict[str, Any]:
        return {
            "runs": job["runs"] + job["running"],
            "success": job["success"],
            "failed": job["failed"],
            "running": job["running"],
            "by_status": job["by_status"],
            "success_rate": job["rate"],
        }

    data = {
        "days": RUN_DAYS,
        "available": counts is not None,
        "since": since.isoformat(),
        "jobs": [{"job_id": job_id, **shown(job)} for job_id, job in stats.items()],
        "total": shown(runs.run_stats({"*": total})["*"])
        if total
        else {"runs": 0, "success": 0, "failed": 0, "running": 0, "by_status": {}, "success_rate": None},
    }
    return {"title": "runs", "ok": True, "data": data, "text": _runs_text(data)}


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f} %"


def _runs_text(data: dict[str, Any]) -> str:
    days = data["days"]
    if not data["available"]:
        return _("Jobs, last {days} days: no run history available").format(days=days) + "\n"
    total = data["total"]
    lines = [
        _("Jobs, last {days} days: {runs} runs, {rate} success").format(
            days=days, runs=total["runs"], rate=_rate(total["success_rate"])
        )
    ]
    if data["jobs"]:
        rows = []
        for j in data["jobs"]:
            bad = ", ".join(
                f"{status_word(s)} {n}" for s, n in j["by_status"].items() if s not in ("success", "running")
            )
            rows.append(
                (
                    j["job_id"],
                    j["runs"],
                    j["success"],
                    j["failed"],
                    j["running"],
                    _rate(j["success_rate"]),
                    bad or "-",
                )
            )
        headers = (_("job"), _("runs"), _("success"), _("failed"), _("running"), _("rate"), _("not ok"))
        lines.append(plain_table(rows, headers, right=(1, 2, 3, 4, 5), indent="  ", rule=False, max_cell=60))
    return "\n".join(lines) + "\n"


@click.command(epilog="Exit status: 0.")
@click.option("--json", "as_json", is_flag=True, help="Print the panels as JSON.")
@pass_cli
def dashboard(cli: Cli, as_json: bool) -> int:
    """The operator's panel: the daemon's state, the panels the job packages contribute (the fund
    data's freshness, the last 24 h of updates) and each job's runs of the last 7 days."""
    from fund_scheduler.daemon.pidfile import RUNNING, probe
    from fund_scheduler.jobs.panels import run_panels

    with json_language(as_json):
        registry = cli.registry(strict=False)
        state = probe(cli.settings.pid_file)
        engine = cli.existing_engine()
        try:
            panels = run_panels(registry.panels, engine, cli.settings.environ) if engine is not None else []
        finally:
            if engine is not None:
                engine.dispose()
        panels.append(runs_panel(cli, datetime.now(UTC)))
    report: dict[str, Any] = {"daemon": {"state": state.state, "pid": state.pid}, "panels": panels}
    if as_json:
        print_json(report)
        return 0
    if state.state == RUNNING:
        words = _("running, PID {pid}").format(pid=state.pid)
    else:
        words = state_word(state.state) if state.state != "stale" else _("dead (stale PID file)")
    print(_("scheduler: {state}").format(state=words))
    if engine is None:
        print(_("database: none yet at {url} (nothing has run)").format(url=cli.settings.masked_database_url))
    for panel in panels:
        title = _("runs") if panel["title"] == "runs" else panel["title"]
        print(f"\n== {title} ==")
        print(panel["text"].rstrip())
    return 0


@click.command(epilog="Exit status: 0; 2 a bad option.")
@click.option("--job", help="Only actions on this job (or execution / backfill id).")
@click.option("--action", type=click.Choice(ACTIONS), help="Only this action.")
@click.option("--by", "actor", metavar="WHO", help="Only this actor: token:<name> or unix:<user>.")
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD", help="From this day (UTC)."
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many rows."
)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (with before and after).")
@pass_cli
def audit(
    cli: Cli,
    job: str | None,
    action: str | None,
    actor: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
) -> int:
    """Who did what, newest first: when, who (an API token's name, the Unix user of a socket
    peer), through what and from where, the action (run, backfill, cancel, pause, resume, job
    changes, reload), its target, the outcome (ok, or why it was refused) and what it changed.
    Read from the database: no daemon needed."""
    from fund_scheduler.store import audit as trail

    def query(engine: Any) -> list[dict[str, Any]]:
        if not trail.exists(engine):
            return []
        start = since.replace(tzinfo=UTC) if since else None
        return trail.recent(engine, limit=limit, actor=actor, action=action, target=job, since=start)

    rows = cli.read_history(query, [])
    if as_json:
        print_json(rows)
        return 0
    table = [
        [
            fmt_time(r["at"]),
            r["actor"],
            f"{r['via']} {r['origin'] or ''}".strip(),
            r["action"],
            r["target"] or "-",
            (r["outcome"] or "")[:60],
            _change(r["before"], r["after"])[:70],
        ]
        for r in rows
    ]
    headers = [_("AT (UTC)"), _("WHO"), _("VIA"), _("ACTION"), _("TARGET"), _("OUTCOME"), _("CHANGE")]
    print(format_table(table, headers))
    return 0


def _change(before: Any, after: Any) -> str:
    """``paused: false → true``-style words for the keys that differ (or the after state)."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in after if before.get(k) != after.get(k)]
        return ", ".join(f"{k}: {before.get(k)} → {after[k]}" for k in keys)
    if isinstance(after, dict):
        return ", ".join(f"{k}={v}" for k, v in after.items())
    return ""


COMMANDS = [history, dashboard, audit]
