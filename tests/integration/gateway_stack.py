"""A gateway with a broker simulator and EMS clients, all on loopback, for end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from waiting import wait_until

from fixgw.config import GatewayConfig, parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.sim.fix_broker import FixBrokerSimConfig, FixBrokerSimulator
from fixgw.sim.fix_client import FixClient, ReceivedMessage

WAIT = 15.0


def now() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def new_order(cl_ord_id: str, symbol: str = "AAPL", side: str = "1", qty: str = "100", price: str | None = "190.25",
              account: str = "ACC1", ord_type: str | None = None, extra: list[tuple[int, str]] | None = None,
              handl_inst: bool = False) -> list[tuple[int, str]]:
    fields = [(35, "D"), (11, cl_ord_id), (1, account)]
    if handl_inst:
        fields.append((21, "1"))
    fields += [(55, symbol), (54, side), (60, now()), (38, qty), (40, ord_type or ("2" if price else "1"))]
    if price is not None:
        fields.append((44, price))
    fields.append((59, "0"))
    return fields + (extra or [])


def cancel(cl_ord_id: str, orig: str, symbol: str = "AAPL", side: str = "1", qty: str = "100") -> list[tuple[int, str]]:
    return [(35, "F"), (11, cl_ord_id), (41, orig), (55, symbol), (54, side), (60, now()), (38, qty)]


def replace(cl_ord_id: str, orig: str, qty: str, price: str, symbol: str = "AAPL", side: str = "1",
            account: str = "ACC1", handl_inst: bool = False) -> list[tuple[int, str]]:
    fields = [(35, "G"), (11, cl_ord_id), (41, orig), (1, account)]
    if handl_inst:
        fields.append((21, "1"))
    return [*fields, (55, symbol), (54, side), (60, now()), (38, qty), (40, "2"), (44, price), (59, "0")]


def status_request(cl_ord_id: str, symbol: str = "AAPL", side: str = "1") -> list[tuple[int, str]]:
    return [(35, "H"), (11, cl_ord_id), (55, symbol), (54, side)]


@dataclass
class EmsSpec:
    name: str
    comp_id: str
    begin_string: str = "FIX.4.4"
    accounts: list[str] = field(default_factory=lambda: ["ACC1", "ACC2"])
    cancel_on_disconnect: bool = False


def gateway_config(state_dir: Path, acceptor_port: int, brokers: dict[str, dict[str, Any]], ems: list[EmsSpec],
                   journal_url: str | None = None, routing: dict[str, Any] | None = None) -> GatewayConfig:
    data: dict[str, Any] = {
        "name": "test-gw",
        "state_dir": str(state_dir),
        "acceptor": {"port": acceptor_port, "quickfix": {"HeartBtInt": 30}},
        "ems": {spec.name: {"begin_string": spec.begin_string, "target_comp_id": spec.comp_id,
                            "allowed_accounts": spec.accounts, "cancel_on_disconnect": spec.cancel_on_disconnect}
                for spec in ems},
        "brokers": brokers,
        "routing": routing or {"default": next(iter(brokers))},
    }
    if journal_url:
        data["journal"] = {"url": journal_url}
    return parse_config(data)


class Stack:
    """Broker simulator + gateway + EMS clients. Everything stops on close()."""

    def __init__(self, tmp: Path, *, journal_url: str | None = None, broker_begin: str = "FIX.4.2",
                 ems: list[EmsSpec] | None = None, sim_options: dict[str, Any] | None = None,
                 start_broker: bool = True, backup_broker: bool = False) -> None:
        self.tmp = tmp
        self.broker_port = free_port()
        self.acceptor_port = free_port()
        self.ems_specs = ems or [EmsSpec("ems-a", "EMS-A"), EmsSpec("ems-b", "EMS-B", "FIX.4.2")]
        options: dict[str, Any] = {"fill_slices": 2, "fill_delay_ms": 5, "max_order_qty": Decimal("10000"),
                                   "reject_symbols": ("MSFT",)}
        options.update(sim_options or {})
        self.broker = FixBrokerSimulator(FixBrokerSimConfig(
            port=self.broker_port, sender_comp_id="BROKER", target_comp_ids=("FIXGW",),
            begin_strings=(broker_begin,), store_dir=tmp / "broker-store", **options))
        brokers: dict[str, dict[str, Any]] = {"equities": {
            "begin_string": broker_begin, "target_comp_id": "BROKER", "port": self.broker_port,
            "dialect": "fix42-broker" if broker_begin == "FIX.4.2" else "generic-broker",
            "quickfix": {"ReconnectInterval": 1}}}
        routing: dict[str, Any] | None = None
        self.backup: FixBrokerSimulator | None = None
        if backup_broker:
            self.backup_port = free_port()
            self.backup = FixBrokerSimulator(FixBrokerSimConfig(
                port=self.backup_port, sender_comp_id="BACKUP", target_comp_ids=("FIXGW",),
                begin_strings=("FIX.4.4",), store_dir=tmp / "backup-store", fill_slices=1))
            brokers["backup"] = {"begin_string": "FIX.4.4", "target_comp_id": "BACKUP", "port": self.backup_port,
                                 "quickfix": {"ReconnectInterval": 1}}
            routing = {"rules": [{"name": "all", "destination": "equities", "backup": "backup"}]}
        self.config = gateway_config(tmp / "gw", self.acceptor_port, brokers, self.ems_specs, journal_url, routing)
        self.gateway = Gateway(self.config)
        self.clients: dict[str, FixClient] = {}
        self._start_broker = start_broker

    def start(self) -> Stack:
        if self._start_broker:
            self.broker.start()
        if self.backup is not None:
            self.backup.start()
        self.gateway.start()
        for spec in self.ems_specs:
            client = self.client(spec)
            client.start()
        for client in self.clients.values():
            assert client.wait_logged_on(WAIT), "EMS did not log on"
        if self._start_broker:
            assert self.broker.wait_logged_on(1, WAIT), "gateway did not log on to the broker"
            assert self.wait(lambda: self.gateway.venues_connected().get("equities", False))
        return self

    def client(self, spec: EmsSpec) -> FixClient:
        client = FixClient(port=self.acceptor_port, begin_string=spec.begin_string, sender_comp_id=spec.comp_id,
                           target_comp_id="FIXGW", store_dir=self.tmp / f"client-{spec.name}")
        self.clients[spec.name] = client
        return client

    def ems(self, name: str = "ems-a") -> FixClient:
        return self.clients[name]

    def wait(self, condition: Callable[[], bool], timeout: float = WAIT, what: str = "") -> bool:
        """True once `condition` holds; AssertionError naming it after `timeout` seconds (tests/waiting.py)."""
        return bool(wait_until(condition, timeout, what))

    def close(self) -> None:
        for client in self.clients.values():
            client.stop()
        self.gateway.stop()
        self.broker.stop()
        if self.backup is not None:
            self.backup.stop()


def report(client: FixClient, cl_ord_id: str, predicate: Callable[[ReceivedMessage], bool] = lambda m: True,
           msg_type: str = "8", timeout: float = WAIT) -> ReceivedMessage:
    return client.wait_for(lambda m: m.msg_type == msg_type and m.get(11) == cl_ord_id and predicate(m), timeout)


def status(value: str) -> Callable[[ReceivedMessage], bool]:
    return lambda m: m.get(39) == value


@contextmanager
def running_stack(tmp: Path, **kwargs: Any) -> Iterator[Stack]:
    stack = Stack(tmp, **kwargs)
    try:
        yield stack.start()
    finally:
        stack.close()


FINAL = {"2", "3", "4", "8", "C"}


def stale_after_final(messages: list[ReceivedMessage]) -> list[str]:
    """Reports of an order that arrived after its final one and carry an older (non-final) state."""
    finished: set[str] = set()
    stale = []
    for message in messages:
        if message.msg_type != "8":
            continue
        cl_ord_id, state = message.get(11) or "", message.get(39) or ""
        if cl_ord_id in finished and state not in FINAL:
            stale.append(f"{cl_ord_id}: 39={state} 17={message.get(17)} 97={message.get(97)}")
        if state in FINAL:
            finished.add(cl_ord_id)
    return stale
