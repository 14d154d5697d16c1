"""The Celery app both sides share: the leader sends with it, the workers consume with it.

Only an execution id travels, JSON-serialised (never a pickle); the database says what to run.
Each setting below avoids a known trap of running long jobs on Celery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fund_scheduler.jobs.registry import Registry
from fund_scheduler.run.runner import HARD_LIMIT_MARGIN
from fund_scheduler.settings import Settings

__all__ = ["TASK_NAME", "CeleryPublisher", "make_app", "visibility_timeout"]

logger = logging.getLogger("scheduler.remote")

#: The one task: run the execution whose id the message carries.
TASK_NAME = "fund_scheduler.run_execution"
#: The shortest Redis visibility timeout used (a day): see :func:`visibility_timeout`.
MIN_VISIBILITY_TIMEOUT = 86400.0


def visibility_timeout(settings: Settings, specs: Iterable[Any]) -> float:
    """How long Redis waits for a message's acknowledgement before delivering it again:
    SCHEDULER_BROKER_VISIBILITY_TIMEOUT, else the longest remote job timeout plus the hard-limit
    margin and an hour, and never under a day. Below a running task's duration Redis would hand
    the same message to a second worker (celery #5935, #3430); the database's claim drops such a
    redelivery anyway, this keeps it from happening."""
    if settings.remote.visibility_timeout:
        return settings.remote.visibility_timeout
    default = settings.remote.default_executor
    timeouts = [s.timeout for s in specs if s.executor_in(default) == "celery" and s.timeout]
    return max(MIN_VISIBILITY_TIMEOUT, max(timeouts, default=0.0) + HARD_LIMIT_MARGIN + 3600.0)


def make_app(settings: Settings, registry: Registry) -> Any:
    """The Celery app for SCHEDULER_BROKER_URL (celery is imported here, only where used)."""
    from celery import Celery

    assert settings.remote.broker_url, "SCHEDULER_BROKER_URL is unset"
    app = Celery("fund_scheduler", broker=settings.remote.broker_url, set_as_current=False)
    app.conf.update(
        # Only JSON in and out: a message is an execution id, never a pickle.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        # No result backend: the history row is the result.
        task_ignore_result=True,
        result_backend=None,
        # Late acknowledgement: a message is acknowledged after its run, so a worker that dies
        # mid-run leaves it to be delivered again (the claim then drops it, the row is the truth).
        task_acks_late=True,
        # Reject (requeue) the message of a run whose pool process was killed (OOM, kill -9)
        # instead of acknowledging it as done.
        task_reject_on_worker_lost=True,
        # Prefetch 1: a worker reserves no message it cannot start; a six-hour run never sits
        # on a message another idle worker could take.
        worker_prefetch_multiplier=1,
        # Redis: redeliver only after the longest job could have finished (celery #5935, #3430).
        # RabbitMQ instead closes a channel that holds an unacknowledged message longer than its
        # consumer_timeout (30 min by default, celery #6760): raise it on the broker above the
        # longest job timeout (rabbitmq.conf: consumer_timeout = <ms>).
        broker_transport_options={
            "visibility_timeout": visibility_timeout(settings, registry.specs.values())
        },
        # Keep trying a broker that is restarting instead of dying at start.
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        task_default_queue=settings.remote.default_queue,
        task_create_missing_queues=True,
        # Celery's own task events and remote control stay off; the workers table says who is up.
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        enable_utc=True,
    )
    return app


class CeleryPublisher:
    """The leader's :class:`~fund_scheduler.run.remote.Publisher`: sends through a Celery app."""

    def __init__(self, app: Any):
        self.app = app

    def send(self, execution_id: int, queue: str, time_limit: float | None) -> None:
        """Queue the run's id; the hard ``time_limit`` (seconds) kills the worker's pool process
        if the run outlives its own timeout (the worker's runner enforces that one first)."""
        self.app.send_task(
            TASK_NAME,
            args=[execution_id],
            queue=queue,
            time_limit=time_limit,
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1.0, "interval_max": 3.0},
        )

    def queue_depths(self, queues: list[str]) -> dict[str, int | None]:
        """Messages waiting in each of ``queues`` (None where the broker does not say)."""
        depths: dict[str, int | None] = {}
        try:
            with self.app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)  # a broker away: unknown, at once
                channel = conn.default_channel
                for queue in queues:
                    try:
                        depths[queue] = int(channel.queue_declare(queue=queue, passive=True).message_count)
                    except Exception:  # noqa: BLE001 - a queue never declared: nothing waits
                        depths[queue] = 0
        except Exception as exc:  # noqa: BLE001 - the broker is away: depths unknown
            logger.warning("queue depths unknown: %s", type(exc).__name__)
            return dict.fromkeys(queues)
        return depths

    def close(self) -> None:
        self.app.close()
