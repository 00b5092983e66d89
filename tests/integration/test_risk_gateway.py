"""Risk end to end over loopback: EMS (QuickFIX) -> fixgw with risk limits -> broker simulator.

A denied order never reaches the broker; `fixgw kill set --cancel-open` against a running gateway leaves no open
order at the broker; the kill switch survives a restart; a reload with an error keeps the previous limits
(in-process through fixgw.ops.reload, and through `fixgw risk reload` -> SIGHUP of a `fixgw run` process).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gateway_stack import WAIT, Stack, new_order, report, status

from fixgw.cli import main
from fixgw.config import load_config
from fixgw.engine.gateway import Gateway
from fixgw.ops.reload import reload_config
from fixgw.sim.fix_client import FixClient

LIMITS = '[risk.defaults]\nmax_order_qty = "1000"\n'


def config_text(stack: Stack, journal_url: str, risk: str = LIMITS) -> str:
    """The TOML of the stack's gateway (ports, sessions, journal) with a `[risk]` section."""
    ems = "".join(
        f'[ems.{spec.name}]\nbegin_string = "{spec.begin_string}"\ntarget_comp_id = "{spec.comp_id}"\n'
        f'allowed_accounts = {spec.accounts!r}\n'.replace("'", '"') for spec in stack.ems_specs)
    return (f'name = "risk-gw"\nstate_dir = "{stack.config.state_dir}"\n[journal]\nurl = "{journal_url}"\n'
            f'[acceptor]\nport = {stack.acceptor_port}\nquickfix = {{ HeartBtInt = 30 }}\n{ems}'
            f'[brokers.equities]\nbegin_string = "FIX.4.2"\ntarget_comp_id = "BROKER"\nport = {stack.broker_port}\n'
            f'dialect = "fix42-broker"\nquickfix = {{ ReconnectInterval = 1 }}\n'
            f'[routing]\ndefault = "equities"\n{risk}')


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "gateway.toml"


def _use_config_file(stack: Stack, config_path: Path, journal_url: str) -> None:
    config_path.write_text(config_text(stack, journal_url))
    stack.config = load_config(config_path)
    stack.gateway = Gateway(stack.config)


@pytest.fixture
def risk_stack(tmp_path: Path, journal_url: str, config_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path, journal_url=journal_url)
    _use_config_file(stack, config_path, journal_url)
    try:
        yield stack.start()
    finally:
        stack.close()


def test_a_denied_order_never_reaches_the_broker(risk_stack: Stack) -> None:
    ems = risk_stack.ems()
    ems.send(new_order("BIG", qty="1001", price="190.00"))
    denied = report(ems, "BIG", status("8"))
    assert denied.get(103) == "3"
    assert denied.get(58) == "max_order_qty: order qty 1001 exceeds limit 1000 (risk.defaults)"
    ems.send(new_order("OK", qty="1000", price="190.00"))
    report(ems, "OK", status("2"))
    # The broker saw exactly the order that passed: the denied one never left.
    assert [m.get(38) for m in risk_stack.broker.received_requests() if m.msg_type == "D"] == ["1000"]
    assert risk_stack.gateway.risk is not None
    assert risk_stack.gateway.risk.checks.counters.get("denied.max_order_qty") == 1


def test_kill_switch_with_cancel_open_leaves_nothing_open_at_the_broker(risk_stack: Stack, config_path: Path) -> None:
    risk_stack.broker.auto_fill = False
    ems, other = risk_stack.ems("ems-a"), risk_stack.ems("ems-b")
    for index in range(3):
        ems.send(new_order(f"K{index}", qty="100", price="190.00"))
        report(ems, f"K{index}", status("0"))
    other.send(new_order("B1", qty="100", price="190.00", handl_inst=True))  # FIX 4.2 needs 21
    report(other, "B1", status("0"))
    assert main(["kill", "set", "-c", str(config_path), "--scope", "session:ems-a", "--reason", "runaway algo",
                 "--who", "tester", "--cancel-open"]) == 0
    for index in range(3):   # the EMS hears of each cancel under the gateway's ClOrdID, OrigClOrdID its own
        ems.wait_for(lambda m, i=index: m.msg_type == "8" and m.get(41) == f"K{i}" and m.get(39) == "4", WAIT)
    assert risk_stack.wait(lambda: sum(1 for o in risk_stack.broker.orders.values() if o.leaves_qty > 0) == 1)
    (still_open,) = [o for o in risk_stack.broker.orders.values() if o.leaves_qty > 0]
    assert still_open.cl_ord_id.startswith(_order_id_of(risk_stack, "ems-b", "B1"))   # other session untouched
    ems.send(new_order("K9", qty="100", price="190.00"))
    denied = report(ems, "K9", status("8"))
    assert "kill switch in force for session:ems-a (set by tester: runaway algo)" in (denied.get(58) or "")
    # Clearing it lets orders through again within the poll interval.
    assert main(["kill", "clear", "-c", str(config_path), "--scope", "session:ems-a", "--reason", "fixed",
                 "--who", "tester"]) == 0
    assert risk_stack.wait(lambda: not risk_stack.gateway.risk.checks.switches.kills())  # type: ignore[union-attr]
    ems.send(new_order("K10", qty="100", price="190.00"))
    report(ems, "K10", status("0"))
    # The audit report files the gateway's kill cancels as cancels and the switch's changes as controls.
    assert risk_stack.gateway.runner is not None and risk_stack.gateway.runner.drain()
    categories = _event_categories(risk_stack, config_path.parent / "events.csv")
    assert categories["kill_cancel"] == {"cancel"} and categories["kill_set"] == {"control"}
    assert not [event for event, found in categories.items() if "other" in found]


def _event_categories(stack: Stack, path: Path) -> dict[str, set[str]]:
    day = datetime.now(UTC).date().isoformat()
    assert main(["audit", "events", "--journal", stack.config.journal_url, "--from", day, "--to", day,
                 "--format", "csv", "--output", str(path)]) == 0
    found: dict[str, set[str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["event"], set()).add(row["category"])
    return found


def _order_id_of(stack: Stack, session: str, cl_ord_id: str) -> str:
    assert stack.gateway.core is not None
    order = stack.gateway.core.book.find_ems(session, cl_ord_id)
    assert order is not None
    return order.order_id


def test_the_kill_switch_survives_a_restart(risk_stack: Stack, config_path: Path) -> None:
    ems = risk_stack.ems()
    assert main(["kill", "set", "-c", str(config_path), "--scope", "account:ACC1", "--reason", "margin call",
                 "--who", "risk-desk"]) == 0
    assert risk_stack.wait(lambda: bool(risk_stack.gateway.risk.checks.switches.kills()))  # type: ignore[union-attr]
    risk_stack.gateway.stop()
    # Restarted (a new process would do the same: everything comes from the journal).
    risk_stack.gateway = Gateway(risk_stack.config)
    risk_stack.gateway.start()
    assert ems.wait_logged_on(WAIT) and risk_stack.wait(lambda: ems.logon_count >= 2)
    assert risk_stack.wait(lambda: risk_stack.gateway.venues_connected().get("equities", False))
    ems.send(new_order("R1", qty="100", price="190.00", account="ACC1"))
    denied = report(ems, "R1", status("8"))
    assert "kill switch in force for account:ACC1 (set by risk-desk: margin call)" in (denied.get(58) or "")
    ems.send(new_order("R2", qty="100", price="190.00", account="ACC2"))
    report(ems, "R2", status("2"))
    assert sum(1 for m in risk_stack.broker.received_requests() if m.msg_type == "D") == 1


def test_a_reload_with_an_error_keeps_the_previous_limits(risk_stack: Stack, config_path: Path,
                                                          journal_url: str) -> None:
    ems = risk_stack.ems()
    config_path.write_text(config_text(risk_stack, journal_url, '[risk.defaults]\nmax_order_qty = "lots"\n'))
    refused = reload_config(risk_stack.gateway, config_path)
    assert not refused.applied and "risk.defaults.max_order_qty" in refused.reason
    config_path.write_text(config_text(risk_stack, journal_url, '[risk.defaults]\nmax_order_qty = "2000"\n'
                                                                '[risk.venues.nowhere]\n'))
    refused = reload_config(risk_stack.gateway, config_path)       # valid TOML, invalid config: unknown venue
    assert not refused.applied and "risk.venues.nowhere" in refused.reason
    ems.send(new_order("L1", qty="1001", price="190.00"))
    assert "limit 1000" in (report(ems, "L1", status("8")).get(58) or "")
    config_path.write_text(config_text(risk_stack, journal_url, '[risk.defaults]\nmax_order_qty = "2000"\n'))
    applied = reload_config(risk_stack.gateway, config_path)
    assert applied.applied and applied.changed == ["risk"]
    ems.send(new_order("L2", qty="1001", price="190.00"))
    report(ems, "L2", status("2"))


@pytest.mark.slow
def test_fixgw_risk_reload_reaches_a_running_fixgw_run(tmp_path: Path, journal_url: str, config_path: Path) -> None:
    """The CLI's request goes through the journal; the gateway process reloads as on SIGHUP."""
    stack = Stack(tmp_path, journal_url=journal_url)   # ports and simulators; the gateway runs in a subprocess
    config_path.write_text(config_text(stack, journal_url))
    stack.broker.start()
    log = tmp_path / "gateway.log"
    with log.open("ab") as out:
        gateway = subprocess.Popen([sys.executable, "-m", "fixgw", "run", "--config", str(config_path)], stdout=out,
                                   stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    ems = FixClient(port=stack.acceptor_port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                    store_dir=tmp_path / "ems")
    try:
        ems.start()
        assert ems.wait_logged_on(30), log.read_text()[-3000:]
        assert stack.broker.wait_logged_on(1, 30)
        ems.send(new_order("S1", qty="1500", price="190.00"))
        assert "limit 1000" in (report(ems, "S1", status("8")).get(58) or "")
        config_path.write_text(config_text(stack, journal_url, '[risk.defaults]\nmax_order_qty = "2000"\n'))
        assert main(["risk", "reload", "-c", str(config_path), "--who", "tester", "--wait", "10"]) == 0
        assert stack.wait(lambda: b"reload.applied" in log.read_bytes()), log.read_text()[-3000:]
        ems.send(new_order("S2", qty="1500", price="190.00"))
        report(ems, "S2", status("2"))
        # An invalid file is refused by the CLI itself; the gateway keeps its limits.
        config_path.write_text(config_text(stack, journal_url, '[risk.defaults]\nmax_order_qty = -1\n'))
        assert main(["risk", "reload", "-c", str(config_path), "--wait", "2"]) == 1
        ems.send(new_order("S3", qty="2001", price="190.00"))
        assert "limit 2000" in (report(ems, "S3", status("8")).get(58) or "")
        assert [m.get(11) for m in stack.broker.received_requests() if m.msg_type == "D"] != []
    finally:
        ems.stop()
        gateway.terminate()
        try:
            assert gateway.wait(20) == 0
        finally:
            if gateway.poll() is None:
                gateway.kill()
            stack.broker.stop()


def test_fills_in_a_running_gateway_feed_the_position_limit(tmp_path: Path, journal_url: str,
                                                            config_path: Path) -> None:
    # The router thread must report order events to risk: a position built from real fills blocks the next order.
    stack = Stack(tmp_path, journal_url=journal_url)
    config_path.write_text(config_text(stack, journal_url, '[risk.defaults]\nmax_position_qty = "150"\n'))
    stack.config = load_config(config_path)
    stack.gateway = Gateway(stack.config)
    try:
        stack.start()
        ems = stack.ems()
        ems.send(new_order("P1", qty="100"))
        report(ems, "P1", status("2"))
        ems.send(new_order("P2", qty="100"))
        denied = report(ems, "P2", status("8"))
        assert "max_position_qty" in (denied.get(58) or "")
        assert sum(stack.broker.new_order_counts().values()) == 1
    finally:
        stack.close()
