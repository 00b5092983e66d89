"""FalconX bridge against the simulator on loopback: RFQ, FOK kills, balances, faults.

A contract suite: every test that takes `version` runs once per FalconX API version (`api_versions = [version]`)
and checks that the endpoints FalconX publishes under that version were called there - orders and quotes under
v1 or v3, reads (orders, quotes, balances) under v1, the only version publishing them.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from bridge_harness import Recorder, new_order, symbol_master
from pydantic import SecretStr
from waiting import wait_until

from fixgw.model.enums import CxlRejReason, ExecType, OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.orders import CancelOrder, StatusRequest
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.venues.bridge.common.errors import VenueNotFound, VenueRejected
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.bridge.falconx.config import FalconXConfig
from fixgw.venues.bridge.falconx.execution import falconx_venue
from fixgw.venues.bridge.falconx.http import FalconXHttp
from fixgw.venues.bridge.falconx.schemas import (
    ExecuteQuoteRequest,
    OrderRequest,
    Quantity,
    QuoteRequest,
    TokenPair,
)

pytestmark = pytest.mark.timeout(60)
ETH_USD = TokenPair(base_token="ETH", quote_token="USD")


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


def make_config(sim: CryptoPbSimulator, api_versions: list[str] | None = None, **extra: object) -> FalconXConfig:
    return FalconXConfig.model_validate(
        {
            "base_url": sim.falconx_url,
            "api_key": sim.credentials.access_key,
            "passphrase": sim.credentials.passphrase,
            "secret": SecretStr(sim.credentials.signing_key),
            "api_versions": api_versions or ["v3", "v1"],
            **extra,
            "poll_interval_s": 0.1,
            "timeout_s": 2.0,
            "retry_base_delay_s": 0.01,
            "retry_max_delay_s": 0.05,
            "documented_rate": 100,
            "documented_burst": 100,
        }
    )


@pytest.fixture(params=["v1", "v3"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def served(sim: CryptoPbSimulator, prefix: str) -> dict[str, int]:
    """Requests per simulator route starting with `prefix` (e.g. "falconx.order_"), by route."""
    return {route: n for route, n in sim.request_counts().items() if route.startswith(prefix) and n}


@pytest.fixture
def venue(version: str, sim: CryptoPbSimulator) -> Iterator[tuple[RestExecutionClient, Recorder]]:
    sim.reset()
    client = falconx_venue(make_config(sim, [version]), symbol_master(), lookup_delay_s=0.05)
    recorder = Recorder()
    client.bind(recorder)
    client.start()
    yield client, recorder
    client.stop()


def test_market_and_fok_limit_orders(venue, sim, version) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(new_order("fx-mkt", ord_type=OrdType.MARKET, qty="1.5", instrument="ETH/USD"))
    client.send_new(new_order("fx-lim", qty="2", price="3600", instrument="ETH/USD", tif=TimeInForce.FOK))
    client.send_new(new_order("fx-kill", qty="2", price="3000", instrument="ETH/USD", tif=TimeInForce.FOK))
    wait_until(lambda: recorder.last_status("fx-mkt") is OrdStatus.FILLED, what="market fill")
    wait_until(lambda: recorder.last_status("fx-lim") is OrdStatus.FILLED, what="limit fill")
    wait_until(lambda: recorder.last_status("fx-kill") is OrdStatus.CANCELED, what="FOK killed")
    assert recorder.fills_for("fx-mkt")[0].last_px == Decimal("3501.75")
    assert recorder.fills_for("fx-lim")[0].cum_qty == Decimal("2")
    assert recorder.fills_for("fx-kill") == []
    assert sim.orders("falconx")["counts"] == {"fx-mkt": 1, "fx-lim": 1, "fx-kill": 1}
    assert served(sim, "falconx.order_") == {f"falconx.order_{version}": 3}


def test_day_limit_order_is_denied_before_sending(venue, sim) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(new_order("fx-day", qty="1", price="3600", instrument="ETH/USD", tif=TimeInForce.DAY))
    wait_until(lambda: recorder.last_status("fx-day") is OrdStatus.REJECTED, what="denied")
    assert (recorder.events_for("fx-day")[-1].text or "").startswith("not sent")
    assert sim.orders("falconx")["counts"] == {}


def test_cancel_is_refused_and_status_answers(venue) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(new_order("fx-c", ord_type=OrdType.MARKET, qty="1", instrument="ETH/USD"))
    wait_until(lambda: recorder.last_status("fx-c") is OrdStatus.FILLED, what="fill")
    client.send_cancel(CancelOrder(cl_ord_id="fx-c2", orig_cl_ord_id="fx-c", instrument_id="ETH/USD", side=Side.BUY))
    client.send_status_request(StatusRequest(cl_ord_id="fx-c"))
    wait_until(lambda: bool(recorder.cancel_rejects), what="cancel reject")
    wait_until(lambda: any(e.is_status_response for e in recorder.events_for("fx-c")), what="status")
    assert recorder.cancel_rejects[0].reason is CxlRejReason.TOO_LATE_TO_CANCEL


async def test_quotes_execute_orders_and_balances(sim, version) -> None:  # type: ignore[no-untyped-def]
    sim.reset()
    http = FalconXHttp(make_config(sim, [version]))
    try:
        quote = await http.create_quote(
            QuoteRequest(token_pair=ETH_USD, quantity=Quantity(token="ETH", value=Decimal("0.5")), client_order_id="q1")
        )
        assert quote.buy_price is not None and quote.sell_price is not None and quote.buy_price > quote.sell_price
        executed = await http.execute_quote(ExecuteQuoteRequest(fx_quote_id=quote.fx_quote_id or "", side="sell"))
        assert executed.is_filled and executed.price_executed == quote.sell_price
        assert (await http.get_quote(quote.fx_quote_id or "")).is_filled
        with pytest.raises(VenueRejected, match="already executed"):
            await http.execute_quote(ExecuteQuoteRequest(fx_quote_id=quote.fx_quote_id or "", side="sell"))
        order = OrderRequest(
            token_pair=ETH_USD,
            quantity=Quantity(token="ETH", value=Decimal("0.25")),
            side="buy",
            order_type="market",
            client_order_id="o1",
        )
        placed = await http.place_order(order)
        assert placed.is_filled and placed.quantity_executed == Decimal("0.25")
        assert (await http.get_order(placed.fx_quote_id or "")).quantity_executed == Decimal("0.25")
        with pytest.raises(VenueNotFound):
            await http.get_order("no-such-order")
        balances = {b.token: b.balance for b in await http.balances()}
        assert balances["ETH"] == Decimal("1000") - Decimal("0.5") + Decimal("0.25")
        assert served(sim, "falconx.") == {
            f"falconx.quote_{version}": 1, f"falconx.execute_{version}": 2, "falconx.get_quote": 1,
            f"falconx.order_{version}": 1, "falconx.get_order": 2, "falconx.balances": 1}
        assert http.versions.stats().withdrawn == {}  # a missing order is not a missing endpoint
    finally:
        await http.aclose()


def test_faults_on_a_batch_leave_no_duplicate_and_no_lost_fill(venue, sim) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    route = "falconx.order_v*"
    sim.inject_fault(route, "error_500_after", 2)
    sim.inject_fault(route, "drop", 2)
    sim.inject_fault(route, "delay", 1, delay_s=2.5)
    sim.inject_fault(route, "rate_limit", 2)
    sim.inject_fault("falconx.list_orders", "error_500", 1)
    ids = [f"fxb-{n}" for n in range(10)]
    for cl_ord_id in ids:
        client.send_new(new_order(cl_ord_id, ord_type=OrdType.MARKET, qty="0.1", instrument="ETH/USD"))
    wait_until(lambda: all(recorder.last_status(i) is OrdStatus.FILLED for i in ids), timeout=15, what="all filled")
    assert sim.orders("falconx")["counts"] == {i: 1 for i in ids}
    for cl_ord_id in ids:
        fills = recorder.fills_for(cl_ord_id)
        assert len(fills) == 1 and fills[0].cum_qty == Decimal("0.1")
    assert not [e for e in recorder.executions if e.exec_type is ExecType.REJECTED]
    assert sum(v for k, v in sim.faults()["fired"].items() if k.startswith("falconx.order_v")) == 7
