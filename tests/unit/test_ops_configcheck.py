"""check-config on the [admin] and [alerts] sections."""

from __future__ import annotations

from typing import Any

import pytest

from fixgw.config import ConfigError, parse_config
from fixgw.ops.configcheck import check_ops

BASE: dict[str, Any] = {
    "ems": {"ems-a": {"target_comp_id": "EMS-A"}},
    "brokers": {"equities": {"target_comp_id": "BROKER", "port": 9000}},
}


def test_a_good_ops_config_has_no_problems() -> None:
    config = parse_config({**BASE, "admin": {"enabled": True, "token": "t", "required_sessions": ["equities"]},
                           "alerts": {"sessions": ["ems-a"], "market_hours": {"timezone": "Europe/London"}}})
    assert check_ops(config) == []


@pytest.mark.parametrize(("section", "key"), [
    ({"admin": {"required_sessions": ["nope"]}}, "admin.required_sessions"),
    ({"alerts": {"sessions": ["nope"]}}, "alerts.sessions"),
    ({"alerts": {"market_hours": {"timezone": "Mars/Olympus"}}}, "alerts.market_hours.timezone"),
    ({"alerts": {"market_hours": {"start": "09:75"}}}, "alerts.market_hours.start"),
    ({"alerts": {"market_hours": {"start": "17:00", "end": "09:00"}}}, "alerts.market_hours"),
    ({"alerts": {"market_hours": {"days": [7]}}}, "alerts.market_hours.days"),
])
def test_each_problem_names_its_key(section: dict[str, Any], key: str) -> None:
    assert [problem[0] for problem in check_ops(parse_config({**BASE, **section}))] == [key]


def test_schema_errors() -> None:
    with pytest.raises(ConfigError) as enabled_without_token:
        parse_config({"admin": {"enabled": True}})
    assert enabled_without_token.value.problems == [("admin", "token is required when the admin server is enabled")]
    with pytest.raises(ConfigError) as typo:
        parse_config({"alerts": {"evaluate_every": 5}})
    assert typo.value.problems[0][0] == "alerts.evaluate_every"
