"""`fixgw kill` / `fixgw risk` against a journal with no gateway running: exit codes, status, audit trail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixgw.cli import main


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "gw.toml"
    # A broker password this shell does not have: the kill switch must not need it.
    path.write_text('name = "gw"\nstate_dir = "state"\n[ems.e]\ntarget_comp_id = "E"\n'
                    '[brokers.b]\ntarget_comp_id = "B"\nport = 9\npassword = "env:FIXGW_NOT_SET_ANYWHERE"\n')
    return path


def test_kill_set_status_clear_without_a_gateway(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kill", "set", "-c", str(config), "--scope", "venue:b", "--reason", "drill", "--who", "ann",
                 "--cancel-open"]) == 0
    assert main(["risk", "lift-ramp", "-c", str(config), "--venue", "b", "--reason", "went well", "--who", "bo"]) == 0
    capsys.readouterr()
    assert main(["kill", "status", "-c", str(config), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert {(s["kind"], s["scope"], s["active"], s["cancel_open"]) for s in status["switches"]} == {
        ("kill", "venue:b", True, True), ("ramp", "venue:b", True, False)}
    assert main(["kill", "clear", "-c", str(config), "--scope", "venue:b", "--reason", "over", "--who", "ann"]) == 0
    capsys.readouterr()
    assert main(["risk", "status", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "venue ramp lifted for venue:b by bo" in out and "kill_cleared venue:b by ann: over" in out


@pytest.mark.parametrize("args", [
    ["kill", "set", "--scope", "planet:mars", "--reason", "r"],
    ["kill", "set", "--scope", "global"],                             # no reason
    ["risk", "reset", "--scope", "venue:b", "--reason", " "],         # a blank reason is no reason
])
def test_usage_errors_exit_2(config: Path, args: list[str]) -> None:
    assert main([*args, "-c", str(config)]) == 2


def test_reload_refuses_an_invalid_file_and_reports_no_gateway(config: Path, tmp_path: Path) -> None:
    assert main(["risk", "reload", "-c", str(config), "--wait", "0.2"]) == 1       # the broker secret is missing
    valid = tmp_path / "valid.toml"
    valid.write_text('name = "gw"\nstate_dir = "state"\n[risk.defaults]\nmax_order_qty = 5\n')
    assert main(["risk", "reload", "-c", str(valid), "--wait", "0.2"]) == 1        # nobody acknowledged
    assert main(["kill", "status", "-c", str(tmp_path / "missing.toml")]) == 1
