"""End to end: the real scripts and daemon processes in a temporary SCHEDULER_HOME."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.bundled import BUNDLED
from tests.support.harness import FAR_AWAY, PROJECT, PY, pid_alive, set_next_run_times, wait_for

pytestmark = pytest.mark.e2e


def test_lifecycle_start_status_second_start_run_job_stop(home):
    started = home.script("start_scheduler.sh")
    assert started.returncode == 0, started.stderr
    assert "scheduler started: PID" in started.stdout
    assert str(home.scheduler_log) in started.stdout
    assert "daily_collection" in started.stdout and "next run" in started.stdout
    pid = home.daemon_pid()
    assert pid

    status = home.script("check_scheduler.sh")
    assert status.returncode == 0, status.stderr
    for job_id in BUNDLED:
        assert job_id in status.stdout
    assert "running" in status.stdout and f"PID {pid}" in status.stdout
    assert "weekly_pipeline is disabled" in status.stdout

    again = home.script("start_scheduler.sh")
    assert again.returncode == 0
    assert f"already running (PID {pid})" in again.stdout
    daemons = subprocess.run(["pgrep", "-f", "scheduler_daemon.py run.*"], capture_output=True, text=True)
    ours = [p for p in daemons.stdout.split() if _home_of(int(p)) == str(home.root)]
    assert ours == [str(pid)]

    run = home.cli("run-job", "daily_collection", "--wait")
    assert run.returncode == 0, run.stdout + run.stderr
    assert " success (for " in run.stdout and "; through the daemon)" in run.stdout
    rows = home.history("--job", "daily_collection")
    assert rows[0]["status"] == "success" and rows[0]["trigger"] == "manual"
    assert rows[0]["pid"] and rows[0]["duration"] > 0
    assert '"staged"' in rows[0]["output_tail"]
    assert f"job=daily_collection execution={rows[0]['id']} success" in home.scheduler_log.read_text()

    stopped = home.script("stop_scheduler.sh")
    assert stopped.returncode == 0, stopped.stderr
    assert not pid_alive(pid)
    assert not home.pid_file.exists()
    assert home.script("check_scheduler.sh").returncode == 3
    again = home.script("stop_scheduler.sh")
    assert again.returncode == 0 and "not running" in again.stdout
    log = home.scheduler_log.read_text()
    assert "scheduler ready" in log and "scheduler stopped" in log


def _home_of(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read().split(b"\0")
    except OSError:
        return None
    for item in environ:
        if item.startswith(b"SCHEDULER_HOME="):
            return item.split(b"=", 1)[1].decode()
    return None


def test_kill_9_leaves_stale_pid_file_and_start_still_works(home):
    assert home.cli("start").returncode == 0
    pid = home.daemon_pid()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid), 10, "daemon dead")
    assert home.pid_file.exists()
    status = home.cli("status")
    assert status.returncode == 1, status.stdout
    assert "stale PID file" in status.stdout
    restarted = home.cli("start")
    assert restarted.returncode == 0, restarted.stderr
    assert home.daemon_pid() not in (None, pid)
    assert home.cli("stop").returncode == 0


def test_stop_with_stale_pid_file_never_signals_the_named_process(home):
    # A PID file naming a live, unrelated process (ours), without the lock: stop must not kill it.
    victim = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])
    try:
        home.logs.mkdir(parents=True)
        home.pid_file.write_text(f"{victim.pid}\n")
        result = home.cli("stop")
        assert result.returncode == 0
        assert "stale PID file" in result.stdout
        assert victim.poll() is None
        assert home.cli("status").returncode == 3
    finally:
        victim.kill()
        victim.wait()


def _daemons_of(home) -> list[int]:
    daemons = subprocess.run(["pgrep", "-f", "scheduler_daemon.py run"], capture_output=True, text=True)
    return [int(p) for p in daemons.stdout.split() if _home_of(int(p)) == str(home.root)]


def test_twenty_concurrent_starts_leave_exactly_one_daemon(home):
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: home.cli("start", timeout=120), range(20)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert sum("scheduler started" in r.stdout for r in results) == 1
    assert sum("already running" in r.stdout for r in results) == 19
    assert _daemons_of(home) == [home.daemon_pid()]


@pytest.mark.parametrize("delay", [0.0, 1.5])
def test_stop_while_a_daemon_starts_waits_for_it_and_stops_it(home, delay):
    """``start &`` then ``stop``: never "not running" while a daemon comes up, none left behind.

    A job package that takes 1.5 s to import holds ``start`` (and then its daemon) in the window
    before the PID file is locked; ``stop`` comes at its beginning or while the daemon imports.
    """
    from fund_scheduler.daemon.pidfile import start_in_progress

    (home.root / "slow_import_jobs.py").write_text("import time\n\ntime.sleep(1.5)\n")
    env = {
        "SCHEDULER_JOBS_PACKAGES": "jobs,slow_import_jobs",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(home.root), os.environ.get("PYTHONPATH")])),
    }
    starter = subprocess.Popen(
        [PY, "scheduler_daemon.py", "start"],
        env={**home.env, **env},
        cwd=str(PROJECT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: start_in_progress(home.pid_file), 20, "start under way", interval=0.02)
        time.sleep(delay)
        stop = home.cli("stop", env=env)
        out, err = starter.communicate(timeout=60)
    finally:
        if starter.poll() is None:
            starter.kill()
    assert stop.returncode == 0, stop.stderr
    assert "not running" not in stop.stdout
    assert "scheduler stopped" in stop.stdout
    assert starter.returncode in (0, 1), err  # ready just before the stop, or stopped first
    if starter.returncode == 1:
        assert "stopped before it became ready" in err
    wait_for(lambda: not _daemons_of(home), 10, "no daemon of this home left")
    assert home.daemon_pid() is None


def test_sigterm_while_a_job_runs_lets_it_finish(home):
    home.command_job(
        "slow", [PY, "-c", "import time; print('begin', flush=True); time.sleep(3); print('end')"]
    )
    daemon = home.foreground()
    try:
        started = home.cli("run-job", "slow")
        assert started.returncode == 0, started.stderr
        wait_for(lambda: "begin" in home.job_log("slow").read_text(), 10, "job started")
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, output
    assert "waiting up to 30s for 1 running execution" in output
    row = home.history("--job", "slow")[0]
    assert row["status"] == "success"
    assert "end" in home.job_log("slow").read_text()


_SPAWNER = """
import subprocess, sys, time
child = subprocess.Popen(["sleep", "300"])
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(child.pid))
import os; os.replace(sys.argv[1] + ".tmp", sys.argv[1])
print("spawned", flush=True)
time.sleep(300)
"""


def _spawner(home):
    """A job that starts a grandchild (writing its PID to argv[1]) and hangs."""
    path = home.root / "spawner.py"
    path.write_text(_SPAWNER)
    return path


def test_stop_timeout_interrupts_the_running_job_and_kills_its_group(home):
    child_pid_file = home.root / "child.pid"
    home.command_job("stubborn", [PY, _spawner(home), child_pid_file])
    assert home.cli("start").returncode == 0
    assert home.cli("run-job", "stubborn").returncode == 0
    wait_for(child_pid_file.exists, 10, "grandchild started")
    grandchild = int(child_pid_file.read_text())
    stopped = home.cli("stop", "--timeout", "1")
    assert stopped.returncode == 0, stopped.stderr
    wait_for(lambda: not pid_alive(grandchild), 10, "grandchild killed")
    row = home.history("--job", "stubborn")[0]
    assert row["status"] == "interrupted"


def test_job_exceeding_its_timeout_is_killed_with_its_children(home):
    child_pid_file = home.root / "child.pid"
    home.command_job("hang", [PY, _spawner(home), child_pid_file], timeout=2)
    result = home.cli("run-job", "hang")  # no daemon: runs in this command, same runner
    assert result.returncode == 1
    assert "timeout" in result.stdout
    grandchild = int(child_pid_file.read_text())
    wait_for(lambda: not pid_alive(grandchild), 10, "grandchild killed")
    row = home.history("--job", "hang")[0]
    assert row["status"] == "timeout"
    assert "timed out after 2s" in row["error"]
    assert 1.5 < row["duration"] < 15


def test_failing_command_is_recorded_with_its_last_output_line(home):
    home.command_job("broken", [PY, "-c", "import sys; print('working'); sys.exit('disk full on /data')"])
    assert home.cli("start").returncode == 0
    result = home.cli("run-job", "broken", "--wait")
    assert result.returncode == 1
    row = home.history("--job", "broken")[0]
    assert row["status"] == "failed" and row["exit_code"] == 1
    assert row["error"] == "disk full on /data"
    assert "working" in row["output_tail"]
    failures = home.cli("status")
    assert "failures in the last 24 h: 1" in failures.stdout


def test_pause_survives_restart_and_resume(home):
    assert home.cli("pause", "daily_metrics").returncode == 3  # no daemon
    assert home.cli("start").returncode == 0
    assert home.cli("pause", "no_such_job").returncode == 2
    paused = home.cli("pause", "daily_metrics")
    assert paused.returncode == 0, paused.stderr
    assert home.cli("stop").returncode == 0
    assert home.cli("start").returncode == 0
    jobs = home.cli("jobs")
    line = next(line for line in jobs.stdout.splitlines() if line.startswith("daily_metrics"))
    assert line.rstrip().endswith("paused")
    resumed = home.cli("resume", "daily_metrics")
    assert resumed.returncode == 0 and "next run" in resumed.stdout
    line = next(line for line in home.cli("jobs").stdout.splitlines() if line.startswith("daily_metrics"))
    assert line.rstrip().endswith("active")


def test_missed_runs_at_restart_run_once_within_grace_and_record_older(home):
    """Rewind stored next run times, as if the daemon had been down, then start."""
    assert home.cli("start").returncode == 0
    assert home.cli("stop").returncode == 0
    now = datetime.now(UTC)
    set_next_run_times(
        home.database_url,
        # within grace (3600 s): 10 minutes late -> runs once at start
        cleanup_old_job_executions=now - timedelta(minutes=10),
        # far older than grace: two weeks -> recorded missed, not run
        weekly_full_calc=lambda job: job.trigger.get_next_fire_time(None, now - timedelta(days=15)),
    )
    assert home.cli("start").returncode == 0
    wait_for(
        lambda: any(r["status"] != "running" for r in home.history("--job", "cleanup_old_job_executions")),
        20,
        "catch-up run finished",
    )
    cleanup = home.history("--job", "cleanup_old_job_executions")
    assert [r["status"] for r in cleanup] == ["success"]
    assert cleanup[0]["trigger"] == "schedule"
    missed = home.history("--job", "weekly_full_calc")
    assert missed and {r["status"] for r in missed} == {"missed"}
    assert "missed" in home.scheduler_log.read_text()


def test_cli_errors_are_clear_and_exit_2(home):
    bad_tz = home.cli("start", env={"SCHEDULER_TIMEZONE": "Mars/Olympus_Mons"})
    assert bad_tz.returncode == 2
    assert (
        bad_tz.stderr.strip() == "error: SCHEDULER_TIMEZONE='Mars/Olympus_Mons' is not a known IANA timezone"
    )
    assert home.daemon_pid() is None
    foreground = home.script(
        "start_scheduler.sh", "--foreground", env={"DATABASE_URL": "nosuchdb://x:secret@h/d"}
    )
    assert foreground.returncode == 2
    assert "DATABASE_URL='nosuchdb://x:***@h/d'" in foreground.stderr and "secret" not in foreground.stderr
    result = home.cli("check-config", env={"SCHEDULER_MISFIRE_GRACE_TIME": "soon"})
    assert result.returncode == 2
    assert "SCHEDULER_MISFIRE_GRACE_TIME='soon' is not a whole number" in result.stderr
    home.write_jobs("""
        [jobs.daily_collection]
        cron = "61 19 * * mon-fri"
        [jobs.daily_metrics]
        colour = "blue"
    """)
    check = home.cli("check-config")
    assert check.returncode == 2
    lines = check.stderr.strip().splitlines()
    assert any("[jobs.daily_collection]" in line and "61" in line for line in lines), lines
    assert any("[jobs.daily_metrics]" in line and "colour" in line for line in lines), lines
    started = home.cli("start")  # the daemon it starts refuses, and start prints its reasons
    assert started.returncode == 2 and home.daemon_pid() is None
    assert "[jobs.daily_collection]" in started.stderr and "colour" in started.stderr, started.stderr
    assert home.cli("run-job", "nope").returncode == 2
    assert home.cli("next", "nope").returncode == 2


def test_run_job_without_daemon_runs_in_process_and_records(home):
    result = home.cli("run-job", "cleanup_old_job_executions")
    assert result.returncode == 0, result.stderr
    assert "no daemon running" in result.stdout
    row = home.history()[0]
    assert (row["job_id"], row["status"], row["trigger"]) == (
        "cleanup_old_job_executions",
        "success",
        "manual",
    )
    disabled = home.cli("run-job", "weekly_pipeline")
    assert disabled.returncode == 1 and "disabled" in disabled.stderr


def test_next_lists_fire_times_in_the_job_timezone(home):
    result = home.cli("next", "weekly_pipeline", "--count", "3")
    assert result.returncode == 0
    lines = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(lines) == 3 and all("02:00:00 UTC (Sun)" in line for line in lines)


@pytest.mark.skipif(sys.platform != "linux", reason="uses /proc")
def test_control_socket_is_private(home):
    assert home.cli("start").returncode == 0
    mode = (home.logs / "scheduler.sock").stat().st_mode & 0o777
    assert mode == 0o600


def test_first_start_backfills_demo_data_and_runs_the_daily_chain(home):
    home.env["SCHEDULER_RUN_ON_FIRST_START"] = "true"
    started = home.script("start_scheduler.sh")
    assert started.returncode == 0, started.stderr

    def chain_done():
        rows = {r["job_id"]: r for r in reversed(home.history())}
        return rows.get("daily_metrics", {}).get("status") not in (None, "running") and rows

    rows = wait_for(chain_done, 90, "collection -> validation -> metrics")
    assert rows["daily_collection"]["status"] == "success"
    assert rows["daily_collection"]["trigger"] == "startup"
    assert rows["daily_validation"]["status"] == "success"
    assert rows["daily_validation"]["trigger"] == "dependency"
    assert rows["daily_metrics"]["status"] == "success", rows["daily_metrics"]
    status = home.script("check_scheduler.sh")
    assert status.returncode == 0
    assert "success" in status.stdout
    assert "result:" in home.job_log("daily_metrics").read_text()
    dashboard = home.cli("dashboard")
    assert dashboard.returncode == 0, dashboard.stderr
    assert "== fund data ==" in dashboard.stdout and "fund_nav" in dashboard.stdout
    panel = json.loads(home.cli("dashboard", "--json").stdout)["panels"][0]
    assert panel["title"] == "fund data" and panel["data"]
    # The daemon itself never imports pandas: the fund work ran in child processes.
    pid = home.daemon_pid()
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "pandas" not in maps
    # A second start of the same home does not bootstrap again.
    assert home.cli("stop").returncode == 0
    assert home.cli("start").returncode == 0
    assert sum(r["trigger"] == "startup" for r in home.history()) == 1


def test_second_signal_forces_the_stop(home):
    home.command_job("long", [PY, "-c", "import time; print('begin', flush=True); time.sleep(120)"])
    daemon = home.foreground()
    try:
        assert home.cli("run-job", "long").returncode == 0
        wait_for(lambda: "begin" in home.job_log("long").read_text(), 10, "job started")
        daemon.send_signal(signal.SIGTERM)
        wait_for(lambda: "waiting up to 30s" in home.scheduler_log.read_text(), 10, "graceful stop began")
        daemon.send_signal(signal.SIGINT)
        output, _ = daemon.communicate(timeout=20)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, output
    assert "forced by a second signal" in output
    assert home.history("--job", "long")[0]["status"] == "interrupted"


def test_start_that_cannot_become_ready_exits_1_with_the_log_tail(home):
    if home.backend == "sqlite":
        blocker = home.root / "not-a-dir"
        blocker.write_text("a file where the data folder should be")
        broken = f"sqlite:///{blocker}/scheduler.db"
        secret = None
    else:  # the server answers but refuses the credentials
        url = make_url(home.database_url)
        secret = "wrong-" + url.password
        broken = url.set(password=secret).render_as_string(hide_password=False)
    result = home.cli("start", env={"DATABASE_URL": broken})
    assert result.returncode == 1
    assert "before it was ready" in result.stderr
    assert "last lines of" in result.stderr and "start-up failed" in result.stderr
    assert home.daemon_pid() is None
    if secret is not None:
        assert "Access denied" in result.stderr
        assert secret not in result.stdout + result.stderr + home.scheduler_log.read_text()


def test_job_orphaned_by_kill_9_is_terminated_and_recorded_at_next_start(home):
    child_pid_file = home.root / "child.pid"
    home.command_job("orphan", [PY, _spawner(home), child_pid_file])
    assert home.cli("start").returncode == 0
    assert home.cli("run-job", "orphan").returncode == 0
    wait_for(child_pid_file.exists, 10, "job started")
    grandchild = int(child_pid_file.read_text())
    job_pid = home.history("--job", "orphan")[0]["pid"]
    os.kill(home.daemon_pid(), signal.SIGKILL)
    wait_for(lambda: home.daemon_pid() is None, 10, "daemon dead")
    assert pid_alive(job_pid) and pid_alive(grandchild)  # its own session survived the daemon
    assert home.cli("start").returncode == 0
    wait_for(lambda: not pid_alive(job_pid) and not pid_alive(grandchild), 15, "orphan group terminated")
    row = home.history("--job", "orphan")[0]
    assert row["status"] == "interrupted"
    assert "orphaned by a daemon that died" in row["error"]


_FORKED_JOBS = f"""
import os, subprocess, sys, time
from pathlib import Path
from fund_scheduler.jobs import scheduled

@scheduled(id="sleepy", name="sleepy", cron="{FAR_AWAY}")
def sleepy(ctx):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    Path(os.environ["SCHEDULER_HOME"], "pids").write_text(f"{{os.getpid()}} {{child.pid}}")
    time.sleep(120)
"""


def test_a_forked_python_run_orphaned_by_kill_9_is_terminated_and_recorded_at_next_start(home):
    """A Python run forked by the daemon's fork server: its own session outlives the daemon and
    the server; the next daemon finds it by its process title and ends its group."""
    (home.root / "forkedjobs").mkdir()
    (home.root / "forkedjobs" / "__init__.py").write_text("")
    (home.root / "forkedjobs" / "jobs.py").write_text(_FORKED_JOBS)
    home.env.update(SCHEDULER_JOBS_PACKAGES="forkedjobs", PYTHONPATH=str(home.root))
    assert home.cli("start").returncode == 0
    assert home.cli("run-job", "sleepy").returncode == 0
    pids = home.root / "pids"
    wait_for(lambda: pids.exists() and pids.read_text(), 15, "the run and its child started")
    job_pid, grandchild = map(int, pids.read_text().split())
    server = int(Path(f"/proc/{job_pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert server != home.daemon_pid()  # forked by the fork server, not started by the daemon
    assert home.history("--job", "sleepy")[0]["pid"] == job_pid
    os.kill(home.daemon_pid(), signal.SIGKILL)
    wait_for(lambda: home.daemon_pid() is None, 10, "daemon dead")
    time.sleep(0.5)
    assert pid_alive(job_pid) and pid_alive(grandchild)
    assert home.cli("start").returncode == 0
    wait_for(lambda: not pid_alive(job_pid) and not pid_alive(grandchild), 15, "orphan group terminated")
    row = home.history("--job", "sleepy")[0]
    assert row["status"] == "interrupted" and "orphaned by a daemon that died" in row["error"]
    wait_for(lambda: not pid_alive(server), 10, "the old fork server gone once its run ended")


def test_kill_9_during_a_scheduled_run_then_the_next_fire_time_runs_once(home):
    """The daemon dies mid-run; at its next start the orphan is ended and recorded, the schedule
    goes on, and no (job, scheduled time) has two rows."""
    home.write_jobs(f"""
        [jobs.tick]
        second = "*/2"
        command = ["{PY}", "-c", "import time; print('begin', flush=True); time.sleep(60)"]
    """)
    assert home.cli("start").returncode == 0
    def a_started_run() -> dict | None:  # its process started: the row comes first, its pid after
        return next((r for r in home.history("--job", "tick") if r["status"] == "running" and r["pid"]), None)

    first = wait_for(a_started_run, 15, "a scheduled run started")
    assert first["scheduled_run_time"] and first["trigger"] == "schedule"
    os.kill(home.daemon_pid(), signal.SIGKILL)
    wait_for(lambda: home.daemon_pid() is None, 10, "daemon dead")
    assert pid_alive(first["pid"])
    assert home.cli("start").returncode == 0
    wait_for(lambda: not pid_alive(first["pid"]), 15, "the orphan's group terminated")

    def a_later_run() -> dict | None:
        return next(
            (
                r
                for r in home.history("--job", "tick")
                if r["status"] == "running" and r["scheduled_run_time"] > first["scheduled_run_time"]
            ),
            None,
        )

    wait_for(a_later_run, 20, "the schedule going on after the restart")
    assert home.cli("stop", "--timeout", "0").returncode == 0
    rows = home.history("--job", "tick")
    killed = next(r for r in rows if r["id"] == first["id"])
    assert killed["status"] == "interrupted" and "orphaned by a daemon that died" in killed["error"]
    scheduled = [r["scheduled_run_time"] for r in rows if r["scheduled_run_time"]]
    assert len(scheduled) == len(set(scheduled)), rows
    assert not any(r["status"] == "running" for r in rows)


def test_sighup_reloads_jobs_toml_and_refuses_a_broken_one(home):
    assert home.cli("start").returncode == 0
    pid = home.daemon_pid()
    home.write_jobs(f"""
        [jobs.added_later]
        cron = "{FAR_AWAY}"
        command = ["true"]
        [jobs.daily_collection]
        cron = "45 18 * * mon-fri"
    """)
    os.kill(pid, signal.SIGHUP)
    wait_for(lambda: "reloaded job specs: 1 added, 1 updated" in home.scheduler_log.read_text(), 10, "reload")
    jobs = {j["id"]: j for j in json.loads(home.cli("jobs", "--json").stdout)}
    assert jobs["added_later"]["next_run_time"].startswith(f"{datetime.now().year + 1}-01-01")
    assert "18:45:00" in jobs["daily_collection"]["next_run_time"]
    home.write_jobs("""
        [jobs.added_later]
        cron = "not a cron"
    """)
    os.kill(pid, signal.SIGHUP)
    wait_for(lambda: "reload refused" in home.scheduler_log.read_text(), 10, "refused reload")
    assert "added_later" in home.cli("status").stdout
    assert home.daemon_pid() == pid


def test_status_of_a_running_daemon_is_its_answer_and_loads_no_database_code(home):
    started = home.cli("start")
    assert started.returncode == 0, started.stdout + started.stderr
    probe = (
        "import sys\n"
        "from fund_scheduler.cli import main\n"
        "code = main(['status', '--json'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'pandas', 'apscheduler'})\n"
        "print('HEAVY', heavy, code, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [PY, "-c", probe], env=home.env, cwd=str(PROJECT), capture_output=True, text=True, timeout=60
    )
    assert "HEAVY [] 0" in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert report["state"] == "running" and report["pid"] == home.daemon_pid()
    assert report["rss_bytes"] > 10 * 2**20 and report["role"] == "active"
    assert {job["id"] for job in report["jobs"]} >= set(BUNDLED)
    assert {job["state"] for job in report["jobs"]} == {"active", "disabled"}
    assert [step["job"] for step in report["chain"]][:1] == ["daily_collection"]
    assert report["chain"][0]["timezone"] == "Asia/Shanghai" and report["failures_24h"] == []
    text = home.cli("status")
    assert text.returncode == 0 and "CST" in text.stdout.split("STEP")[1]  # deadlines in the job's zone
    server = report["fork_server"]  # started by the active daemon for its Python runs
    assert server["starts"] == 1 and server["pid"] and server["pid"] != report["pid"]
    assert f"fork server: PID {server['pid']}" in text.stdout
