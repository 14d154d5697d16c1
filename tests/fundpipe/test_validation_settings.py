"""The validation settings: defaults, parsing, and one clear problem per bad value."""

import pytest

from fundpipe.settings import FundConfigError, FundSettings, config_problems, parse_type_bounds


def test_defaults():
    settings = FundSettings.from_env({})
    assert (settings.return_bound, settings.max_jump, settings.min_coverage) == (10.0, 0.3, 0.9)
    assert settings.return_tolerance == 0.01
    assert settings.type_return_bounds() == {"bond": 5.0, "money_market": 1.0}


def test_values_are_read():
    settings = FundSettings.from_env(
        {
            "FUND_RETURN_BOUND": "12.5",
            "FUND_RETURN_BOUNDS_BY_TYPE": " Bond = 4 , money_market=0.5,债券型=4",
            "FUND_MAX_JUMP": "0.5",
            "FUND_MIN_COVERAGE": "1",
            "FUND_RETURN_TOLERANCE": "0",
        }
    )
    assert (settings.return_bound, settings.max_jump, settings.min_coverage, settings.return_tolerance) == (
        12.5,
        0.5,
        1.0,
        0.0,
    )
    assert settings.type_return_bounds() == {"bond": 4.0, "money_market": 0.5, "债券型": 4.0}
    assert FundSettings.from_env({"FUND_RETURN_BOUNDS_BY_TYPE": "None"}).type_return_bounds() == {}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"FUND_RETURN_BOUND": "0"}, "FUND_RETURN_BOUND=0.0 must be a percentage > 0 (10 for ±10 %)"),
        ({"FUND_RETURN_BOUND": "ten"}, "FUND_RETURN_BOUND='ten' is not a number"),
        ({"FUND_MAX_JUMP": "30"}, "FUND_MAX_JUMP=30.0 must be a fraction > 0 and <= 10 (0.3 for 30 %)"),
        ({"FUND_MAX_JUMP": "-0.1"}, "FUND_MAX_JUMP=-0.1 must be a fraction > 0"),
        ({"FUND_MIN_COVERAGE": "90"}, "FUND_MIN_COVERAGE=90.0 must be a share from 0 to 1 (0.9 for 90 %)"),
        ({"FUND_RETURN_TOLERANCE": "inf"}, "FUND_RETURN_TOLERANCE='inf' is not a finite number"),
        (
            {"FUND_RETURN_TOLERANCE": "11"},
            "FUND_RETURN_TOLERANCE=11.0 must be percentage points from 0 to 10",
        ),
        (
            {"FUND_RETURN_BOUNDS_BY_TYPE": "bond:5"},
            "FUND_RETURN_BOUNDS_BY_TYPE='bond:5' has 'bond:5': expected type=percent (e.g. bond=5)",
        ),
        (
            {"FUND_RETURN_BOUNDS_BY_TYPE": "bond=5,money=-1"},
            "FUND_RETURN_BOUNDS_BY_TYPE='bond=5,money=-1' has 'money=-1': the bound must be a percentage > 0",
        ),
        (
            {"FUND_RETURN_BOUNDS_BY_TYPE": "bond=5,BOND=6"},
            "FUND_RETURN_BOUNDS_BY_TYPE='bond=5,BOND=6' names type 'BOND' twice",
        ),
    ],
)
def test_each_bad_value_is_one_clear_problem(env, expected):
    problems = config_problems(env)
    assert problems == [expected] or (len(problems) == 1 and problems[0].startswith(expected))
    with pytest.raises(FundConfigError, match="FUND_"):
        FundSettings.from_env(env)


def test_direct_construction_is_validated():
    with pytest.raises(FundConfigError, match="FUND_RETURN_BOUNDS_BY_TYPE='stock' has 'stock'"):
        FundSettings(return_bounds_by_type="stock")
    with pytest.raises(FundConfigError, match="FUND_RETURN_TOLERANCE=inf must be percentage points"):
        FundSettings(return_tolerance=float("inf"))


def test_parse_type_bounds_reports_every_bad_item():
    bounds, problems = parse_type_bounds("stock=12, =3, bond=x")
    assert bounds == {"stock": 12.0}
    assert problems == [
        "has '=3': expected type=percent (e.g. bond=5)",
        "has 'bond=x': the bound must be a percentage > 0",
    ]
