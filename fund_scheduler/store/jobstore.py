"""The persisted job store: APScheduler's SQLAlchemy job store with job state as JSON (never pickle).

A stored row that cannot be restored safely (bad JSON, a trigger class outside the allow-list, an
unexpected callable or arguments) is moved to ``scheduler_jobs_rejected`` with the reason and
logged as an error: it is never executed and never silently deleted. A read-only store (the
CLI's views) moves nothing: it skips such a row and lists it in :attr:`JsonJobStore.unreadable`.

A job the specs no longer define (or disable) is *set aside*, not deleted: its row moves to
``scheduler_jobs_set_aside`` with the reason (:meth:`JsonJobStore.set_aside`), and
:meth:`JsonJobStore.take_back` returns its state when the definition comes back, so a paused job
comes back paused. Only :meth:`JsonJobStore.forget` (the operator's ``forget-job``) deletes it.

A one-off job (a date trigger) is removed from the job table once its time has come (fired, or
recorded missed): :meth:`JsonJobStore.remove_job` keeps it in the set-aside table as *done*
(reason ``done: ...``), so the job is never added again at a restart or reload
(:meth:`JsonJobStore.done_jobs`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from fund_common.clock import utcnow_naive
from fund_scheduler.jobs.triggers import trigger_from_dict, trigger_to_dict
from fund_scheduler.store.engine import writing

logger = logging.getLogger("scheduler.store")

JOB_FUNC = "fund_scheduler.run.executor:dispatch"
#: What earlier releases stored as the callable: read as :data:`JOB_FUNC` (the next store of
#: the job writes the current name), so an upgraded daemon keeps the stored jobs and their state.
LEGACY_JOB_FUNCS = frozenset({"scheduler.executor:dispatch"})
STATE_VERSION = 1
#: How the set-aside reason of a one-off job whose time has come starts.
DONE = "done"


def job_to_state(job: Job) -> dict[str, Any]:
    """The JSON-able state of ``job``; raise ValueError for anything JSON or the allow-list rejects."""
    if job.func_ref != JOB_FUNC or job.args or job.kwargs:
        raise ValueError(f"job {job.id!r}: only {JOB_FUNC} without arguments can be stored")
    return {
        "version": STATE_VERSION,
        "id": job.id,
        "func": job.func_ref,
        "trigger": trigger_to_dict(job.trigger),
        "executor": job.executor,
        "name": job.name,
        "misfire_grace_time": job.misfire_grace_time,
        "coalesce": job.coalesce,
        "max_instances": job.max_instances,
        "next_run_time": job.next_run_time.isoformat() if job.next_run_time else None,
    }


def state_to_kwargs(row_id: str, raw: str | bytes) -> dict[str, Any]:
    """Validate a stored state and return Job.__setstate__ input; raise ValueError saying why not."""
    try:
        state = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"job state is not valid JSON ({exc})") from None
    if not isinstance(state, dict):
        raise ValueError("job state is not a JSON object")
    expected = {
        "version",
        "id",
        "func",
        "trigger",
        "executor",
        "name",
        "misfire_grace_time",
        "coalesce",
        "max_instances",
        "next_run_time",
    }
    if set(state) != expected:
        parts = []
        if expected - set(state):
            parts.append(f"missing keys {sorted(expected - set(state))}")
        if set(state) - expected:
            parts.append(f"unexpected keys {sorted(set(state) - expected)}")
        raise ValueError(f"job state has {'; '.join(parts)}")
    if state["version"] != STATE_VERSION:
        raise ValueError(f"job state version {state['version']!r} is not {STATE_VERSION}")
    if state["id"] != row_id:
        raise ValueError(f"job state id {state['id']!r} does not match the row id {row_id!r}")
    if state["func"] in LEGACY_JOB_FUNCS:
        state["func"] = JOB_FUNC
    if state["func"] != JOB_FUNC:
        raise ValueError(f"callable {state['func']!r} is not allowed (only {JOB_FUNC})")
    if not isinstance(state["name"], str):
        raise ValueError("name must be a string")
    if state["executor"] != "default":
        raise ValueError(f"executor {state['executor']!r} is not allowed (only 'default')")
    if not isinstance(state["coalesce"], bool):
        raise ValueError("coalesce must be a boolean")
    max_instances = state["max_instances"]
    if isinstance(max_instances, bool) or not isinstance(max_instances, int) or max_instances < 1:
        raise ValueError("max_instances must be a positive integer")
    grace = state["misfire_grace_time"]
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int | float) or grace <= 0):
        raise ValueError("misfire_grace_time must be a positive number or null")
    trigger = trigger_from_dict(state["trigger"])
    next_run = state["next_run_time"]
    if next_run is not None:
        next_run = datetime.fromisoformat(next_run)
        if next_run.tzinfo is None:
            raise ValueError("next_run_time has no timezone")
    return {
        "version": 1,
        "id": state["id"],
        "func": JOB_FUNC,
        "trigger": trigger,
        "executor": state["executor"],
        "args": (),
        "kwargs": {},
        "name": state["name"],
        "misfire_grace_time": grace,
        "coalesce": state["coalesce"],
        "max_instances": state["max_instances"],
        "next_run_time": next_run,
    }


def job_tables(metadata: MetaData, tablename: str = "scheduler_jobs") -> tuple[Table, Table]:
    """The job table (JSON state) and its ``<tablename>_rejected`` quarantine, in ``metadata``."""
    jobs = Table(
        tablename,
        metadata,
        Column("id", String(191), primary_key=True),
        Column("next_run_time", Float(25), index=True),
        Column("job_state", Text, nullable=False),
    )
    rejected = Table(
        f"{tablename}_rejected",
        metadata,
        Column("rejection_id", Integer, primary_key=True, autoincrement=True),
        Column("id", String(191), nullable=False, index=True),
        Column("job_state", Text, nullable=False),
        Column("reason", Text, nullable=False),
        Column("rejected_at", DateTime, nullable=False),
    )
    return jobs, rejected


def set_aside_table(metadata: MetaData, tablename: str = "scheduler_jobs") -> Table:
    """``<tablename>_set_aside``: one row per job the specs stopped defining, its state kept."""
    return Table(
        f"{tablename}_set_aside",
        metadata,
        Column("id", String(191), primary_key=True),
        Column("job_state", Text, nullable=False),
        Column("reason", Text, nullable=False),
        Column("set_aside_at", DateTime, nullable=False),
    )


#: The daemon's job-store tables, for the schema migrations (JsonJobStore builds its own copies).
metadata = MetaData()
scheduler_jobs, scheduler_jobs_rejected = job_tables(metadata)
scheduler_jobs_set_aside = set_aside_table(metadata)


class JsonJobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy job store with JSON job state and quarantine of bad rows."""

    def __init__(
        self,
        engine: Engine,
        tablename: str = "scheduler_jobs",
        metadata: MetaData | None = None,
        *,
        read_only: bool = False,
    ):
        super().__init__(engine=engine, tablename=tablename, metadata=metadata or MetaData())
        # Replace the pickled LargeBinary column by JSON text.
        pickled: Table = self.jobs_t
        metadata = pickled.metadata
        metadata.remove(pickled)
        self.jobs_t: Table
        self.rejected_t: Table
        self.jobs_t, self.rejected_t = job_tables(metadata, tablename)
        self.set_aside_t = set_aside_table(metadata, tablename)
        self.read_only = read_only
        #: Rows a read-only store could not restore and left where they are: (id, reason).
        self.unreadable: list[tuple[str, str]] = []

    def start(self, scheduler, alias):
        """Attach to ``scheduler``; the tables come from the schema migrations, never from here."""
        BaseJobStore.start(self, scheduler, alias)

    def _dumps(self, job: Job) -> str:
        return json.dumps(job_to_state(job), sort_keys=True)

    def add_job(self, job):
        insert = self.jobs_t.insert().values(
            id=job.id,
            next_run_time=datetime_to_utc_timestamp(job.next_run_time),
            job_state=self._dumps(job),
        )
        with writing(self.engine) as connection:
            try:
                connection.execute(insert)
            except IntegrityError:
                raise ConflictingIdError(job.id) from None

    def update_job(self, job):
        update = (
            self.jobs_t.update()
            .values(
                next_run_time=datetime_to_utc_timestamp(job.next_run_time),
                job_state=self._dumps(job),
            )
            .where(self.jobs_t.c.id == job.id)
        )
        with writing(self.engine) as connection:
            if connection.execute(update).rowcount == 0:
                raise JobLookupError(job.id)

    def stored_ids(self) -> list[str]:
        """The ids of the stored jobs, without restoring them (their triggers are not built)."""
        with self.engine.connect() as connection:
            return list(connection.execute(select(self.jobs_t.c.id).order_by(self.jobs_t.c.id)).scalars())

    def update_next_run_times(self, jobs: list[Job]) -> None:
        """Store each of ``jobs`` (their new next run times) in one transaction: a restart's
        catch-up of thousands of jobs in a few statements. A job no longer stored is left out."""
        values = [
            {
                "job_id": job.id,
                "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
                "job_state": self._dumps(job),
            }
            for job in jobs
        ]
        if not values:
            return
        t = self.jobs_t
        update = (
            t.update()
            .where(t.c.id == bindparam("job_id"))
            .values(next_run_time=bindparam("next_run_time"), job_state=bindparam("job_state"))
        )
        with writing(self.engine) as connection:
            connection.execute(update, values)

    def lookup_job(self, job_id):
        query = select(self.jobs_t.c.id, self.jobs_t.c.job_state).where(self.jobs_t.c.id == job_id)
        with self.engine.begin() as connection:
            row = connection.execute(query).first()
            if row is None:
                return None
            try:
                return self._restore(row.id, row.job_state)
            except ValueError as exc:
                self._set_aside(connection, row.id, row.job_state, str(exc))
                return None

    def _restore(self, row_id: str, raw: str) -> Job:
        try:
            state = state_to_kwargs(row_id, raw)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"job state is malformed ({exc!r})") from None
        state["jobstore"] = self
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def _set_aside(self, connection, row_id: str, raw: str, reason: str) -> None:
        if self.read_only:
            self.unreadable.append((row_id, reason))
            return
        logger.error(
            "job %s: stored state cannot be restored (%s); moved to %s, not executed",
            row_id,
            reason,
            self.rejected_t.name,
        )
        connection.execute(
            self.rejected_t.insert().values(
                id=row_id,
                job_state=raw if isinstance(raw, str) else repr(raw),
                reason=reason,
                rejected_at=utcnow_naive(),
            )
        )
        connection.execute(self.jobs_t.delete().where(self.jobs_t.c.id == row_id))

    def _get_jobs(self, *conditions):
        jobs = []
        query = select(self.jobs_t.c.id, self.jobs_t.c.job_state).order_by(self.jobs_t.c.next_run_time)
        if conditions:
            query = query.where(*conditions)
        with self.engine.begin() as connection:
            for row in connection.execute(query).all():
                try:
                    jobs.append(self._restore(row.id, row.job_state))
                except ValueError as exc:
                    self._set_aside(connection, row.id, row.job_state, str(exc))
        return jobs

    def remove_job(self, job_id):
        """Delete ``job_id``'s row; JobLookupError when it is not stored. A one-off job (date
        trigger) is kept in the set-aside table as done (see the module docstring)."""
        with self.engine.begin() as connection:
            row = connection.execute(
                select(self.jobs_t.c.job_state).where(self.jobs_t.c.id == job_id)
            ).first()
            if row is None:
                raise JobLookupError(job_id)
            at = _one_off_time(row.job_state)
            if at is not None:
                connection.execute(self.set_aside_t.delete().where(self.set_aside_t.c.id == job_id))
                connection.execute(
                    self.set_aside_t.insert().values(
                        id=job_id,
                        job_state=row.job_state,
                        reason=f"{DONE}: one-off of {at.isoformat()}",
                        set_aside_at=utcnow_naive(),
                    )
                )
            connection.execute(self.jobs_t.delete().where(self.jobs_t.c.id == job_id))

    def done_jobs(self) -> dict[str, dict[str, Any]]:
        """The one-off jobs whose time has come, by id: ``at`` (their fire time) and ``since``
        (when the job store marked them done, aware UTC)."""
        query = select(self.set_aside_t).where(self.set_aside_t.c.reason.like(f"{DONE}:%"))
        with self.engine.begin() as connection:
            rows = connection.execute(query).all()
        done = {}
        for row in rows:
            at = _one_off_time(row.job_state)
            if at is not None:
                done[row.id] = {"at": at, "since": row.set_aside_at.replace(tzinfo=UTC)}
        return done

    def rejected_rows(self) -> list[dict[str, Any]]:
        """Rows set aside so far, newest first."""
        query = select(self.rejected_t).order_by(self.rejected_t.c.rejection_id.desc())
        with self.engine.begin() as connection:
            return [dict(r._mapping) for r in connection.execute(query)]

    # -- jobs the specs no longer define -------------------------------------------------------
    def set_aside(self, job_id: str, reason: str) -> bool:
        """Move ``job_id``'s row to the set-aside table with ``reason`` (replacing an older one);
        False when it is not stored."""
        with self.engine.begin() as connection:
            row = connection.execute(
                select(self.jobs_t.c.job_state).where(self.jobs_t.c.id == job_id)
            ).first()
            if row is None:
                return False
            connection.execute(self.set_aside_t.delete().where(self.set_aside_t.c.id == job_id))
            connection.execute(
                self.set_aside_t.insert().values(
                    id=job_id, job_state=row.job_state, reason=reason, set_aside_at=utcnow_naive()
                )
            )
            connection.execute(self.jobs_t.delete().where(self.jobs_t.c.id == job_id))
        return True

    def take_back(self, job_id: str) -> dict[str, Any] | None:
        """Remove ``job_id`` from the set-aside table and return its row (with ``paused``), or
        None when it was not set aside."""
        with self.engine.begin() as connection:
            row = connection.execute(select(self.set_aside_t).where(self.set_aside_t.c.id == job_id)).first()
            if row is None:
                return None
            connection.execute(self.set_aside_t.delete().where(self.set_aside_t.c.id == job_id))
        return _set_aside_row(row._mapping)

    def set_aside_rows(self) -> list[dict[str, Any]]:
        """Every job set aside, by id: ``id``, ``reason``, ``set_aside_at``, ``paused``."""
        query = select(self.set_aside_t).order_by(self.set_aside_t.c.id)
        with self.engine.begin() as connection:
            return [_set_aside_row(r._mapping) for r in connection.execute(query)]

    def forget(self, job_id: str) -> tuple[int, int]:
        """Delete what is kept of ``job_id`` outside the job table: (set-aside, rejected) rows."""
        with self.engine.begin() as connection:
            kept = connection.execute(self.set_aside_t.delete().where(self.set_aside_t.c.id == job_id))
            rejected = connection.execute(self.rejected_t.delete().where(self.rejected_t.c.id == job_id))
        return kept.rowcount, rejected.rowcount


def _one_off_time(raw: str) -> datetime | None:
    """The fire time of a stored job state with a date trigger; None for any other (or unreadable)."""
    try:
        trigger = json.loads(raw)["trigger"]
        if trigger.get("type") != "date":
            return None
        return datetime.fromisoformat(trigger["run_date"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _set_aside_row(mapping: Any) -> dict[str, Any]:
    try:
        paused = json.loads(mapping["job_state"]).get("next_run_time") is None
    except (ValueError, TypeError, AttributeError):
        paused = False
    return {
        "id": mapping["id"],
        "reason": mapping["reason"],
        "set_aside_at": mapping["set_aside_at"],
        "paused": paused,
    }
