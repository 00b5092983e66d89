"""Orders that turn up at a REST venue when fixgw did not expect them, through a whole gateway (FIX EMS session on
loopback, journal, alerts) against the crypto PB simulator:

- a create reported "not placed" that the venue commits afterwards is adopted: the EMS gets an unsolicited
  ExecutionReport with Text, the journal a `found_late` row, an operator an alert; the EMS can then cancel it;
- a gateway restarted inside `create_settle_s` of a create of unknown outcome looks it up until the window has
  passed and never sends it again;
- a create reported "not placed" that commits after a restart is adopted the same way (the journal's
  `not_placed` rows tell the new process which orders to watch), not swept as an unknown order;
- an open order at the venue that fixgw does not know (placed by hand) is alerted once and journaled.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import new_order as venue_order
from bridge_harness import symbol_master
from gateway_stack import WAIT, cancel, new_order, report
from pydantic import SecretStr
from waiting import wait_until

from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.model.enums import OrdStatus
from fixgw.model.events import EventName
from fixgw.risk.telemetry import Alert
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.fix_client import FixClient, ReceivedMessage
from fixgw.store.journal import Journal
from fixgw.venues.bridge.coinbase_prime import mapping
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.http import CoinbasePrimeHttp

pytestmark = pytest.mark.timeout(90)

ENV = {"access_key": "FIXGW_TEST_CB_LATE_ACCESS_KEY", "passphrase": "FIXGW_TEST_CB_LATE_PASSPHRASE",
       "signing_key": "FIXGW_TEST_CB_LATE_SIGNING_KEY"}


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


@pytest.fixture
def crypto(sim: CryptoPbSimulator, monkeypatch: pytest.MonkeyPatch) -> CryptoPbSimulator:
    sim.clear_faults()
    creds = sim.credentials
    for field, variable in ENV.items():
        monkeypatch.setenv(variable, getattr(creds, field))
    return sim


def section(sim: CryptoPbSimulator, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": "coinbase_prime", "base_url": sim.coinbase_url, "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}",
        **{field: f"env:{variable}" for field, variable in ENV.items()},
        "poll_interval_s": 0.1, "timeout_s": 1.0, "retry_attempts": 1, "retry_base_delay_s": 0.01,
        "retry_max_delay_s": 0.05,
    }
    values.update(overrides)
    return values


class Running:
    def __init__(self, tmp: Path, venue: dict[str, Any], journal_url: str | None = None) -> None:
        port = free_port()
        data: dict[str, Any] = {
            "name": "late-test", "state_dir": str(tmp / "gw"), "acceptor": {"port": port},
            "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": ["ACC1"]}},
            "venues": {"cbp": venue}, "routing": {"default": "cbp"},
        }
        if journal_url:
            data["journal"] = {"url": journal_url}
        self.config = parse_config(data)
        self.alerts: list[Alert] = []
        self.gateway = self.start_gateway()
        self.client = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                                store_dir=tmp / "ems-store")
        self.client.start()
        assert self.client.wait_logged_on(WAIT)

    def start_gateway(self) -> Gateway:
        gateway = Gateway(self.config)
        gateway.start()
        assert gateway.risk is not None
        gateway.risk.checks.alerts.sinks.append(self.alerts.append)
        return gateway

    def restart(self) -> None:
        self.gateway.stop()
        self.gateway = self.start_gateway()

    def events(self, name: EventName) -> list[Any]:
        with Journal(self.config.journal_url) as journal:
            return [e for e in journal.iter_events() if e.event == name]

    def close(self) -> None:
        self.client.stop()
        self.gateway.stop()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(venue: dict[str, Any], journal_url: str | None = None) -> Running:
        started.append(Running(tmp_path, venue, journal_url))
        return started[-1]

    yield start
    for one in started:
        one.close()


def crypto_order(cl_ord_id: str, qty: str, price: str | None) -> list[tuple[int, str]]:
    """GTC (59=1): a crypto venue has no DAY orders."""
    return [(tag, "1" if tag == 59 else value)
            for tag, value in new_order(cl_ord_id, symbol="BTC/USD", qty=qty, price=price)]


def is_(value: str, tag: int = 39) -> Callable[[ReceivedMessage], bool]:
    return lambda m: m.get(tag) == value


def held(sim: CryptoPbSimulator, portfolio_id: str) -> list[dict[str, Any]]:
    return [o for o in sim.orders("coinbase")["orders"] if o["account"] == portfolio_id]


def test_an_order_found_after_its_not_placed_reject_is_adopted_reported_alerted_and_cancellable(
        crypto: CryptoPbSimulator, running: Callable[..., Running]) -> None:
    venue = section(crypto, create_settle_s=1.0)
    # The create hangs past the 1 s timeout and the 1 s settle window, then commits: a resting limit order.
    crypto.inject_fault("coinbase.create_order", "hang_then_commit", 1, delay_s=4.0)
    stack = running(venue)
    client = stack.client
    client.send(crypto_order("L1", "0.2", "60000.00"))
    rejected = report(client, "L1", is_("8"))
    assert (rejected.get(58) or "").startswith("not placed")
    late = report(client, "L1", lambda m: m.get(39) == "0" and m.get(150) == "0", timeout=30)
    assert "reported not placed" in (late.get(58) or "")
    assert client.received.index(rejected) < client.received.index(late)
    wait_until(lambda: any(a.kind == EventName.FOUND_LATE for a in stack.alerts), what="the found-late alert")
    (event,) = stack.events(EventName.FOUND_LATE)
    (at_venue,) = held(crypto, venue["portfolio_id"])
    assert event.detail["venue"] == "cbp" and event.detail["venue_order_id"] == at_venue["order_id"]

    client.send(cancel("L1-X", "L1", symbol="BTC/USD", qty="0.2"))
    canceled = report(client, "L1-X", is_("4"))
    assert canceled.get(41) == "L1"
    assert stack.gateway.core is not None
    (order,) = list(stack.gateway.core.book)
    assert order.status is OrdStatus.CANCELED
    orders = held(crypto, venue["portfolio_id"])
    assert len(orders) == 1 and orders[0]["status"] == "CANCELLED", orders


def test_a_restart_inside_the_settle_window_looks_the_create_up_and_never_sends_it_again(
        journal_url: str, crypto: CryptoPbSimulator, running: Callable[..., Running]) -> None:
    venue = section(crypto, create_settle_s=15.0)
    creates = crypto.request_counts().get("coinbase.create_order", 0)
    # The first process's create hangs past its 1 s timeout and commits 4 s after it arrived, after the restart.
    crypto.inject_fault("coinbase.create_order", "hang_then_commit", 1, delay_s=4.0)
    stack = running(venue, journal_url)
    stack.client.send(crypto_order("R1", "0.25", None))

    def unknown() -> bool:
        assert stack.gateway.core is not None
        return any(order.status is OrdStatus.UNKNOWN for order in stack.gateway.core.book)

    wait_until(unknown, what="the create's outcome unknown")
    assert not held(crypto, venue["portfolio_id"])
    stack.restart()  # well inside the 15 s window: the new process must not resend it
    filled = report(stack.client, "R1", is_("2"), timeout=30)
    assert Decimal(filled.get(14) or "0") == Decimal("0.25")
    assert len(held(crypto, venue["portfolio_id"])) == 1
    assert crypto.request_counts().get("coinbase.create_order") == creates + 1, "one create, by the first process"
    assert not [m for m in stack.client.received if m.get(11) == "R1" and m.get(39) == "8"]


def test_a_restart_inside_the_settle_window_answers_not_placed_when_nothing_turns_up(
        journal_url: str, crypto: CryptoPbSimulator, running: Callable[..., Running]) -> None:
    venue = section(crypto, create_settle_s=8.0)
    crypto.inject_fault("coinbase.create_order", "error_500", count=1000)  # nothing ever reaches the book
    creates = crypto.request_counts().get("coinbase.create_order", 0)
    stack = running(venue, journal_url)
    stack.client.send(crypto_order("R2", "0.25", None))

    def unknown() -> bool:
        assert stack.gateway.core is not None
        return any(order.status is OrdStatus.UNKNOWN for order in stack.gateway.core.book)

    wait_until(unknown, what="the create's outcome unknown")
    sent = crypto.request_counts().get("coinbase.create_order")
    stack.restart()
    crypto.clear_faults()  # from here a resend would be accepted: none may come
    rejected = report(stack.client, "R2", is_("8"), timeout=30)
    assert (rejected.get(58) or "").startswith("not placed")
    assert crypto.request_counts().get("coinbase.create_order") == sent == creates + 1
    assert not held(crypto, venue["portfolio_id"])


def test_an_order_rejected_not_placed_that_commits_after_a_restart_is_adopted_not_swept_as_unknown(
        journal_url: str, crypto: CryptoPbSimulator, running: Callable[..., Running]) -> None:
    # Watched for 10 settle windows (15 s) after its send; it commits 8 s after the create arrived, once the
    # gateway that reported it not placed (at about 1.5 s) has been restarted.
    venue = section(crypto, create_settle_s=1.5, unknown_orders="cancel", open_orders_sweep_s=0.2)
    crypto.inject_fault("coinbase.create_order", "hang_then_commit", 1, delay_s=8.0)
    stack = running(venue, journal_url)
    stack.client.send(crypto_order("N1", "0.2", "60000.00"))
    rejected = report(stack.client, "N1", is_("8"))
    assert (rejected.get(58) or "").startswith("not placed")
    wait_until(lambda: stack.events(EventName.NOT_PLACED), what="the journaled not-placed row")
    assert not held(crypto, venue["portfolio_id"])
    stack.restart()
    late = report(stack.client, "N1", lambda m: m.get(39) == "0" and m.get(150) == "0", timeout=30)
    assert "reported not placed" in (late.get(58) or "")
    wait_until(lambda: any(a.kind == EventName.FOUND_LATE for a in stack.alerts), what="the found-late alert")
    (event,) = stack.events(EventName.FOUND_LATE)
    (at_venue,) = held(crypto, venue["portfolio_id"])
    assert event.detail["venue_order_id"] == at_venue["order_id"]
    sweeps = crypto.request_counts().get("coinbase.open_orders", 0)
    wait_until(lambda: crypto.request_counts().get("coinbase.open_orders", 0) >= sweeps + 3, what="more sweeps")
    assert not [a for a in stack.alerts if a.kind == EventName.UNKNOWN_VENUE_ORDER]
    assert not stack.events(EventName.UNKNOWN_VENUE_ORDER)
    (at_venue,) = held(crypto, venue["portfolio_id"])
    assert at_venue["status"] == "OPEN", "ours: never cancelled as an unknown order"
    assert stack.gateway.core is not None
    (order,) = [o for o in stack.gateway.core.book if o.cl_ord_id == "N1"]
    assert order.status is OrdStatus.NEW


def place_by_hand(sim: CryptoPbSimulator, venue: dict[str, Any], cl_ord_id: str) -> str:
    """A resting order in the same portfolio, placed around fixgw (a trader on the venue's own screen)."""
    creds = sim.credentials
    config = CoinbasePrimeConfig(base_url=venue["base_url"], portfolio_id=venue["portfolio_id"],
                                 access_key=SecretStr(creds.access_key), passphrase=SecretStr(creds.passphrase),
                                 signing_key=SecretStr(creds.signing_key))
    order = venue_order(cl_ord_id, qty="0.1", price="60000")

    async def place() -> str:
        http = CoinbasePrimeHttp(config)
        try:
            request = mapping.create_order_request(order, symbol_master().get("BTC/USD"), config.portfolio_id)
            return (await http.create_order(request)).order_id
        finally:
            await http.aclose()

    return asyncio.run(place())


def test_an_open_order_fixgw_does_not_know_is_alerted_once_and_journaled(
        crypto: CryptoPbSimulator, running: Callable[..., Running]) -> None:
    venue = section(crypto, open_orders_sweep_s=0.2)
    stack = running(venue)
    stack.client.send(crypto_order("K1", "0.2", "60000.00"))  # one of ours, resting: known, never alerted
    report(stack.client, "K1", is_("0"))
    manual = place_by_hand(crypto, venue, "BY-HAND-1")

    def alerted() -> list[Alert]:
        return [a for a in stack.alerts if a.kind == EventName.UNKNOWN_VENUE_ORDER]

    wait_until(alerted, what="the unknown-order alert")
    sweeps = crypto.request_counts().get("coinbase.open_orders", 0)
    wait_until(lambda: crypto.request_counts().get("coinbase.open_orders", 0) >= sweeps + 3, what="more sweeps")
    (alert,) = alerted()
    assert alert.detail["venue_order_id"] == manual and alert.detail["canceled"] == "false"
    assert "does not know" in alert.message
    (event,) = stack.events(EventName.UNKNOWN_VENUE_ORDER)
    assert event.order_id == "venue:cbp" and event.detail["venue_order_id"] == manual
    statuses = {o["order_id"]: o["status"] for o in held(crypto, venue["portfolio_id"])}
    assert statuses[manual] == "OPEN", "policy alert leaves it as it is"
