"""Market data over a real FIX broker session: the gateway sends MarketDataRequest (35=V) at logon, the broker
simulator answers 35=W and moves the price with 35=X; the reference follows and the collar uses it before an
order leaves."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from gateway_stack import WAIT, new_order, report
from waiting import wait_until

from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.sim.fix_broker import FixBrokerSimConfig, FixBrokerSimulator
from fixgw.sim.fix_client import FixClient

pytestmark = pytest.mark.timeout(60)
D = Decimal


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Gateway, FixBrokerSimulator, FixClient]]:
    broker_port, port = free_port(), free_port()
    broker = FixBrokerSimulator(FixBrokerSimConfig(
        port=broker_port, sender_comp_id="BROKER", target_comp_ids=("FIXGW",), begin_strings=("FIX.4.2",),
        store_dir=tmp_path / "broker-store", fill_slices=1, auto_fill=False, reference_price=D("190")))
    gateway = Gateway(parse_config({
        "name": "md-fix", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
        "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": ["ACC1"]}},
        "brokers": {"equities": {"begin_string": "FIX.4.2", "target_comp_id": "BROKER", "port": broker_port,
                                 "dialect": "fix42-broker-md", "quickfix": {"ReconnectInterval": 1}}},
        "routing": {"default": "equities"},
        "risk": {},
        "marketdata": {"sources": {"broker-md": {"kind": "fix_broker", "venue": "equities",
                                                 "instruments": {"AAPL": "AAPL"}}}},
    }))
    client = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                       store_dir=tmp_path / "ems-store")
    try:
        broker.start()
        gateway.start()
        client.start()
        assert client.wait_logged_on(WAIT) and broker.wait_logged_on(1, WAIT)
        yield gateway, broker, client
    finally:
        client.stop()
        gateway.stop()
        broker.stop()


def test_the_broker_answers_35V_and_its_35X_moves_the_reference(
        stack: tuple[Gateway, FixBrokerSimulator, FixClient]) -> None:
    gateway, broker, client = stack
    assert gateway.risk is not None
    market = gateway.risk.checks.market

    def price() -> Decimal | None:
        return market.reference("AAPL").price

    wait_until(lambda: price() == D("190"), what="the snapshot (35=W)")       # 189.90 / 190.10 around 190
    [request] = [m for m in broker.received_requests() if m.msg_type == "V"]
    assert request.get(263) == "1" and request.get(55) == "AAPL"
    view = market.reference("AAPL").sources[0]
    assert (view.quote.source, view.quote.bid, view.quote.ask) == ("broker-md", D("189.9"), D("190.1"))
    client.send(new_order("L1", symbol="AAPL", qty="10", price="190.00"))
    report(client, "L1", lambda m: m.get(39) == "0")
    broker.set_market_price("AAPL", "220")                                # 35=X
    wait_until(lambda: price() == D("220"), what="the increment (35=X)")
    client.send(new_order("L2", symbol="AAPL", qty="10", price="190.00"))
    denied = report(client, "L2", lambda m: m.get(39) == "8")
    assert "price 190 is 13.64% from the reference 220 (broker-md)" in (denied.get(58) or "")
    assert len(broker.orders) == 1                                        # only L1 reached the broker
