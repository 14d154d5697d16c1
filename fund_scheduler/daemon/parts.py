"""The collaborators of one daemon, built together and complete before anything starts.

:func:`build_parts` connects nothing and starts no thread of the daemon's own (the notifier's
worker excepted, which only waits on its queue): it creates the engine (lazy), the spool and its
flusher, the runner (with the remote runs' publisher and watcher when SCHEDULER_BROKER_URL is
set), the alert notifier, the executor, the scheduler (with its JSON job store)
and the leadership lock, and wires the runner's finished runs to the notifier and to the check
watcher (a check job's result kept in ``check_states``, its changes alerted).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from fund_scheduler.alerts import Notifier
from fund_scheduler.daemon.checks import CheckWatcher
from fund_scheduler.daemon.leader import Leadership
from fund_scheduler.daemon.loop import JOBSTORE_RETRY_INTERVAL, GuardedBackgroundScheduler
from fund_scheduler.jobs.registry import Registry
from fund_scheduler.run.executor import RunnerExecutor
from fund_scheduler.run.forkserver import ForkServer
from fund_scheduler.run.remote import RemoteRuns
from fund_scheduler.run.runner import Runner
from fund_scheduler.settings import Settings
from fund_scheduler.store.engine import make_engine
from fund_scheduler.store.jobstore import JsonJobStore
from fund_scheduler.store.spool import Spool, SpoolFlusher

__all__ = ["DaemonParts", "build_parts"]


@dataclass
class DaemonParts:
    settings: Settings
    registry: Registry
    engine: Engine
    spool: Spool
    flusher: SpoolFlusher
    runner: Runner
    notifier: Notifier
    executor: RunnerExecutor
    scheduler: GuardedBackgroundScheduler
    jobstore: JsonJobStore
    leadership: Leadership


def build_parts(settings: Settings, registry: Registry) -> DaemonParts:
    """Every collaborator of a daemon for ``settings`` and ``registry``, wired, none started."""
    engine = make_engine(settings.database_url)
    spool = Spool(settings.home / "data" / "spool")
    runner = Runner(settings, registry, engine)
    runner.spool = spool
    if settings.fork_server:
        runner.fork_server = ForkServer()
    if settings.remote.broker_url:  # runs of executor="celery" jobs go to the workers
        from fund_scheduler.workers.app import CeleryPublisher, make_app

        publisher = CeleryPublisher(make_app(settings, registry))
        runner.remote = RemoteRuns(engine, settings.remote, publisher)
    notifier = Notifier.from_settings(settings, engine)
    if notifier.enabled:
        runner.on_finished.append(notifier.observe)
    runner.on_finished.append(CheckWatcher(engine, lambda: runner.registry, notifier).observe)
    executor = RunnerExecutor(runner, settings.max_workers)
    jobstore = JsonJobStore(engine)
    scheduler = GuardedBackgroundScheduler(
        jobstores={"default": jobstore},
        executors={"default": executor},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.misfire_grace_time,
        },
        timezone=settings.timezone,
        jobstore_retry_interval=JOBSTORE_RETRY_INTERVAL,
    )
    return DaemonParts(
        settings=settings,
        registry=registry,
        engine=engine,
        spool=spool,
        flusher=SpoolFlusher(spool, engine),
        runner=runner,
        notifier=notifier,
        executor=executor,
        scheduler=scheduler,
        jobstore=jobstore,
        leadership=Leadership(engine),
    )
