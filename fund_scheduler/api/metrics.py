"""``/metrics``: Prometheus text.

:class:`RunMetrics` counts the executions that finished (or were recorded missed/skipped) since
this daemon process started (``fund_scheduler_runs_total{job,status}``) and the durations of the
ones that ran (``fund_scheduler_run_duration_seconds{job}``): in memory, reset by a restart, as
Prometheus counters are. :class:`DaemonCollector` reads everything else at scrape time from the
daemon's operations: up, loop, role, heartbeat, running executions, database, per job the next
run, paused state and last success, the gauges each dashboard panel declares (so a domain
exports its own numbers, e.g. data freshness, without the scheduler knowing them), and per check
job its state (:func:`check_gauges`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from fund_common.clock import utcnow
from fund_common.runstatus import RAN, UNFINISHED, RunStatus

__all__ = ["DaemonCollector", "RunMetrics", "check_gauges", "panel_gauges", "worker_gauges"]

logger = logging.getLogger("scheduler.http")

DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, float("inf"))


class RunMetrics:
    """Counters and the duration histogram of this daemon process, fed with final history rows."""

    def __init__(self, registry: CollectorRegistry):
        self.runs = Counter(
            "fund_scheduler_runs",
            "Executions finished (or recorded missed/skipped) since the daemon started, by job and status",
            ["job", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "fund_scheduler_run_duration_seconds",
            "Duration of executions that ran (success, failed, timeout, interrupted)",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )

    def prime(self, job_ids: Iterable[str]) -> None:
        """Export zero series for each job's success and failure, so rates exist from the start."""
        for job_id in job_ids:
            for status in (RunStatus.SUCCESS, RunStatus.FAILED):
                self.runs.labels(job_id, status.value)

    def observe(self, row: dict[str, Any]) -> None:
        job_id, status = row.get("job_id"), row.get("status")
        if not job_id or not status or status in UNFINISHED:
            return
        self.runs.labels(job_id, str(status)).inc()
        if status in RAN and row.get("duration") is not None:
            self.duration.labels(job_id).observe(float(row["duration"]))


class DaemonCollector:
    """Gauges read at scrape time from ``ops`` (an :class:`~fund_scheduler.daemon.operations.Operations`)."""

    def __init__(self, ops: Any):
        self.ops = ops

    def describe(self) -> list[Metric]:  # no description at registration: collect() needs a daemon
        return []

    def collect(self) -> Iterator[Metric]:
        ops = self.ops
        yield _gauge("fund_scheduler_up", "1 while the daemon process answers", 1)
        alive, age = ops.loop_state()
        yield _gauge("fund_scheduler_scheduler_running", "1 while the scheduler loop thread runs", int(alive))
        yield _gauge(
            "fund_scheduler_active",
            "1 while this daemon is active (holds the leader lock), 0 on standby",
            int(ops.role == "active"),
        )
        if age is not None:
            yield _gauge(
                "fund_scheduler_heartbeat_age_seconds", "Seconds since the scheduler loop's last pass", age
            )
        yield _gauge("fund_scheduler_running_executions", "Executions running now", ops.running_executions())
        database_ok = ops.check_database()["ok"]
        yield _gauge("fund_scheduler_database_up", "1 when SELECT 1 answers", int(database_ok))
        if not database_ok:
            return  # the job store and the history live in the database
        next_run = GaugeMetricFamily(
            "fund_scheduler_next_run_timestamp_seconds",
            "Next scheduled run per job (Unix time)",
            labels=["job"],
        )
        paused = GaugeMetricFamily("fund_scheduler_job_paused", "1 when the job is paused", labels=["job"])
        for row in ops.jobs():
            if not row["enabled"]:
                continue
            paused.add_metric([row["id"]], 1 if row["paused"] else 0)
            if row["next_run_time"] is not None:
                next_run.add_metric([row["id"]], row["next_run_time"].timestamp())
        yield next_run
        yield paused
        last = GaugeMetricFamily(
            "fund_scheduler_last_success_timestamp_seconds",
            "When each job's newest successful run finished (Unix time)",
            labels=["job"],
        )
        for job_id, when in sorted(ops.last_success().items()):
            last.add_metric([job_id], when.timestamp())
        yield last
        yield from panel_gauges(ops.panels())
        yield from check_gauges(ops.checks(), utcnow())
        yield from worker_gauges(ops.workers())


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def check_gauges(checks: Iterable[dict[str, Any]], now: datetime) -> Iterator[GaugeMetricFamily]:
    """Per check job (a row of ``Operations.checks``; one never checked yet is left out):
    ``fund_scheduler_check_ok{job}`` 1 ok / 0 breach, ``fund_scheduler_check_state_seconds{job}``
    how long the state has held, ``fund_scheduler_check_last_timestamp_seconds{job}`` the last
    check, and ``fund_scheduler_check_value{job,name}`` each number among its last result's
    details."""
    ok = GaugeMetricFamily(
        "fund_scheduler_check_ok", "1 while the check job is ok, 0 in breach", labels=["job"]
    )
    held = GaugeMetricFamily(
        "fund_scheduler_check_state_seconds",
        "Seconds the check job's state (ok or breach) has held",
        labels=["job"],
    )
    last = GaugeMetricFamily(
        "fund_scheduler_check_last_timestamp_seconds",
        "When the check job last checked (Unix time)",
        labels=["job"],
    )
    values = GaugeMetricFamily(
        "fund_scheduler_check_value", "Numbers a check job's last result declares", labels=["job", "name"]
    )
    for row in checks:
        if row["state"] is None:
            continue
        job = row["job_id"]
        ok.add_metric([job], 1 if row["state"] == "ok" else 0)
        held.add_metric([job], max((now - row["since"]).total_seconds(), 0.0))
        last.add_metric([job], row["checked_at"].timestamp())
        for name, value in sorted(row["details"].items()):
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                values.add_metric([job, name], float(value))
    yield from (ok, held, last, values)


#: Per worker and per queue of ``Operations.workers``: (name, help, its value; None: not exported).
_WORKER_GAUGES: tuple[tuple[str, str, Callable[[dict[str, Any]], float | None]], ...] = (
    ("fund_scheduler_worker_up", "1 while the worker heartbeats within its lease", lambda w: int(w["alive"])),
    (
        "fund_scheduler_worker_heartbeat_age_seconds",
        "Seconds since the worker's last heartbeat",
        lambda w: w["heartbeat_age_seconds"],
    ),
    ("fund_scheduler_worker_running_runs", "Runs the worker holds now", lambda w: w["running"]),
)
_QUEUE_GAUGES: tuple[tuple[str, str, Callable[[dict[str, Any]], float | None]], ...] = (
    ("fund_scheduler_queue_depth", "Messages waiting at the broker per queue", lambda q: q.get("at_broker")),
    ("fund_scheduler_queue_queued_runs", "Runs queued (no worker took them yet)", lambda q: q["queued"]),
    ("fund_scheduler_queue_running_runs", "Runs of the queue running on workers", lambda q: q["running"]),
    ("fund_scheduler_queue_workers", "Live workers consuming the queue", lambda q: len(q["workers"])),
)


def worker_gauges(remote: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    """Per worker: up, last heartbeat's age, runs held; per queue: messages waiting at the broker
    (when it says), rows queued and running, live workers consuming it. Nothing without workers."""
    if not remote.get("workers") and not remote.get("queues"):
        return
    for label, key, gauges in (("worker", "workers", _WORKER_GAUGES), ("queue", "queues", _QUEUE_GAUGES)):
        for name, documentation, value_of in gauges:
            family = GaugeMetricFamily(name, documentation, labels=[label])
            for item in remote.get(key) or []:
                value = value_of(item)
                if value is not None:
                    family.add_metric([item["name"]], value)
            yield family


def panel_gauges(panels: Iterable[dict[str, Any]]) -> Iterator[GaugeMetricFamily]:
    """The gauges the panels declare: ``{"name", "help", "labels", "samples": [[labels, value]]}``.

    A malformed declaration is logged and skipped; it never breaks the scrape.
    """
    seen: set[str] = set()
    for panel in panels:
        for gauge in panel.get("gauges") or []:
            try:
                name = str(gauge["name"])
                if name in seen:
                    continue
                family = GaugeMetricFamily(
                    name, str(gauge.get("help", name)), labels=list(gauge.get("labels", []))
                )
                for labels, value in gauge.get("samples", []):
                    if value is not None:
                        family.add_metric([str(v) for v in labels], float(value))
            except (KeyError, TypeError, ValueError) as exc:
                logger.warning("panel %s: gauge %r not exported: %s", panel.get("name"), gauge, exc)
                continue
            seen.add(name)
            yield family
