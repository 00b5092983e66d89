"""kill -9 the gateway with orders in flight, restart it: no order lost, none doubled, every report delivered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from gateway_stack import WAIT, new_order, stale_after_final
from waiting import wait_until

from fixgw.engine.quickfix_support import free_port
from fixgw.sim.fix_broker import FixBrokerSimConfig, FixBrokerSimulator
from fixgw.sim.fix_client import FixClient

ORDERS = 30


def write_config(path: Path, state: Path, acceptor_port: int, broker_port: int, journal_url: str) -> None:
    path.write_text(f"""
name = "crash-test"
state_dir = "{state}"
[log]
level = "INFO"
format = "json"
[journal]
url = "{journal_url}"
[acceptor]
port = {acceptor_port}
[ems.ems-a]
target_comp_id = "EMS-A"
[brokers.equities]
begin_string = "FIX.4.2"
target_comp_id = "BROKER"
port = {broker_port}
dialect = "fix42-broker"
quickfix = {{ ReconnectInterval = 1 }}
[routing]
default = "equities"
""")


def start_gateway(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "fixgw", "run", "--config", str(config)], stdout=out,
                                stderr=subprocess.STDOUT, env=env)


@pytest.mark.slow
def test_kill_9_with_orders_in_flight(tmp_path: Path, journal_url: str) -> None:
    acceptor_port, broker_port = free_port(), free_port()
    config = tmp_path / "gateway.toml"
    write_config(config, tmp_path / "state", acceptor_port, broker_port, journal_url)
    broker = FixBrokerSimulator(FixBrokerSimConfig(
        port=broker_port, sender_comp_id="BROKER", target_comp_ids=("FIXGW",), begin_strings=("FIX.4.2",),
        store_dir=tmp_path / "broker-store", fill_slices=3, fill_delay_ms=30))
    ems = FixClient(port=acceptor_port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                    store_dir=tmp_path / "ems-store")
    log = tmp_path / "gateway.log"
    gateway = start_gateway(config, log)
    broker.start()
    try:
        ems.start()
        assert ems.wait_logged_on(30), log.read_text()[-3000:]
        assert broker.wait_logged_on(1, 30)
        for index in range(ORDERS):
            ems.send(new_order(f"K{index}", qty="300", price="190.00", account="ACC1"))
            if index == ORDERS // 2:
                # Some orders acknowledged and partly filled, the rest still arriving: pull the plug.
                ems.wait_for(lambda m: m.msg_type == "8" and m.get(39) == "1", WAIT)
                gateway.send_signal(signal.SIGKILL)
                gateway.wait(10)
        gateway = start_gateway(config, log)
        assert wait_until(lambda: ems.logged_on and broker.logged_on_sessions() != [], 40), log.read_text()[-3000:]
        # Every order ends filled at the EMS, exactly once at the broker.
        for index in range(ORDERS):
            ems.wait_for(lambda m, i=index: m.msg_type == "8" and m.get(11) == f"K{i}" and m.get(39) == "2", 40)
        counts = broker.new_order_counts()
        assert len(counts) == ORDERS, counts
        assert all(count == 1 for count in counts.values()), counts
        fills: dict[str, Decimal] = {}
        for message in ems.received:
            if message.msg_type == "8" and message.get(150) == "F":  # resends share the ExecID
                key = f"{message.get(11)}:{message.get(17)}"
                fills[key] = Decimal(message.get(32) or "0")
        per_order: dict[str, Decimal] = {}
        for key, qty in fills.items():
            cl_ord_id = key.split(":")[0]
            per_order[cl_ord_id] = per_order.get(cl_ord_id, Decimal(0)) + qty
        assert per_order == {f"K{i}": Decimal(300) for i in range(ORDERS)}
        assert stale_after_final(ems.received) == []  # no replayed older state after an order's fill
    finally:
        ems.stop()
        gateway.send_signal(signal.SIGTERM)
        try:
            assert gateway.wait(20) == 0
        finally:
            if gateway.poll() is None:
                gateway.kill()
            broker.stop()
