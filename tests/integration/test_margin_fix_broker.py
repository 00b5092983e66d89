"""A FIX broker's positions and collateral for the margin engine, over real QuickFIX sessions on loopback: the
gateway sends RequestForPositions (35=AN) and CollateralInquiry (35=BB) on its FIX 4.4 broker session, the broker
simulator answers from its fills with PositionReport (35=AP) and CollateralReport (35=BA), and the margin status
shows the position valued as an equity, the cash, and no drift against the broker's TotalNetValue."""

from __future__ import annotations

from pathlib import Path

import pytest
from gateway_stack import WAIT, new_order, report, status
from test_bridge_gateway import wait_until

from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.sim.fix_broker import FixBrokerSimConfig, FixBrokerSimulator
from fixgw.sim.fix_client import FixClient

pytestmark = pytest.mark.timeout(60)


def test_positions_and_collateral_from_a_fix_broker(tmp_path: Path) -> None:
    broker_port, port = free_port(), free_port()
    broker = FixBrokerSimulator(FixBrokerSimConfig(
        port=broker_port, sender_comp_id="BROKER", target_comp_ids=("FIXGW",), begin_strings=("FIX.4.4",),
        store_dir=tmp_path / "broker-store", fill_slices=1, fill_delay_ms=5))
    config = parse_config({
        "name": "margin-fix", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
        "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": ["ACC1"]}},
        "brokers": {"equities": {"begin_string": "FIX.4.4", "target_comp_id": "BROKER", "port": broker_port,
                                 "dialect": "generic-broker", "quickfix": {"ReconnectInterval": 1}}},
        "routing": {"default": "equities"},
        "margin": {"enabled": True, "snapshot_s": 0.3,
                   "venues": {"equities": {"account": "ACC1", "asset_class": "equity"}}},
    })
    gateway = Gateway(config)
    ems = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                    store_dir=tmp_path / "ems")
    try:
        broker.start()
        gateway.start()
        ems.start()
        assert ems.wait_logged_on(WAIT) and broker.wait_logged_on(1, WAIT)
        ems.send(new_order("EQ-1", qty="100", price="190.25"))
        report(ems, "EQ-1", status("2"))

        def venue() -> dict | None:  # type: ignore[type-arg]
            last = gateway.margin.last if gateway.margin is not None else None
            found = None if last is None else last["venues"].get("equities")
            return found if found and any(line["asset"] == "AAPL" for line in found["assets"]) else None

        assert wait_until(lambda: venue() is not None)
        figures = venue()
        assert figures is not None
        lines = {line["asset"]: line for line in figures["assets"]}
        assert lines["AAPL"]["quantity"] == "100" and lines["AAPL"]["price"] == "190.25"
        assert lines["AAPL"]["haircut"] == "0.15"                 # the equity class of the shipped table
        assert lines["USD"]["quantity"] == "980975"               # 1,000,000 start cash - 19,025
        assert figures["venue_reported"]["total_net_value"] == "1000000" and figures["drift_pct"] == "0"
        assert figures["requirement_maintenance"] == "4756.25"    # 19,025 x 0.25
        requests = {m.msg_type for m in broker.received_requests()}
        assert {"AN", "BB"} <= requests
    finally:
        ems.stop()
        gateway.stop()
        broker.stop()
