"""Clear Street adapter against the simulator on loopback (contract): the documented Studio v2 shapes - create by
`reference_id`, read back, fills from the trade listing, cancel by DELETE, DAY/IOC, refusals - behind an OAuth 2.0
bearer token, and lost create answers settled by lookup without a second order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import Recorder, new_order
from waiting import wait_until

from fixgw.model.enums import ExecType, OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import CancelOrder, StatusRequest
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.venues.bridge.clear_street.config import ClearStreetConfig
from fixgw.venues.bridge.clear_street.execution import clear_street_venue
from fixgw.venues.bridge.clear_street.http import ClearStreetHttp
from fixgw.venues.bridge.clear_street.mapping import create_order
from fixgw.venues.bridge.common.errors import VenueRejected
from fixgw.venues.bridge.common.execution import RestExecutionClient

pytestmark = pytest.mark.timeout(60)
SYMBOLS = SymbolMaster.from_toml((Path(__file__).resolve().parents[2] / "specs" / "symbols.toml").read_text())


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


def make_config(sim: CryptoPbSimulator, account_id: str = "100001", **overrides: Any) -> ClearStreetConfig:
    client = sim.settings.clear_street_client
    settings: dict[str, Any] = {
        "base_url": sim.clear_street_url, "token_url": sim.clear_street_token_url, "account_id": account_id,
        "client_id": client.client_id, "client_secret": client.client_secret, "poll_interval_s": 0.1,
        "timeout_s": 2.0, "retry_base_delay_s": 0.01, "retry_max_delay_s": 0.05, "documented_rate": 100,
        "documented_burst": 100, "create_settle_s": 3.0,
    }
    settings.update(overrides)
    return ClearStreetConfig.model_validate(settings)


@pytest.fixture
def venue(sim: CryptoPbSimulator) -> Iterator[tuple[RestExecutionClient, Recorder]]:
    sim.reset()
    sim.configure(limit_slices=2, slice_interval_s="0.1", clear_street_token_ttl_s=86400)
    client = clear_street_venue(make_config(sim), SYMBOLS, lookup_delay_s=0.05)
    recorder = Recorder()
    client.bind(recorder)
    client.start()
    yield client, recorder
    client.stop()


def equity(cl_ord_id: str, **kwargs: Any) -> Any:
    kwargs.setdefault("instrument", "AAPL")
    kwargs.setdefault("tif", TimeInForce.DAY)
    return new_order(cl_ord_id, **kwargs)


def test_create_body_is_the_documented_shape() -> None:
    order = equity("cs-1", qty="10.7", price="190.129", side=Side.SELL, tif=TimeInForce.IOC)
    body = create_order(order, SYMBOLS.get("AAPL")).wire()
    assert body == {"reference_id": "cs-1", "order_type": "limit", "side": "sell", "quantity": Decimal("10"),
                    "price": Decimal("190.13"), "time_in_force": "ioc", "symbol": "AAPL", "symbol_format": "cms"}
    share_class = equity("cs-2", instrument="BRK.B", ord_type=OrdType.MARKET, qty="1")
    assert create_order(share_class, SYMBOLS.get("BRK.B")).wire()["symbol"] == "BRK B"  # CMS: space before class


def test_market_and_marketable_day_limit_fill(venue, sim) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(equity("cs-mkt", ord_type=OrdType.MARKET, qty="100"))
    client.send_new(equity("cs-lim", qty="50", price="191.00"))
    wait_until(lambda: recorder.last_status("cs-mkt") is OrdStatus.FILLED, what="market fill")
    wait_until(lambda: recorder.last_status("cs-lim") is OrdStatus.FILLED, what="limit fill in slices")
    market_fill = recorder.fills_for("cs-mkt")
    assert len(market_fill) == 1 and market_fill[0].last_px == Decimal("190.10")  # 190.00 + 5 bps slippage
    limit_fills = recorder.fills_for("cs-lim")
    assert len(limit_fills) == 2 and sum(f.last_qty for f in limit_fills) == Decimal("50")
    assert {f.last_px for f in limit_fills} == {Decimal("191.00")} and limit_fills[-1].avg_px == Decimal("191")
    assert sim.orders("clear_street")["counts"] == {"cs-mkt": 1, "cs-lim": 1}


def test_resting_order_is_canceled_and_status_answers(venue, sim) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(equity("cs-rest", qty="10", price="180.00"))
    wait_until(lambda: recorder.last_status("cs-rest") is OrdStatus.NEW, what="acknowledged")
    client.send_cancel(CancelOrder(cl_ord_id="cs-rest-x", orig_cl_ord_id="cs-rest", instrument_id="AAPL",
                                   side=Side.BUY))
    wait_until(lambda: recorder.last_status("cs-rest") is OrdStatus.CANCELED, what="canceled")
    client.send_status_request(StatusRequest(cl_ord_id="cs-rest"))
    wait_until(lambda: any(e.is_status_response for e in recorder.events_for("cs-rest")), what="status")
    assert sim.request_counts()["clear_street.cancel_order"] == 1


def test_ioc_below_the_market_is_canceled_and_gtc_is_refused_before_sending(venue, sim) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(equity("cs-ioc", qty="5", price="150.00", tif=TimeInForce.IOC))
    client.send_new(equity("cs-gtc", qty="5", price="150.00", tif=TimeInForce.GTC))
    wait_until(lambda: recorder.last_status("cs-ioc") is OrdStatus.CANCELED, what="IOC canceled")
    wait_until(lambda: recorder.last_status("cs-gtc") is OrdStatus.REJECTED, what="GTC refused")
    assert "time in force" in (recorder.events_for("cs-gtc")[-1].text or "")
    assert sim.orders("clear_street")["counts"] == {"cs-ioc": 1}


def test_a_venue_refusal_is_a_reject(venue, sim) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    client.send_new(equity("cs-bond", ord_type=OrdType.MARKET, qty="1000", instrument="US91282CJL63"))
    wait_until(lambda: recorder.last_status("cs-bond") is OrdStatus.REJECTED, what="refused by the venue")
    assert "INVALID_PRODUCT" in (recorder.events_for("cs-bond")[-1].text or "")


def test_lost_create_answers_are_settled_by_lookup_without_a_second_order(venue, sim) -> None:  # type: ignore[no-untyped-def]
    client, recorder = venue
    sim.inject_fault("clear_street.create_order", "error_500_after", 2)
    sim.inject_fault("clear_street.create_order", "drop", 1)
    sim.inject_fault("clear_street.list_orders", "error_500", 1)
    ids = [f"cs-f{n}" for n in range(5)]
    for cl_ord_id in ids:
        client.send_new(equity(cl_ord_id, ord_type=OrdType.MARKET, qty="3"))
    wait_until(lambda: all(recorder.last_status(i) is OrdStatus.FILLED for i in ids), what="all filled")
    assert sim.orders("clear_street")["counts"] == {i: 1 for i in ids}
    assert not [e for e in recorder.executions if e.exec_type is ExecType.REJECTED]
    for cl_ord_id in ids:
        assert [f.last_qty for f in recorder.fills_for(cl_ord_id)] == [Decimal("3")]


async def test_http_client_reads_orders_trades_and_holdings(sim) -> None:  # type: ignore[no-untyped-def]
    sim.reset()
    http = ClearStreetHttp(make_config(sim, account_id="100002"))
    try:
        since = datetime.now(UTC) - timedelta(minutes=1)
        order = create_order(equity("h-1", ord_type=OrdType.MARKET, qty="7"), SYMBOLS.get("SPY"))
        created = await http.create_order(order)
        read = await http.get_order(created.order_id)
        assert read.status == "filled" and read.state == "closed" and read.filled_quantity == Decimal("7")
        assert read.reference_id == "h-1" and read.symbol == "SPY" and read.average_price == Decimal("520.26")
        assert [t.quantity for t in await http.trades() if t.order_id == created.order_id] == [Decimal("7")]
        assert (await http.find_by_reference_id("h-1", since)) == read
        assert await http.find_by_reference_id("h-404", since) is None
        holdings = {h.symbol: h.quantity for h in await http.holdings()}
        assert holdings["SPY"] == Decimal("7")
        with pytest.raises(VenueRejected, match="FILLED"):
            await http.cancel_order(created.order_id)
    finally:
        await http.aclose()


async def test_open_orders_sweep_lists_only_orders_still_open_today(sim) -> None:  # type: ignore[no-untyped-def]
    from fixgw.venues.bridge.clear_street.execution import ClearStreetAdapter

    sim.reset()
    sim.configure(limit_slices=2, slice_interval_s="0.1", clear_street_token_ttl_s=86400)
    adapter = ClearStreetAdapter(make_config(sim, account_id="100003"))
    try:
        resting = await adapter.http.create_order(create_order(equity("sw-rest", qty="4", price="150.00"),
                                                               SYMBOLS.get("AAPL")))
        await adapter.http.create_order(create_order(equity("sw-mkt", ord_type=OrdType.MARKET, qty="2"),
                                                     SYMBOLS.get("SPY")))
        listed = await adapter.open_orders()
        assert [(v.venue_order_id, v.client_order_id, v.symbol) for v in listed] == [
            (resting.order_id, "sw-rest", "AAPL")]
    finally:
        await adapter.aclose()
