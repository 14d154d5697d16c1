"""Run parameters declared for a command job in jobs.toml: read as the decorator's, a bad one
refused naming the parameter and key."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from fund_scheduler.jobs.overrides import apply_override
from fund_scheduler.jobs.params import Param

ZONE = ZoneInfo("Asia/Shanghai")
BASE = {"cron": "0 3 * * *", "command": ["true"]}


def test_params_tables_become_declared_parameters() -> None:
    params = {
        "target": {"type": "str", "default": "all", "help": "what"},
        "n": {"type": "int", "required": True},
    }
    spec = apply_override(None, "backup", {**BASE, "params": params}, ZONE)
    assert spec.params == (Param("target", "str", "all", "what"), Param("n", "int", None, "", True))


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ("target", "params must be tables [jobs.<id>.params.<name>]"),
        ({"target": "str"}, "params.target must be a table"),
        ({"target": {"kind": "str"}}, "params.target: unknown key(s) kind"),
        ({"target": {"type": "colour"}}, "params.target:"),
    ],
)
def test_a_bad_parameter_is_named(params, says) -> None:
    with pytest.raises(ValueError) as caught:
        apply_override(None, "backup", {**BASE, "params": params}, ZONE)
    assert says in str(caught.value)


def test_a_job_goes_to_a_worker_queue_from_jobs_toml() -> None:
    spec = apply_override(None, "backup", {**BASE, "executor": "celery", "queue": "cpu"}, ZONE)
    assert (spec.executor, spec.queue, spec.executor_in("process")) == ("celery", "cpu", "celery")
    assert apply_override(None, "other", BASE, ZONE).executor_in("celery") == "celery"  # the default's


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"executor": "cluster"}, "executor 'cluster' is not one of process, thread, celery"),
        ({"executor": "celery", "queue": "a b"}, "queue 'a b' is not a queue name"),
        ({"executor": "thread", "queue": "cpu"}, "queue applies to executor 'celery'"),
    ],
)
def test_bad_executor_or_queue_names_the_field(fields: dict, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        apply_override(None, "backup", {**BASE, **fields}, ZONE)
