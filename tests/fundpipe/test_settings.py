"""FundSettings: defaults, parsing of FUND_* variables, clear errors naming variable and value."""

import subprocess
import sys

import pytest

from fundpipe.settings import FundConfigError, FundSettings, config_problems


def test_defaults_when_nothing_is_set():
    settings = FundSettings.from_env({})
    assert settings == FundSettings()
    assert (settings.source, settings.demo_funds, settings.demo_history_days) == ("demo", 300, 180)
    assert settings.risk_free_rate == 0.0
    assert (settings.min_observations, settings.staging_retention_days) == (60, 30)
    assert config_problems({}) == []


def test_values_are_read_and_blank_means_default():
    env = {
        "FUND_SOURCE": " demo ",
        "FUND_DEMO_FUNDS": "25",
        "FUND_DEMO_HISTORY_DAYS": "90",
        "FUND_RISK_FREE_RATE": "0.02",
        "FUND_METRICS_MIN_OBS": "",
        "FUND_STAGING_RETENTION_DAYS": "7",
        "UNRELATED": "x",
    }
    settings = FundSettings.from_env(env)
    assert settings == FundSettings("demo", 25, 90, 0.02, 60, 7)


def test_unknown_source_names_variable_and_value():
    with pytest.raises(FundConfigError) as err:
        FundSettings.from_env({"FUND_SOURCE": "ftp"})
    assert str(err.value) == "FUND_SOURCE='ftp' is not a known source (choose from: demo, csv, http)"
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"FUND_DEMO_FUNDS": "many"}, "FUND_DEMO_FUNDS='many' is not a whole number"),
        ({"FUND_DEMO_FUNDS": "0"}, "FUND_DEMO_FUNDS=0 must be an integer from 1 to 100000"),
        ({"FUND_DEMO_HISTORY_DAYS": "60"}, "FUND_DEMO_HISTORY_DAYS=60 must be an integer >= 61"),
        ({"FUND_RISK_FREE_RATE": "2%"}, "FUND_RISK_FREE_RATE='2%' is not a number"),
        ({"FUND_RISK_FREE_RATE": "nan"}, "FUND_RISK_FREE_RATE='nan' is not a finite number"),
        ({"FUND_RISK_FREE_RATE": "1.5"}, "FUND_RISK_FREE_RATE=1.5 must be an annual rate"),
        ({"FUND_METRICS_MIN_OBS": "1"}, "FUND_METRICS_MIN_OBS=1 must be an integer >= 2"),
        ({"FUND_STAGING_RETENTION_DAYS": "0"}, "FUND_STAGING_RETENTION_DAYS=0 must be"),
        (
            {"FUND_DEMO_HISTORY_DAYS": "100", "FUND_METRICS_MIN_OBS": "120"},
            "FUND_DEMO_HISTORY_DAYS=100 gives 99 daily returns, fewer than FUND_METRICS_MIN_OBS=120",
        ),
    ],
)
def test_each_bad_value_is_one_clear_problem(env, expected):
    problems = config_problems(env)
    assert len(problems) == 1
    assert problems[0].startswith(expected)
    with pytest.raises(FundConfigError, match="FUND_"):
        FundSettings.from_env(env)


def test_all_problems_are_reported_at_once():
    env = {"FUND_SOURCE": "http", "FUND_DEMO_FUNDS": "-3", "FUND_METRICS_MIN_OBS": "x"}
    problems = config_problems(env)
    assert [p.split("=")[0] for p in problems] == [
        "FUND_METRICS_MIN_OBS",
        "FUND_SOURCE",
        "FUND_DEMO_FUNDS",
    ]
    with pytest.raises(FundConfigError) as err:
        FundSettings.from_env(env)
    assert err.value.problems == problems
    assert str(err.value) == "; ".join(problems)


def test_direct_construction_is_validated_too():
    with pytest.raises(FundConfigError, match="FUND_DEMO_FUNDS=0"):
        FundSettings(demo_funds=0)
    with pytest.raises(FundConfigError, match="FUND_RISK_FREE_RATE=nan must be an annual rate"):
        FundSettings(risk_free_rate=float("nan"))


def test_settings_import_is_cheap():
    code = (
        "import sys, fundpipe, fundpipe.settings; "
        "heavy = [m for m in ('pandas', 'numpy', 'sqlalchemy') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_calendar_and_the_operator_calendars_file(tmp_path):
    defaults = FundSettings.from_env({"SCHEDULER_HOME": "/srv/fs"})
    assert (defaults.calendar, defaults.calendars_file) == ("XSHG", "/srv/fs/config/calendars.toml")
    assert FundSettings().calendars_file.endswith("/config/calendars.toml")
    env = {"SCHEDULER_HOME": "/srv/fs", "FUND_CALENDAR": "XSHE", "SCHEDULER_CALENDARS_FILE": "etc/cal.toml"}
    chosen = FundSettings.from_env(env)
    assert (chosen.calendar, chosen.calendars_file) == ("XSHE", "/srv/fs/etc/cal.toml")
    assert (
        FundSettings.from_env({"SCHEDULER_CALENDARS_FILE": "/etc/fs/cal.toml"}).calendars_file
        == "/etc/fs/cal.toml"
    )


def test_a_bad_calendar_setting_is_one_clear_problem(tmp_path):
    assert config_problems({"FUND_CALENDAR": "X SHG"}) == [
        "FUND_CALENDAR='X SHG' is not a calendar name (an exchange code such as XSHG or XSHE)"
    ]
    assert config_problems({"FUND_CALENDAR": "../x"})[0].startswith("FUND_CALENDAR='../x' is not")
    assert config_problems({"SCHEDULER_CALENDARS_FILE": str(tmp_path)}) == [
        f"SCHEDULER_CALENDARS_FILE={str(tmp_path)!r} is a folder: it must name the calendars file "
        "(calendars.toml)"
    ]
