"""Job discovery, ``@scheduled`` / ``command_job``, jobs.toml overrides, and the bundled jobs."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fund_scheduler.errors import ConfigError, UnknownJobError
from fund_scheduler.jobs import JobSpec, command_job, scheduled
from fund_scheduler.jobs.registry import Registry, load_registry
from fund_scheduler.jobs.triggers import describe
from tests.support.bundled import BUNDLED_SCHEDULES as BUNDLED

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROJECT_DIR = Path(__file__).resolve().parents[3]

MakePackage = Callable[..., str]


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePackage]:
    """Write a uniquely named job package under tmp_path, importable for this test only."""
    created: list[str] = []
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(**modules: str) -> str:
        name = f"tjobs_{uuid.uuid4().hex[:12]}"
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text(textwrap.dedent(modules.pop("__init__", "")))
        for module, source in modules.items():
            (package / f"{module}.py").write_text(textwrap.dedent(source))
        created.append(name)
        importlib.invalidate_caches()
        return name

    yield make
    for module in list(sys.modules):
        if any(module == p or module.startswith(p + ".") for p in created):
            del sys.modules[module]


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobs.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


NO_OVERRIDES = Path("/nonexistent/jobs.toml")

ALPHA = """
    from fund_scheduler.jobs import scheduled

    @scheduled(id="alpha", name="Alpha job", cron="15 6 * * 1-5", timeout=60)
    def alpha(ctx):
        '''Does alpha things.

        More detail that is not the description.'''
        return "alpha"

    def helper():
        return 1
"""

BETA = """
    from fund_scheduler.jobs import command_job

    BETA = command_job(id="beta", name="Beta", cron="0 3 * * 0", command=["/bin/echo", "hi"])
"""

GAMMA = """
    from fund_scheduler.jobs import command_job

    GAMMA = command_job(
        id="gamma", name="Gamma", fields={"hour": "4", "minute": "5"}, command_env="GAMMA_COMMAND"
    )
"""


def load(package: str, overrides: Path = NO_OVERRIDES, environ: dict | None = None) -> Registry:
    return load_registry([package], overrides, SHANGHAI, environ={} if environ is None else environ)


def first_fire(spec: JobSpec, now: datetime = datetime(2026, 5, 1, tzinfo=UTC)) -> datetime:
    return spec.trigger(SHANGHAI).get_next_fire_time(None, now)


# -- discovery -----------------------------------------------------------------------------------


def test_discovers_decorated_functions_and_command_jobs(make_package: MakePackage) -> None:
    pkg = make_package(alpha=ALPHA, beta=BETA, _private="raise RuntimeError('never imported')")
    registry = load(pkg)
    assert registry.problems == []
    assert list(registry.specs) == ["alpha", "beta"]
    alpha = registry.get("alpha")
    assert alpha.func == f"{pkg}.alpha:alpha"
    assert alpha.command is None
    assert alpha.name == "Alpha job"
    assert alpha.description == "Does alpha things."
    assert alpha.schedule == {
        "minute": "15",
        "hour": "6",
        "day": "*",
        "month": "*",
        "day_of_week": "mon,tue,wed,thu,fri",
    }
    assert alpha.timeout == 60
    assert (alpha.max_instances, alpha.coalesce, alpha.executor, alpha.enabled) == (1, True, None, True)
    assert alpha.target == f"{pkg}.alpha:alpha"
    beta = registry.get("beta")
    assert beta.func is None
    assert beta.command == ("/bin/echo", "hi")
    assert beta.target == "/bin/echo hi"
    assert first_fire(beta) == datetime(2026, 5, 3, 3, tzinfo=SHANGHAI)  # Sunday
    assert [s.id for s in registry.enabled()] == ["alpha", "beta"]


def test_decorator_with_cron_fields_keeps_the_function_callable() -> None:
    @scheduled(id="fields_job", name="Fields", fields={"hour": 7, "minute": "*/15"}, description="desc")
    def job(ctx):
        return ctx * 2

    assert job(21) == 42
    spec = job.__job_spec__
    assert spec.schedule == {"hour": "7", "minute": "*/15"}
    assert spec.description == "desc"
    assert spec.func.endswith(":test_decorator_with_cron_fields_keeps_the_function_callable.<locals>.job")


@pytest.mark.parametrize(("cron", "fields"), [(None, None), ("0 1 * * *", {"hour": "1"})])
def test_cron_and_fields_are_exclusive(cron, fields) -> None:
    with pytest.raises(ConfigError, match="exactly one of cron, cron fields, interval, at"):
        command_job(id="x", name="x", cron=cron, fields=fields, command=["true"])


def test_a_package_that_cannot_be_imported_is_a_problem(make_package: MakePackage) -> None:
    pkg = make_package(alpha=ALPHA)
    registry = load_registry([pkg, "no_such_jobs_pkg"], NO_OVERRIDES, SHANGHAI, environ={})
    assert list(registry.specs) == ["alpha"]
    assert any("'no_such_jobs_pkg' cannot be imported" in p for p in registry.problems)
    with pytest.raises(ConfigError, match="no_such_jobs_pkg"):
        registry.raise_problems()


def test_a_job_module_that_cannot_be_imported_is_broken_not_a_problem(make_package: MakePackage) -> None:
    pkg = make_package(alpha=ALPHA, broken="import no_such_module_xyz\n")
    registry = load_registry([pkg], NO_OVERRIDES, SHANGHAI, environ={})
    assert list(registry.specs) == ["alpha"]  # the other jobs still load
    assert registry.problems == []
    registry.raise_problems()  # a start is not refused
    assert registry.broken == {f"{pkg}.broken": "ModuleNotFoundError: No module named 'no_such_module_xyz'"}
    assert registry.broken_lines() == [
        f"job module '{pkg}.broken' cannot be imported: "
        "ModuleNotFoundError: No module named 'no_such_module_xyz'"
    ]


def test_duplicate_ids_are_a_problem(make_package: MakePackage) -> None:
    again = ALPHA.replace("def alpha(ctx)", "def alpha_again(ctx)")
    pkg = make_package(a1=ALPHA, a2=again)
    registry = load(pkg)
    assert list(registry.specs) == ["alpha"]
    (problem,) = registry.problems
    assert "'alpha' is defined twice" in problem
    assert f"{pkg}.a1:alpha" in problem and f"{pkg}.a2:alpha_again" in problem


def test_reexported_spec_is_not_a_duplicate(make_package: MakePackage) -> None:
    pkg = make_package(beta=BETA)
    (Path(sys.path[0]) / pkg / "reexport.py").write_text(f"from {pkg}.beta import BETA  # noqa\n")
    registry = load(pkg)
    assert registry.problems == []
    assert list(registry.specs) == ["beta"]


@pytest.mark.parametrize(
    "bad_id", ["Bad", "has-dash", "1starts_with_digit", "", "x" * 64, "spa ce", "../up", "trailing\n"]
)
def test_bad_ids_are_problems(make_package: MakePackage, bad_id: str) -> None:
    pkg = make_package(bad=BETA.replace('id="beta"', f"id={bad_id!r}"))
    registry = load(pkg)
    assert registry.specs == {}
    (problem,) = registry.problems
    assert repr(bad_id) in problem and "must match" in problem


def test_bad_executor_schedule_and_after_are_problems(make_package: MakePackage) -> None:
    pkg = make_package(
        jobs="""
        from fund_scheduler.jobs import command_job

        A = command_job(id="bad_exec", name="a", cron="0 1 * * *", command=["true"], executor="cluster")
        B = command_job(id="bad_hour", name="b", cron="0 25 * * *", command=["true"])
        C = command_job(id="lonely", name="c", cron="0 1 * * *", command=["true"], after=("ghost",))
        """
    )
    registry = load(pkg)
    assert list(registry.specs) == ["lonely"]
    problems = "\n".join(registry.problems)
    assert "'bad_exec': executor 'cluster'" in problems
    assert "'bad_hour': invalid schedule" in problems
    assert "'lonely': runs after unknown job(s) ghost" in problems


def test_config_checks_are_collected_and_run(make_package: MakePackage) -> None:
    pkg = make_package(
        checks="""
        from fund_scheduler.jobs import config_check

        @config_check
        def needs_token(environ):
            return [] if environ.get("TOKEN") else ["TOKEN is not set"]

        @config_check
        def broken(environ):
            raise RuntimeError("boom")
        """
    )
    registry = load(pkg)
    assert len(registry.checks) == 2
    assert "TOKEN is not set" in registry.problems
    assert any("broken failed: boom" in p for p in registry.problems)
    assert "TOKEN is not set" not in load(pkg, environ={"TOKEN": "x"}).problems


def test_get_unknown_job_names_the_known_ones(make_package: MakePackage) -> None:
    registry = load(make_package(alpha=ALPHA, beta=BETA))
    with pytest.raises(UnknownJobError, match=r"unknown job 'nope' \(known jobs: alpha, beta\)"):
        registry.get("nope")


# -- command_env ---------------------------------------------------------------------------------


def test_command_env_fills_the_command(make_package: MakePackage) -> None:
    pkg = make_package(gamma=GAMMA)
    spec = load(pkg, environ={"GAMMA_COMMAND": "python 'my script.py' --weeks 2"}).get("gamma")
    assert spec.enabled
    assert spec.command == ("python", "my script.py", "--weeks", "2")
    assert spec.schedule == {"hour": "4", "minute": "5"}


@pytest.mark.parametrize("environ", [{}, {"GAMMA_COMMAND": "   "}])
def test_command_job_without_command_is_disabled_with_reason(make_package: MakePackage, environ) -> None:
    registry = load(make_package(gamma=GAMMA), environ=environ)
    spec = registry.get("gamma")
    assert registry.problems == []
    assert not spec.enabled
    assert spec.disabled_reason == (
        "no command configured: set GAMMA_COMMAND or set command in [jobs.gamma] of jobs.toml"
    )
    assert registry.enabled() == []


# -- jobs.toml overrides -------------------------------------------------------------------------


def test_override_cron_string(make_package: MakePackage, tmp_path: Path) -> None:
    pkg = make_package(alpha=ALPHA)
    toml = write_toml(tmp_path, '[jobs.alpha]\ncron = "30 18 * * 0"\n')
    registry = load(pkg, toml)
    assert registry.problems == []
    spec = registry.get("alpha")
    assert spec.schedule["day_of_week"] == "sun"
    assert describe(spec.trigger(SHANGHAI)) == "cron 30 18 * * sun (Asia/Shanghai)"
    assert spec.overridden == ("cron",)
    assert spec.func == f"{pkg}.alpha:alpha"  # everything else kept
    assert spec.timeout == 60


def test_override_cron_fields_replace_the_whole_schedule(make_package: MakePackage, tmp_path: Path) -> None:
    pkg = make_package(alpha=ALPHA)
    toml = write_toml(tmp_path, '[jobs.alpha]\nhour = "18"\nminute = 30\nday_of_week = "sat"\n')
    spec = load(pkg, toml).get("alpha")
    assert spec.schedule == {"hour": "18", "minute": "30", "day_of_week": "sat"}
    assert first_fire(spec) == datetime(2026, 5, 2, 18, 30, tzinfo=SHANGHAI)


def test_override_timezone_enabled_timeout_and_more(make_package: MakePackage, tmp_path: Path) -> None:
    pkg = make_package(alpha=ALPHA, beta=BETA)
    toml = write_toml(
        tmp_path,
        """
        [jobs.alpha]
        timezone = "UTC"
        timeout = 90
        max_instances = 2
        misfire_grace_time = 600
        name = "Renamed"
        workdir = "/srv"

        [jobs.beta]
        enabled = false
        """,
    )
    registry = load(pkg, toml)
    assert registry.problems == []
    alpha = registry.get("alpha")
    assert alpha.timezone == "UTC"
    assert alpha.zone(SHANGHAI) == ZoneInfo("UTC")
    assert first_fire(alpha) == datetime(2026, 5, 1, 6, 15, tzinfo=UTC)
    assert (alpha.timeout, alpha.max_instances, alpha.misfire_grace_time) == (90.0, 2, 600)
    assert (alpha.name, alpha.workdir) == ("Renamed", "/srv")
    beta = registry.get("beta")
    assert beta.enabled is False
    assert [s.id for s in registry.enabled()] == ["alpha"]


def test_override_command_of_a_command_job(make_package: MakePackage, tmp_path: Path) -> None:
    pkg = make_package(beta=BETA, gamma=GAMMA)
    toml = write_toml(
        tmp_path,
        """
        [jobs.beta]
        command = ["/usr/bin/env", "echo", "a b"]

        [jobs.gamma]
        command = "python run.py --all"
        """,
    )
    registry = load(pkg, toml, environ={"GAMMA_COMMAND": "ignored when jobs.toml sets one"})
    assert registry.problems == []
    assert registry.get("beta").command == ("/usr/bin/env", "echo", "a b")
    gamma = registry.get("gamma")
    assert gamma.command == ("python", "run.py", "--all")
    assert gamma.enabled


def test_override_defines_a_new_command_job(make_package: MakePackage, tmp_path: Path) -> None:
    pkg = make_package(alpha=ALPHA)
    toml = write_toml(
        tmp_path,
        """
        [jobs.nightly_backup]
        cron = "0 3 * * *"
        timezone = "UTC"
        command = ["/usr/local/bin/backup", "--all"]
        timeout = 3600
        """,
    )
    registry = load(pkg, toml)
    assert registry.problems == []
    spec = registry.get("nightly_backup")
    assert spec.func is None
    assert spec.command == ("/usr/local/bin/backup", "--all")
    assert (spec.name, spec.timezone, spec.timeout, spec.enabled) == ("nightly_backup", "UTC", 3600.0, True)
    assert first_fire(spec) == datetime(2026, 5, 1, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("toml", "job", "says"),
    [
        ('[jobs.alpha]\ncron = "0 18 * * *"\ncolour = "red"\n', "alpha", "unknown field(s) colour"),
        ('[jobs.alpha]\ntimezone = "Mars/Base"\n', "alpha", "'Mars/Base' is not a known IANA timezone"),
        ('[jobs.alpha]\ncron = "0 18 * *"\n', "alpha", "has 4 fields"),
        ('[jobs.alpha]\ncron = "0 25 * * *"\n', "alpha", "25"),
        ('[jobs.alpha]\ncron = "0 1 * * *"\nhour = "2"\n', "alpha", "not both"),
        ("[jobs.alpha]\ncron = 5\n", "alpha", "cron must be a string"),
        ('[jobs.alpha]\nenabled = "no"\n', "alpha", "enabled must be true or false"),
        ("[jobs.alpha]\ntimeout = 0\n", "alpha", "timeout must be a positive number"),
        ("[jobs.alpha]\nmax_instances = true\n", "alpha", "max_instances must be a positive number"),
        ('[jobs.alpha]\ncommand = ["rm", "-rf", "/"]\n', "alpha", "command cannot be set on a Python job"),
        ("[jobs.beta]\ncommand = []\n", "beta", "non-empty list"),
        ('[jobs.newbie]\ncron = "0 1 * * *"\n', "newbie", "a new job needs command and cron"),
        ('[jobs.newbie]\ncommand = ["true"]\n', "newbie", "a new job needs command and cron"),
        ('[jobs.Bad-Id]\ncron = "0 1 * * *"\ncommand = ["true"]\n', "Bad-Id", "must match"),
        ('[jobs."../../x"]\ncron = "0 1 * * *"\ncommand = ["true"]\n', "../../x", "must match"),
        ('[jobs."newline\\n"]\ncron = "0 1 * * *"\ncommand = ["true"]\n', "newline\n", "must match"),
    ],
)
def test_bad_override_is_a_problem_naming_job_and_field(
    make_package: MakePackage, tmp_path: Path, toml: str, job: str, says: str
) -> None:
    pkg = make_package(alpha=ALPHA, beta=BETA)
    registry = load(pkg, write_toml(tmp_path, toml))
    assert len(registry.problems) == 1, registry.problems
    (problem,) = registry.problems
    assert f"[jobs.{job}]" in problem
    assert says in problem
    if job in ("alpha", "beta"):  # the declared spec is kept unchanged
        assert registry.get(job).overridden == ()


def test_bad_toml_is_a_problem(make_package: MakePackage, tmp_path: Path) -> None:
    pkg = make_package(alpha=ALPHA)
    toml = write_toml(tmp_path, "[jobs.alpha\ncron = \n")
    registry = load(pkg, toml)
    (problem,) = registry.problems
    assert str(toml) in problem and "not valid TOML" in problem
    assert registry.get("alpha").overridden == ()


def test_toml_structure_problems(make_package: MakePackage, tmp_path: Path) -> None:
    pkg = make_package(alpha=ALPHA)
    registry = load(pkg, write_toml(tmp_path, '[defaults]\ntimeout = 5\n[jobs]\nalpha = "x"\n'))
    problems = "\n".join(registry.problems)
    assert "unknown section(s) defaults" in problems
    assert "every entry must be a table [jobs.<id>]" in problems


# -- the bundled jobs ----------------------------------------------------------------------------


def test_bundled_jobs_have_the_seed_schedules(tmp_path: Path) -> None:
    registry = load_registry(["jobs"], tmp_path / "none.toml", SHANGHAI, environ={})
    assert registry.problems == []
    assert set(registry.specs) == set(BUNDLED)
    for job_id, expected in BUNDLED.items():
        spec = registry.get(job_id)
        assert describe(spec.trigger(SHANGHAI)) == expected, job_id
        assert spec.max_instances == 1
    pipeline = registry.get("weekly_pipeline")
    assert not pipeline.enabled
    assert "PIPELINE_COMMAND" in pipeline.disabled_reason
    assert sorted(s.id for s in registry.enabled()) == sorted(set(BUNDLED) - {"weekly_pipeline"})
    assert registry.get("daily_validation").after == ("daily_collection",)
    assert registry.get("daily_metrics").after == ("daily_validation",)
    assert registry.get("cleanup_old_job_executions").executor == "thread"
    assert registry.get("daily_collection").run_on_first_start
    # Sunday 02:00 in Shanghai and in UTC are different instants.
    sunday = datetime(2026, 5, 2, tzinfo=UTC)
    assert registry.get("weekly_full_calc").trigger(SHANGHAI).get_next_fire_time(None, sunday) == datetime(
        2026, 5, 2, 18, tzinfo=UTC
    )
    assert pipeline.trigger(SHANGHAI).get_next_fire_time(None, sunday) == datetime(2026, 5, 3, 2, tzinfo=UTC)


def test_bundled_pipeline_enabled_by_its_variable(tmp_path: Path) -> None:
    environ = {"PIPELINE_COMMAND": "python cron_pipeline.py --run --index dow --weeks 2"}
    registry = load_registry(["jobs"], tmp_path / "none.toml", SHANGHAI, environ=environ)
    pipeline = registry.get("weekly_pipeline")
    assert pipeline.enabled
    assert pipeline.command == ("python", "cron_pipeline.py", "--run", "--index", "dow", "--weeks", "2")


def test_daemon_side_imports_never_load_pandas() -> None:
    code = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from zoneinfo import ZoneInfo

        import fund_scheduler.cli.app, fund_scheduler.cli.serve, fund_scheduler.daemon.operations
        import fund_scheduler.api.app
        from fund_scheduler.jobs.registry import load_registry

        registry = load_registry(["jobs"], Path("/nonexistent/jobs.toml"), ZoneInfo("Asia/Shanghai"), {})
        assert len(registry.specs) == 9, registry.specs
        heavy = sorted(m for m in ("pandas", "numpy", "empyrical") if m in sys.modules)
        assert not heavy, heavy
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
