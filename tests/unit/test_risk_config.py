"""The `[risk]` config section: defaults, validation errors with their keys, `check-config` checks."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from fixgw.config import ConfigError, parse_config
from fixgw.risk.configcheck import check_risk


def test_defaults_collar_ten_percent_and_nothing_else() -> None:
    risk = parse_config({}).risk
    assert risk.enabled and risk.defaults.price_collar_pct == Decimal(10)
    assert risk.defaults.max_order_qty is None and risk.duplicate_window_ms == 0
    # Setting one default keeps the others' defaults.
    assert parse_config({"risk": {"defaults": {"max_order_qty": 5}}}).risk.defaults.price_collar_pct == 10


@pytest.mark.parametrize(("section", "key", "reason"), [
    ({"defaults": {"max_order_qty": 1.5}}, "risk.defaults.max_order_qty", "refusing float"),
    ({"defaults": {"max_order_qty": "0"}}, "risk.defaults.max_order_qty", "greater than 0"),
    ({"accounts": {"A": {"credit_limt": "5"}}}, "risk.accounts.A.credit_limt", "unknown key"),
    ({"asset_classes": {"stonks": {}}}, "risk.asset_classes.stonks", ""),
    ({"venues": {"nowhere": {}}}, "risk.venues.nowhere", "unknown venue"),
    ({"ems": {"nobody": {}}}, "risk.ems.nobody", "unknown EMS session"),
    ({"breakers": {"reject_rate_pct": "101"}}, "risk.breakers.reject_rate_pct", ""),
])
def test_invalid_risk_config_names_the_key(section: dict[str, object], key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"risk": section})
    assert any(problem_key.startswith(key) and reason in text for problem_key, text in caught.value.problems), \
        caught.value.problems


def test_check_config_finds_unknown_instruments_and_untradable_accounts(tmp_path: Path) -> None:
    ems = {"e": {"target_comp_id": "E", "allowed_accounts": ["A1"]}}
    config = parse_config({"state_dir": str(tmp_path), "ems": ems,
                           "risk": {"instruments": {"AAPL": {}, "NOPE": {}}, "accounts": {"A1": {}, "A2": {}}}})
    assert [key for key, _ in check_risk(config)] == ["risk.instruments.NOPE", "risk.accounts.A2"]


def test_answer_deadlines_are_positive_seconds() -> None:
    from pydantic import ValidationError

    from fixgw.risk.settings import RiskConfig

    assert (RiskConfig().max_unanswered_s, RiskConfig().unknown_order_grace_s) == (30.0, 60.0)
    for key, value in (("max_unanswered_s", 0), ("unknown_order_grace_s", -1)):
        with pytest.raises(ValidationError, match=key):
            RiskConfig(**{key: value})
