"""The Celery app's settings against the known traps, and the publisher with its broker away."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from types import SimpleNamespace

from fund_scheduler.jobs.spec import JobSpec
from fund_scheduler.settings import Settings
from fund_scheduler.workers.app import MIN_VISIBILITY_TIMEOUT, CeleryPublisher, make_app, visibility_timeout


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {"SCHEDULER_HOME": str(tmp_path), "SCHEDULER_BROKER_URL": "redis://:pw@127.0.0.1:1/0", **env}
    )


def _spec(job_id: str, timeout: float | None, executor: str | None = "celery") -> JobSpec:
    return JobSpec(
        id=job_id, name=job_id, schedule={"hour": "1"}, command=("true",), timeout=timeout, executor=executor
    )


def test_the_app_avoids_the_known_traps(tmp_path: Path) -> None:
    six_hours = _spec("ml_pipeline", 6 * 3600)
    app = make_app(_settings(tmp_path), SimpleNamespace(specs={"ml_pipeline": six_hours}))
    conf = app.conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost, conf.worker_prefetch_multiplier) == (
        True,
        True,
        1,
    )
    assert (conf.task_serializer, conf.accept_content, conf.task_ignore_result) == ("json", ["json"], True)
    assert conf.broker_transport_options["visibility_timeout"] > 6 * 3600
    app.close()


def test_the_visibility_timeout_follows_the_longest_remote_job(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert visibility_timeout(settings, [_spec("a", 600)]) == MIN_VISIBILITY_TIMEOUT
    two_days = 2 * 86400.0
    assert (
        visibility_timeout(settings, [_spec("a", two_days), _spec("local", 9e9, "process")])
        == two_days + 3660
    )
    fixed = _settings(tmp_path, SCHEDULER_BROKER_VISIBILITY_TIMEOUT="43200")
    assert visibility_timeout(fixed, [_spec("a", two_days)]) == 43200


def test_queue_depths_of_a_broker_away_are_unknown_at_once(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    settings = _settings(tmp_path, SCHEDULER_BROKER_URL=f"redis://:pw@127.0.0.1:{port}/0")
    publisher = CeleryPublisher(make_app(settings, SimpleNamespace(specs={})))
    began = time.monotonic()
    assert publisher.queue_depths(["cpu", "io"]) == {"cpu": None, "io": None}
    assert time.monotonic() - began < 10
    publisher.close()
