"""A bridge that lost its memory (a new process) asked about an order: it looks the order up by client_order_id
at the venue before answering, against the simulator on loopback. Only proven absence answers "unknown order"
(the router then resends under the same id); a failed lookup answers "outcome unknown", never a guess."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from bridge_harness import Recorder, new_order, symbol_master
from pydantic import SecretStr
from structlog.testing import capture_logs
from waiting import wait_until

from fixgw.model.enums import ExecType, OrdRejReason, OrdStatus, OrdType, Side
from fixgw.model.orders import CancelOrder, StatusRequest
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.execution import coinbase_prime_venue
from fixgw.venues.bridge.common.execution import RestExecutionClient

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


@pytest.fixture
def config(sim: CryptoPbSimulator) -> CoinbasePrimeConfig:
    sim.clear_faults()
    sim.configure(limit_slices=3, slice_interval_s="0.1")
    creds = sim.credentials
    return CoinbasePrimeConfig(
        base_url=sim.coinbase_url, portfolio_id=f"pf-{uuid.uuid4().hex[:8]}", access_key=SecretStr(creds.access_key),
        passphrase=SecretStr(creds.passphrase), signing_key=SecretStr(creds.signing_key), poll_interval_s=0.1,
        timeout_s=2.0, retry_attempts=1, retry_base_delay_s=0.01, retry_max_delay_s=0.05)


def started(config: CoinbasePrimeConfig, *adopted: object) -> tuple[RestExecutionClient, Recorder]:
    client = coinbase_prime_venue(config, symbol_master(), lookup_delay_s=0.05)
    recorder = Recorder()
    client.bind(recorder)
    for order in adopted:
        client.adopt(order)  # type: ignore[arg-type]
    client.start()
    return client, recorder


def status(cl_ord_id: str) -> StatusRequest:
    return StatusRequest(cl_ord_id=cl_ord_id, instrument_id="BTC/USD", side=Side.BUY)


def answers(recorder: Recorder, cl_ord_id: str) -> list[object]:
    return [e for e in recorder.events_for(cl_ord_id) if e.is_status_response]


def test_status_of_an_unseen_order_the_venue_holds_re_seeds_tracking(config: CoinbasePrimeConfig) -> None:
    before, first = started(config)
    try:
        before.send_new(new_order("S1", qty="0.3", price="60000"))  # rests below the market
        wait_until(lambda: first.last_status("S1") is OrdStatus.NEW, what="ack")
    finally:
        before.stop()
    after, recorder = started(config)  # no memory of S1
    try:
        after.send_status_request(status("S1"))
        wait_until(lambda: bool(answers(recorder, "S1")), what="status answer")
        (answer,) = answers(recorder, "S1")
        assert answer.ord_status is OrdStatus.NEW and answer.order_id == first.events_for("S1")[0].order_id  # type: ignore[attr-defined]
        assert not recorder.unknown
        # Tracked again (quantity from the venue): it can be canceled through this bridge.
        assert after.order_sync is not None and after.order_sync.orders["S1"].order.order_qty == Decimal("0.3")
        after.send_cancel(CancelOrder(cl_ord_id="S1-X", orig_cl_ord_id="S1", instrument_id="BTC/USD", side=Side.BUY,
                                      order_qty=Decimal("0.3")))
        wait_until(lambda: recorder.last_status("S1") is OrdStatus.CANCELED, what="cancel")
        assert not recorder.cancel_rejects
    finally:
        after.stop()


def test_adopted_order_reports_fills_reached_while_down(sim: CryptoPbSimulator, config: CoinbasePrimeConfig) -> None:
    before, first = started(config)
    try:
        before.send_new(new_order("A1", qty="0.25", ord_type=OrdType.MARKET, price=None))
        wait_until(lambda: first.last_status("A1") is OrdStatus.FILLED, what="fill")
    finally:
        before.stop()
    after, recorder = started(config, new_order("A1", qty="0.25", ord_type=OrdType.MARKET, price=None))
    try:
        wait_until(lambda: recorder.last_status("A1") is OrdStatus.FILLED, what="fill found by the poll loop")
        assert [f.exec_id for f in recorder.fills_for("A1")] == [f.exec_id for f in first.fills_for("A1")]
        assert len([o for o in sim.orders("coinbase")["orders"] if o["account"] == config.portfolio_id]) == 1
    finally:
        after.stop()


def test_status_of_an_order_the_venue_never_got_is_unknown_order(config: CoinbasePrimeConfig) -> None:
    client, recorder = started(config, new_order("N1"))
    try:
        client.send_status_request(status("N1"))
        client.send_status_request(status("N2"))  # neither adopted nor seen
        wait_until(lambda: bool(answers(recorder, "N1") and answers(recorder, "N2")), what="status answers")
        for cl_ord_id in ("N1", "N2"):
            (answer,) = answers(recorder, cl_ord_id)
            assert answer.exec_type is ExecType.ORDER_STATUS and answer.ord_status is OrdStatus.REJECTED  # type: ignore[attr-defined]
            assert answer.ord_rej_reason is OrdRejReason.UNKNOWN_ORDER  # type: ignore[attr-defined]
        # Forgotten, so the router's resend under the same id is a normal submit.
        client.send_new(new_order("N1", qty="0.2", price="60000"))
        wait_until(lambda: recorder.last_status("N1") is OrdStatus.NEW, what="resent order acknowledged")
    finally:
        client.stop()


def test_a_failed_lookup_is_outcome_unknown_not_unknown_order(sim: CryptoPbSimulator,
                                                              config: CoinbasePrimeConfig) -> None:
    sim.inject_fault("coinbase.open_orders", "error_500", count=10)
    client, recorder = started(config)
    try:
        client.send_status_request(status("U1"))
        wait_until(lambda: bool(recorder.unknown), what="outcome unknown")
        assert recorder.unknown[0][:2] == ("U1", "status")
        assert answers(recorder, "U1") == []
    finally:
        client.stop()
        sim.clear_faults()



def test_stop_with_hundreds_of_commands_queued_is_clean(config: CoinbasePrimeConfig) -> None:
    client, recorder = started(config)
    thread = client._thread
    for n in range(300):
        client.send_new(new_order(f"Q{n}", qty="0.01", ord_type=OrdType.MARKET, price=None))
    client.stop(timeout=5.0)  # abandons what has not run: the next start settles it by lookups
    assert thread is not None and not thread.is_alive()
    assert recorder.connectivity[-1] is False


def test_stop_past_its_deadline_leaves_a_wedged_loop_behind_instead_of_raising(config: CoinbasePrimeConfig) -> None:
    client, _ = started(config)
    thread, loop = client._thread, client._loop
    assert thread is not None and loop is not None
    loop.call_soon_threadsafe(time.sleep, 1.5)  # the loop is busy beyond stop's deadline
    with capture_logs() as logs:
        client.stop(timeout=0.3)
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == ["bridge_stop_timeout"]
    thread.join(5)
    assert not thread.is_alive()
