"""Binance bridge against the simulator on loopback: lifecycle, cancel, status, clock resync, faults."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from bridge_harness import Recorder, new_order, symbol_master
from pydantic import SecretStr
from waiting import wait_until

from fixgw.model.enums import ExecType, OrdStatus, OrdType, Side
from fixgw.model.orders import CancelOrder, StatusRequest
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.binance.execution import binance_venue
from fixgw.venues.bridge.binance.http import BinanceHttp
from fixgw.venues.bridge.common.execution import RestExecutionClient

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


def make_config(sim: CryptoPbSimulator) -> BinanceConfig:
    return BinanceConfig(
        base_url=sim.binance_url,
        api_key=SecretStr(sim.credentials.access_key),
        secret_key=SecretStr(sim.credentials.signing_key),
        poll_interval_s=0.1,
        timeout_s=2.0,
        retry_base_delay_s=0.01,
        retry_max_delay_s=0.05,
        documented_rate=100,
        documented_burst=100,
    )


@pytest.fixture
def venue(sim: CryptoPbSimulator) -> Iterator[tuple[RestExecutionClient, Recorder]]:
    sim.reset()
    sim.configure(limit_slices=3, slice_interval_s="0.15")
    client = binance_venue(make_config(sim), symbol_master(), lookup_delay_s=0.05)
    recorder = Recorder()
    client.bind(recorder)
    client.start()
    yield client, recorder
    client.stop()


def test_market_order_fills(venue, sim) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(new_order("b-mkt-1", ord_type=OrdType.MARKET, qty="0.01", side=Side.SELL))
    wait_until(lambda: recorder.last_status("b-mkt-1") is OrdStatus.FILLED, what="fill")
    fill = recorder.fills_for("b-mkt-1")[0]
    assert fill.last_px == Decimal("64967.50")  # 65000 - 5 bps for a sell
    assert fill.exec_id.isdigit()  # Binance trade ids are integers
    assert sim.orders("binance")["counts"] == {"b-mkt-1": 1}


def test_limit_partial_fills_then_filled(venue) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(new_order("b-lim-1", qty="0.3", price="70000"))
    wait_until(lambda: recorder.last_status("b-lim-1") is OrdStatus.FILLED, what="filled")
    statuses = [f.ord_status for f in recorder.fills_for("b-lim-1")]
    assert statuses == [OrdStatus.PARTIALLY_FILLED, OrdStatus.PARTIALLY_FILLED, OrdStatus.FILLED]


def test_cancel_and_status(venue, sim) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(new_order("b-rest-1", qty="0.1", price="50000"))
    wait_until(lambda: recorder.last_status("b-rest-1") is OrdStatus.NEW, what="ack")
    client.send_status_request(StatusRequest(cl_ord_id="b-rest-1"))
    wait_until(lambda: any(e.is_status_response for e in recorder.events_for("b-rest-1")), what="status")
    client.send_cancel(
        CancelOrder(cl_ord_id="b-rest-1c", orig_cl_ord_id="b-rest-1", instrument_id="BTC/USD", side=Side.BUY)
    )
    wait_until(lambda: recorder.last_status("b-rest-1") is OrdStatus.CANCELED, what="canceled")
    assert sim.orders("binance")["orders"][0]["status"] == "CANCELLED"


def test_filter_failure_is_rejected(venue) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(new_order("b-big-1", ord_type=OrdType.MARKET, qty="20000"))
    wait_until(lambda: recorder.last_status("b-big-1") is OrdStatus.REJECTED, what="reject")
    assert "LOT_SIZE" in (recorder.events_for("b-big-1")[-1].text or "")


async def test_clock_skew_is_corrected_by_resync(sim) -> None:  # type: ignore[no-untyped-def]
    sim.reset()
    sim.set_clock_offset(-20.0)  # the venue is 20 s behind us: every request is "in the future" (-1021)
    http = BinanceHttp(make_config(sim))
    try:
        account = await http.account()
        assert http.client.clock.offset_s == pytest.approx(-20.0, abs=1.0)
        assert any(b.asset == "USDT" and b.free == Decimal("10000000") for b in account.balances)
    finally:
        await http.aclose()
        sim.set_clock_offset(0.0)


def test_faults_on_a_batch_leave_no_duplicate_and_no_lost_fill(venue, sim) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    sim.inject_fault("binance.new_order", "error_500_after", 2)
    sim.inject_fault("binance.new_order", "drop", 2)
    sim.inject_fault("binance.new_order", "delay", 1, delay_s=2.5)
    sim.inject_fault("binance.new_order", "rate_limit", 2)
    sim.inject_fault("binance.query_order", "error_500", 2)
    sim.inject_fault("binance.my_trades", "duplicate_fill", 3)
    ids = [f"bb-{n}" for n in range(12)]
    for n, cl_ord_id in enumerate(ids):
        kwargs = {"ord_type": OrdType.MARKET, "qty": "0.01"} if n % 2 else {"qty": "0.03", "price": "70000"}
        client.send_new(new_order(cl_ord_id, **kwargs))  # type: ignore[arg-type]
    wait_until(lambda: all(recorder.last_status(i) is OrdStatus.FILLED for i in ids), timeout=15, what="all filled")
    venue_state = sim.orders("binance")
    assert venue_state["counts"] == {i: 1 for i in ids}
    by_coid = {o["client_order_id"]: o for o in venue_state["orders"]}
    for cl_ord_id in ids:
        fills = recorder.fills_for(cl_ord_id)
        assert len({f.exec_id for f in fills}) == len(fills) == by_coid[cl_ord_id]["fills"]
        assert sum((f.last_qty or Decimal(0)) for f in fills) == Decimal(str(by_coid[cl_ord_id]["filled_quantity"]))
    assert not [e for e in recorder.executions if e.exec_type is ExecType.REJECTED]
    fired = sim.faults()["fired"]
    assert fired["binance.new_order:drop"] == 2 and fired["binance.new_order:delay"] == 1
    assert fired["binance.my_trades:duplicate_fill"] == 3
