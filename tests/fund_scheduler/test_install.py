"""Start at boot: the rendered systemd unit (checked by ``systemd-analyze verify``), supervisor
program and ``@reboot`` line, and ``install-service``'s writing rules."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fund_scheduler import install as service
from fund_scheduler.errors import ConfigError
from tests.support.harness import PROJECT as PROJECT_DIR

SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or shutil.which("systemd-analyze", path="/usr/bin:/bin")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed (apt-get install systemd); .ci/run installs it",
)
# verify may warn that the ordering-only dependencies do not exist on this machine; nothing else
ALLOWED_WARNING = re.compile(r"(mariadb|mysql|redis-server)\.service|network-online\.target")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scheduler_daemon.py"), "install-service", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=str(PROJECT_DIR),
        timeout=60,
    )


def verify(unit_text: str, directory: Path) -> None:
    """``systemd-analyze verify`` the unit as ``fund-scheduler.service``: exit 0 and no complaint
    other than a missing dependency unit."""
    path = directory / "fund-scheduler.service"
    path.write_text(unit_text, encoding="utf-8")
    proc = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60
    )
    problems = [
        line for line in proc.stderr.splitlines() if line.strip() and not ALLOWED_WARNING.search(line)
    ]
    assert proc.returncode == 0, f"systemd-analyze verify failed ({proc.returncode}):\n{proc.stderr}"
    assert not problems, "systemd-analyze verify complained:\n" + "\n".join(problems)


def settings_of(unit_text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit_text.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def spaced_project(tmp_path: Path, checkout: bool = True) -> service.ServiceContext:
    """A checkout (or, with ``checkout=False``, the home of an installed copy) at a path with a space
    and a ``%`` whose venv python is the real interpreter."""
    project = tmp_path / "my fund project%1"
    (project / ".venv" / "bin").mkdir(parents=True)
    python = project / ".venv" / "bin" / "python"
    python.symlink_to(sys.executable)
    if checkout:
        (project / "scheduler_daemon.py").write_text("# the checkout's entry point\n")
    return service.ServiceContext(project, python, stop_timeout=45, user="root", group="root")


# -- systemd ------------------------------------------------------------------------------------
@needs_systemd_analyze
def test_rendered_system_unit_passes_systemd_analyze_verify(tmp_path):
    proc = cli("--print")
    assert proc.returncode == 0, proc.stderr
    unit = proc.stdout
    values = settings_of(unit)
    python, script = service.default_python(PROJECT_DIR), PROJECT_DIR / "scheduler_daemon.py"
    words = [service.systemd_word(str(python)), service.systemd_word(str(script)), "run"]
    assert values["ExecStart"] == [" ".join(words)]
    assert values["WorkingDirectory"] == [service.systemd_value(str(PROJECT_DIR))]
    assert values["EnvironmentFile"] == [f"-{service.systemd_value(str(PROJECT_DIR / '.env'))}"]
    assert values["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    for key, value in {
        "Type": "simple",
        "Restart": "on-failure",
        "RestartSec": "5",
        "KillMode": "mixed",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "WantedBy": "multi-user.target",
        "Wants": "network-online.target",
        "After": "network-online.target mariadb.service mysql.service",
    }.items():
        assert values[key] == [value], key
    assert values["User"] and values["Group"]
    assert not service._PLACEHOLDER.search(unit)
    verify(unit, tmp_path)


@needs_systemd_analyze
def test_a_worker_unit_kills_its_whole_cgroup_and_passes_systemd_analyze_verify(tmp_path):
    proc = cli("--worker", "-Q", "cpu,io", "-c", "4", "-n", "cpu1@%h", "--print")
    assert proc.returncode == 0, proc.stderr
    values = settings_of(proc.stdout)
    python, script = service.default_python(PROJECT_DIR), PROJECT_DIR / "scheduler_daemon.py"
    words = [service.systemd_word(str(python)), service.systemd_word(str(script))]
    assert values["ExecStart"] == [" ".join([*words, "worker", "-Q", "cpu,io", "-c", "4", "-n", "cpu1@%%h"])]
    for key, value in {"KillMode": "control-group", "Restart": "on-failure", "TimeoutStopSec": "600"}.items():
        assert values[key] == [value], key
    assert "fund-scheduler worker (queues cpu,io)" in values["Description"][0]
    verify(proc.stdout, tmp_path)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--worker"], "--worker needs -Q QUEUES"),
        (["--worker", "-Q", "cpu", "--supervisor"], "systemd unit only"),
        (["-Q", "cpu"], "-Q, -c and -n go with --worker"),
    ],
)
def test_worker_options_are_checked(args, says):
    proc = cli(*args, "--print")
    assert proc.returncode == 2 and says in proc.stderr


@needs_systemd_analyze
def test_user_unit_has_no_user_and_wants_default_target(tmp_path):
    proc = cli("--user", "--print")
    assert proc.returncode == 0, proc.stderr
    values = settings_of(proc.stdout)
    assert "User" not in values and "Group" not in values
    assert values["WantedBy"] == ["default.target"]
    verify(proc.stdout, tmp_path)


def test_timeout_stop_sec_is_above_the_graceful_stop_timeout():
    proc = cli("--print", env={"SCHEDULER_STOP_TIMEOUT": "90"})
    assert proc.returncode == 0, proc.stderr
    assert settings_of(proc.stdout)["TimeoutStopSec"] == ["120"]
    proc = cli("--supervisor", "--print", env={"SCHEDULER_STOP_TIMEOUT": "90"})
    assert "\nstopwaitsecs=120\n" in proc.stdout


@needs_systemd_analyze
def test_project_path_with_space_and_percent_is_quoted_for_systemd(tmp_path):
    ctx = spaced_project(tmp_path)
    unit = service.render_systemd(ctx)
    values = settings_of(unit)
    escaped = str(ctx.project_dir).replace("%", "%%")
    assert values["ExecStart"] == [f'"{escaped}/.venv/bin/python" "{escaped}/scheduler_daemon.py" run']
    assert values["WorkingDirectory"] == [escaped]
    assert values["EnvironmentFile"] == [f"-{escaped}/.env"]
    assert values["TimeoutStopSec"] == ["75"]
    # verify resolves ExecStart's binary: an unquoted path would be cut at the space and fail
    verify(unit, tmp_path)


def test_systemd_word_escapes():
    assert service.systemd_word("/usr/bin/python3") == "/usr/bin/python3"
    assert service.systemd_word('/a b/"q"\\x$y%z') == '"/a b/\\"q\\"\\\\x$$y%%z"'
    assert service.systemd_word("") == '""'


# -- supervisor and cron ------------------------------------------------------------------------
def test_supervisor_section_renders_and_parses(tmp_path):
    ctx = spaced_project(tmp_path)
    text = service.render_supervisor(ctx)
    # supervisor's parser: INI with %-interpolation and " ;" inline comments; command= is shlex-split
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    parser.read_string(text)
    program = parser["program:fund-scheduler"]
    assert shlex.split(program["command"]) == [str(ctx.python), str(ctx.daemon_script), "run"]
    assert program["directory"] == str(ctx.project_dir)
    assert program["stdout_logfile"] == str(ctx.project_dir / "logs" / "supervisor.out")
    assert program["user"] == "root"
    expected = {
        "autostart": "true",
        "autorestart": "unexpected",
        "stopsignal": "TERM",
        "stopwaitsecs": "75",
        "stopasgroup": "false",
        "killasgroup": "false",
        "redirect_stderr": "true",
    }
    assert {key: program[key] for key in expected} == expected


def test_supervisor_print_through_the_cli():
    proc = cli("--supervisor", "--print")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("[program:fund-scheduler]") == 1
    assert f"\ndirectory={service.supervisor_value(str(PROJECT_DIR))}\n" in proc.stdout


def test_supervisor_refuses_an_inline_comment_lookalike():
    with pytest.raises(ConfigError, match="supervisor"):
        service.supervisor_value("/srv/a ;b")


def test_cron_line_quotes_the_project_path(tmp_path):
    ctx = spaced_project(tmp_path)
    line = service.render_cron(ctx)
    assert line.startswith("@reboot cd '") and line.endswith(
        "' && ./start_scheduler.sh >> logs/boot.log 2>&1\n"
    )
    assert "\\%" in line and not re.search(r"(?<!\\)%", line)  # cron turns a bare % into a newline
    command = line.removeprefix("@reboot ").replace("\\%", "%")
    assert shlex.split(command)[:3] == ["cd", str(ctx.project_dir), "&&"]

    proc = cli("--cron", "--print")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == service.render_cron(
        service.ServiceContext(PROJECT_DIR, service.default_python(PROJECT_DIR))
    )
    assert proc.stdout.startswith("@reboot cd ")


# -- writing ------------------------------------------------------------------------------------
def test_print_has_no_side_effects(tmp_path):
    target = tmp_path / "out" / "fund-scheduler.service"
    config_home = tmp_path / "xdg"
    for args in (("--print",), ("--user", "--print"), ("--supervisor", "--print")):
        proc = cli(*args, "--output", str(target), env={"XDG_CONFIG_HOME": str(config_home)})
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        assert proc.stdout.startswith(("# fund-scheduler", "; fund-scheduler"))
        assert "next:" not in proc.stdout
    proc = cli("--user", "--print", env={"XDG_CONFIG_HOME": str(config_home)})
    assert proc.returncode == 0
    assert list(tmp_path.iterdir()) == []


def test_install_writes_then_refuses_to_overwrite_a_different_file(tmp_path):
    target = tmp_path / "units" / "fund-scheduler.service"
    first = cli("--output", str(target))
    assert first.returncode == 0, first.stderr
    assert f"wrote: {target}" in first.stdout
    assert "systemctl daemon-reload && systemctl enable --now fund-scheduler" in first.stdout
    rendered = target.read_text()
    assert rendered == cli("--print").stdout
    assert target.stat().st_mode & 0o777 == 0o644

    again = cli("--output", str(target))
    assert again.returncode == 0 and f"unchanged: {target}" in again.stdout

    target.write_text(rendered + "# local edit\n")
    refused = cli("--output", str(target))
    assert refused.returncode == 1
    assert "exists with different content" in refused.stderr and "--force" in refused.stderr
    assert target.read_text().endswith("# local edit\n")

    forced = cli("--output", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert target.read_text() == rendered


def test_user_install_goes_to_the_user_unit_directory(tmp_path):
    proc = cli("--user", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    target = tmp_path / "systemd" / "user" / "fund-scheduler.service"
    assert target.is_file() and "WantedBy=default.target" in target.read_text()
    assert "systemctl --user daemon-reload && systemctl --user enable --now fund-scheduler" in proc.stdout


@needs_systemd_analyze
def test_an_installed_copy_runs_the_module_from_its_home(tmp_path):
    ctx = spaced_project(tmp_path, checkout=False)
    unit = service.render_systemd(ctx)
    escaped = str(ctx.project_dir).replace("%", "%%")
    assert settings_of(unit)["ExecStart"] == [f'"{escaped}/.venv/bin/python" -m fund_scheduler run']
    assert settings_of(unit)["WorkingDirectory"] == [escaped]
    verify(unit, tmp_path)
    program = configparser.RawConfigParser()
    program.read_string(service.render_supervisor(ctx))
    section = program["program:fund-scheduler"]
    assert shlex.split(section["command"].replace("%%", "%")) == [
        str(ctx.python),
        "-m",
        "fund_scheduler",
        "run",
    ]
    line = service.render_cron(ctx).removeprefix("@reboot ").replace("\\%", "%")
    assert shlex.split(line)[:7] == [
        "cd",
        str(ctx.project_dir),
        "&&",
        str(ctx.python),
        "-m",
        "fund_scheduler",
        "start",
    ]
