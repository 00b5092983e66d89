"""The console's pure parts: how a posted action is validated, and the read-only tokens' configuration."""

from __future__ import annotations

from typing import Any

import pytest

from fixgw.config import ConfigError, parse_config
from fixgw.ops.console import ActionRefused, ControlRequest, token_id

KILL_GLOBAL = {"action": "kill_set", "scope": "global", "operator": "alice", "reason": "runaway algo",
               "confirm": "global"}


@pytest.mark.parametrize(("body", "reason"), [
    ([], "the body must be a JSON object"),
    ({**KILL_GLOBAL, "action": "explode"}, "action must be one of"),
    ({**KILL_GLOBAL, "operator": "  "}, "operator is required"),
    ({**KILL_GLOBAL, "reason": "x" * 201}, "reason must be printable and at most 200"),
    ({**KILL_GLOBAL, "operator": "al\nice"}, "operator must be printable"),
    ({k: v for k, v in KILL_GLOBAL.items() if k != "confirm"}, "not confirmed"),
    ({**KILL_GLOBAL, "confirm": "venue:equities"}, "not confirmed"),
    ({**KILL_GLOBAL, "cancel_open": "yes"}, "cancel_open must be true or false"),
])
def test_a_control_request_is_validated_with_a_reason(body: Any, reason: str) -> None:
    with pytest.raises(ActionRefused) as refused:
        ControlRequest.parse(body)
    assert reason in refused.value.reason and 400 <= refused.value.status < 500


def test_a_valid_request_is_kept_as_sent() -> None:
    assert ControlRequest.parse({**KILL_GLOBAL, "cancel_open": True}) == ControlRequest(
        "kill_set", "global", "alice", "runaway algo", "global", True)


def test_a_token_id_names_a_token_without_revealing_it() -> None:
    assert token_id("secret-one") != token_id("secret-two") and len(token_id("secret-one")) == 8
    assert "secret" not in token_id("secret-one")


def test_read_only_tokens_are_secret_references_checked_by_key() -> None:
    with pytest.raises(ConfigError) as failed:
        parse_config({"admin": {"enabled": True, "token": "t", "read_only_tokens": ["env:FIXGW_TEST_NO_SUCH_TOKEN"]}})
    assert failed.value.problems == [("admin.read_only_tokens.0", "environment variable FIXGW_TEST_NO_SUCH_TOKEN "
                                                                  "is not set")]
    config = parse_config({"admin": {"enabled": True, "token": "t", "read_only_tokens": ["ro-token-value"]}})
    assert "ro-token-value" not in repr(config.admin)
    assert config.admin.read_only_tokens[0].get_secret_value() == "ro-token-value"
