"""`[dropcopy.<name>]` and `[retention]`: schema, check-config problems, summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixgw.cli import main
from fixgw.config import ConfigError, parse_config
from fixgw.configcheck import deep_check, summarize


def config(**extra: Any) -> dict[str, Any]:
    return {"ems": {"ems-a": {"target_comp_id": "EMS-A"}},
            "brokers": {"equities": {"target_comp_id": "BROKER", "port": 9000}},
            "routing": {"default": "equities"}, **extra}


def problems(data: dict[str, Any]) -> dict[str, str]:
    return {key: reason for key, reason in deep_check(parse_config(data)) if "dropcopy" in key}


def test_a_valid_drop_copy_section_and_its_summary() -> None:
    parsed = parse_config(config(dropcopy={"cmp": {"target_comp_id": "COMPLIANCE", "accounts": ["ACC1"],
                                                   "venues": ["equities"]}}, retention={"days": 90}))
    assert problems(config(dropcopy={"cmp": {"target_comp_id": "COMPLIANCE"}})) == {}
    lines = summarize(parsed)
    assert "  drop copy cmp: FIX.4.4 FIXGW->COMPLIANCE on 127.0.0.1:9879, ACC1, equities" in lines
    assert "retention: 90 day(s), reconciled-clean days only" in lines


def test_schema_errors_name_their_key() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(config(dropcopy={"cmp": {"target_comp_id": "C", "begin_string": "FIX.4.2", "acount": []}},
                            retention={"days": 0}))
    keys = {key for key, _ in raised.value.problems}
    assert {"dropcopy.cmp.begin_string", "dropcopy.cmp.acount", "retention.days"} <= keys


def test_check_config_finds_what_would_fail_at_start() -> None:
    found = problems(config(
        acceptor={"port": 9900},
        dropcopy={"a": {"target_comp_id": "EMS-A", "sender_comp_id": "FIXGW"},
                  "b": {"target_comp_id": "B", "port": 9900, "venues": ["nowhere"], "quickfix": {"ResetOnLogon": "Y"}},
                  "c": {"target_comp_id": "B", "port": 9901}},
        venues={}))
    assert "ems.ems-a" in found["dropcopy.a"]
    assert "EMS acceptor" in found["dropcopy.b.port"] and "nowhere" in found["dropcopy.b.venues"]
    assert "dropcopy.b.quickfix.ResetOnLogon" in found and "dropcopy.b" in found["dropcopy.c"]
    clash = config(dropcopy={"x": {"target_comp_id": "X"}})
    clash["ems"]["dropcopy"] = {"target_comp_id": "OTHER"}
    assert "ems.dropcopy" in problems(clash)


def test_check_config_command_exits_1_on_a_drop_copy_problem(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text('[ems.ems-a]\ntarget_comp_id = "EMS-A"\n[dropcopy.cmp]\ntarget_comp_id = "C"\nport = 9878\n')
    assert main(["check-config", str(path)]) == 1
