"""Settings from the environment: defaults, the MySQL URL, and one clear ConfigError per bad value."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

from fund_common.redaction import mask_url
from fund_scheduler.errors import ConfigError
from fund_scheduler.settings import Settings

PASSWORD = "p@ss:w/rd%20?#"  # every character that must be escaped in a URL


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"SCHEDULER_HOME": str(tmp_path), **env})


def config_error(tmp_path: Path, **env: str) -> str:
    with pytest.raises(ConfigError) as info:
        settings(tmp_path, **env)
    assert info.value.exit_code == 2
    return str(info.value)


def test_defaults_follow_scheduler_home(tmp_path: Path) -> None:
    s = settings(tmp_path)
    home = tmp_path.resolve()
    assert s.home == home
    assert s.log_dir == home / "logs"
    assert s.pid_file == home / "logs" / "scheduler.pid"
    assert s.control_socket == home / "logs" / "scheduler.sock"
    assert s.scheduler_log == home / "logs" / "scheduler.log"
    assert s.job_log_dir == home / "logs" / "jobs"
    assert s.database_url.get_backend_name() == "sqlite"
    assert Path(s.database_url.database) == home / "data" / "scheduler.db"
    assert s.timezone == ZoneInfo("Asia/Shanghai")
    assert s.misfire_grace_time == 3600
    assert s.history_retention_days == 7
    assert s.run_on_first_start is True
    assert s.jobs_packages == ("jobs",)


def test_reading_settings_creates_nothing(tmp_path: Path) -> None:
    settings(tmp_path / "home")
    assert not (tmp_path / "home").exists()


def test_explicit_paths_and_values_win(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        SCHEDULER_LOG_DIR=str(tmp_path / "elsewhere"),
        SCHEDULER_PID_FILE=str(tmp_path / "run" / "s.pid"),
        SCHEDULER_TIMEZONE="Europe/Paris",
        SCHEDULER_MISFIRE_GRACE_TIME="120",
        SCHEDULER_RUN_ON_FIRST_START="No",
        SCHEDULER_JOBS_PACKAGES=" jobs , extra_jobs ,",
    )
    assert s.log_dir == (tmp_path / "elsewhere").resolve()
    assert s.pid_file == (tmp_path / "run" / "s.pid").resolve()
    assert s.timezone == ZoneInfo("Europe/Paris")
    assert s.misfire_grace_time == 120
    assert s.run_on_first_start is False
    assert s.jobs_packages == ("jobs", "extra_jobs")


def test_mysql_variables_build_an_escaped_pymysql_url_masked_everywhere(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        MYSQL_HOST="db.example.org",
        MYSQL_PORT="3307",
        MYSQL_USER="fund",
        MYSQL_PASSWORD=PASSWORD,
        MYSQL_DB="funds",
    )
    url = s.database_url
    assert url.drivername == "mysql+pymysql"
    assert (url.host, url.port, url.username, url.database) == ("db.example.org", 3307, "fund", "funds")
    assert url.query["charset"] == "utf8mb4"
    rendered = url.render_as_string(hide_password=False)
    assert PASSWORD not in rendered  # escaped in the URL text ...
    assert make_url(rendered).password == PASSWORD  # ... and parsed back intact
    assert PASSWORD not in s.masked_database_url
    assert "***" in s.masked_database_url
    described = s.describe()
    assert described["DATABASE_URL"] == s.masked_database_url
    assert all(PASSWORD not in value for value in described.values())
    assert PASSWORD not in repr(s)


def test_mysql_host_without_user_or_db(tmp_path: Path) -> None:
    message = config_error(tmp_path, MYSQL_HOST="db")
    assert "MYSQL_USER" in message and "MYSQL_DB" in message


def test_database_url_wins_over_mysql_variables(tmp_path: Path) -> None:
    s = settings(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/x.db", MYSQL_HOST="db")
    assert s.database_url.database == f"{tmp_path}/x.db"


def test_plain_mysql_url_uses_pymysql(tmp_path: Path) -> None:
    s = settings(tmp_path, DATABASE_URL="mysql://u:secret@db/funds")
    assert s.database_url.drivername == "mysql+pymysql"
    assert "secret" not in s.masked_database_url


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SCHEDULER_TIMEZONE", "Mars/Olympus_Mons", "timezone"),
        ("SCHEDULER_TIMEZONE", "../../etc/passwd", "timezone"),
        ("DATABASE_URL", "not a url", "not a valid database URL"),
        ("DATABASE_URL", "postgresql://u@db/funds", "not supported"),
        ("DATABASE_URL", "mysql+mysqldb://u@db/funds", "not supported"),
        ("DATABASE_URL", "sqlite:///:memory:", "in-memory"),
        ("SCHEDULER_MISFIRE_GRACE_TIME", "soon", "whole number"),
        ("SCHEDULER_MISFIRE_GRACE_TIME", "0", "at least 1"),
        ("SCHEDULER_MISFIRE_GRACE_TIME", "-5", "at least 1"),
        ("SCHEDULER_MAX_WORKERS", "1.5", "whole number"),
        ("HISTORY_RETENTION_DAYS", "0", "at least 1"),
        ("MYSQL_PORT", "db", "whole number"),
        ("SCHEDULER_RUN_ON_FIRST_START", "Maybe", "boolean"),
    ],
)
def test_invalid_value_names_variable_and_value(tmp_path: Path, name: str, value: str, says: str) -> None:
    env = {name: value}
    if name == "MYSQL_PORT":
        env.update(MYSQL_HOST="db", MYSQL_USER="u", MYSQL_DB="d")
    message = config_error(tmp_path, **env)
    assert message.startswith(f"{name}=")
    assert repr(value) in message
    assert says in message


@pytest.mark.parametrize(
    "url",
    [
        "mysql+pymysql://fund:hunter2@db:notaport/funds",  # port is not a number
        "mysql+pymysql://fund:hunter2@[::1/funds",  # broken IPv6 host
        "postgresql://fund:hunter2@db/funds",  # parses, but unsupported
        "mysql+mysqldb://fund:hunter2@db/funds",  # parses, unsupported driver
        "://fund:hunter2@db",  # no scheme at all
    ],
)
def test_bad_database_url_never_shows_the_password(tmp_path: Path, url: str) -> None:
    message = config_error(tmp_path, DATABASE_URL=url)
    assert "DATABASE_URL=" in message
    assert "hunter2" not in message
    assert "fund:***@" in message


def test_database_urls_are_masked_by_the_one_rule() -> None:
    assert mask_url("mysql://u:p@ss@host/db") == "mysql://u:***@host/db"
    assert mask_url("mysql://u@host/db") == "mysql://u@host/db"
    assert mask_url("no scheme here") == "no scheme here"


def test_empty_jobs_packages_is_refused(tmp_path: Path) -> None:
    assert "SCHEDULER_JOBS_PACKAGES" in config_error(tmp_path, SCHEDULER_JOBS_PACKAGES=" , ")


def test_log_redaction_covers_database_password_and_url_credentials(tmp_path):
    import logging

    from fund_scheduler.logsetup import RedactSecrets, secrets_of

    settings = Settings.from_env(
        {
            "SCHEDULER_HOME": str(tmp_path),
            "DATABASE_URL": "mysql+pymysql://u:dbsecret@h/d",
            "FUND_HTTP_URL": "https://feed:feedpass@example.test/nav/{date}?token=t0ken123&day={date}",
            "ALERT_WEBHOOK_URL": "https://hooks.example.test/services/T0AAAAAAA/B0BBBBBBB/sl4ckS3cretKey",
        }
    )
    secrets = secrets_of(settings)
    assert {"dbsecret", "feedpass", "t0ken123"} <= set(secrets)
    assert {"T0AAAAAAA", "B0BBBBBBB", "sl4ckS3cretKey"} <= set(secrets)
    assert "services" not in secrets  # the first path segment names the endpoint, not a key
    wecom = Settings.from_env(
        {
            "SCHEDULER_HOME": str(tmp_path),
            "ALERT_WEBHOOK_URL": "https://qyapi.example.test/cgi-bin/webhook/send?key=wecomKey123",
        }
    )
    assert set(secrets_of(wecom)) == {"wecomKey123"}  # "webhook" and "send" stay readable
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "GET %s with %s", ("t0ken123", "dbsecret"), None
    )
    RedactSecrets(secrets).filter(record)
    assert record.getMessage() == "GET *** with ***"


def test_alert_urls_enable_alerts_split_on_blanks_and_commas_and_show_masked(tmp_path: Path) -> None:
    from fund_scheduler.logsetup import secrets_of

    s = settings(
        tmp_path,
        ALERT_URLS="json://ops:hookpass@127.0.0.1:8099/alerts/LongHookKey1,\n wecombot://WeComKey42 ",
    )
    assert s.alerts.enabled and s.alerts.urls == (
        "json://ops:hookpass@127.0.0.1:8099/alerts/LongHookKey1",
        "wecombot://WeComKey42",
    )
    assert s.describe()["ALERT_URLS"] == "json://ops:***@127.0.0.1:8099/alerts/*** wecombot://***"
    assert {"hookpass", "LongHookKey1", "WeComKey42"} <= set(secrets_of(s))
    assert "127.0.0.1" not in secrets_of(s) and "alerts" not in secrets_of(s)  # a host, an endpoint
    problem = config_error(tmp_path, ALERT_URLS="wecombot://ok hookpass")
    assert "ALERT_URLS entry 2 ('***') is not an apprise URL" in problem and "hookpass" not in problem


def test_the_migrations_runner_keeps_its_old_name_and_can_be_turned_off(tmp_path: Path) -> None:
    base = {"SCHEDULER_HOME": str(tmp_path)}
    assert Settings.from_env(base).migrations == "fund_scheduler_migrations.runner:upgrade"
    old = Settings.from_env({**base, "SCHEDULER_MIGRATIONS": "migrations.runner:upgrade"})
    assert old.migrations == "fund_scheduler_migrations.runner:upgrade"
    assert Settings.from_env({**base, "SCHEDULER_MIGRATIONS": "none"}).migrations is None
    assert "module:function" in config_error(tmp_path, SCHEDULER_MIGRATIONS="nonsense")


def test_remote_runs_settings_default_to_running_here(tmp_path: Path) -> None:
    remote = settings(tmp_path).remote
    assert (remote.broker_url, remote.default_executor, remote.default_queue) == (None, "process", "default")
    assert (remote.heartbeat, remote.lease, remote.queue_timeout) == (10.0, 60.0, 600.0)


def test_the_broker_url_is_a_secret_masked_everywhere(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path, SCHEDULER_BROKER_URL="redis://:hunter2pw@10.0.0.5:6379/0", SCHEDULER_EXECUTOR="celery"
    )
    assert loaded.remote.default_executor == "celery"
    assert "hunter2pw" not in repr(loaded) and "hunter2pw" not in str(loaded.describe())
    assert loaded.describe()["SCHEDULER_BROKER_URL"] == "redis://:***@10.0.0.5:6379/0"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SCHEDULER_EXECUTOR": "celery"}, "SCHEDULER_EXECUTOR=celery needs SCHEDULER_BROKER_URL"),
        (
            {"SCHEDULER_BROKER_URL": "http://u:secretpw@h/"},
            "SCHEDULER_BROKER_URL='http://u:***@h/' is not a broker URL",
        ),
        ({"SCHEDULER_QUEUE": "a b"}, "SCHEDULER_QUEUE='a b' is not a queue name"),
        ({"SCHEDULER_WORKER_HEARTBEAT": "10", "SCHEDULER_WORKER_LEASE": "15"}, "must be at least twice"),
    ],
)
def test_bad_remote_settings_name_the_variable(tmp_path: Path, env: dict[str, str], says: str) -> None:
    message = config_error(tmp_path, **env)
    assert says in message and "secretpw" not in message
