"""The bridge's status poll stays within its share of the request rate, stalest orders first.

With many resting orders, polling every one of them each pass used the whole rate budget and new orders waited
behind the polls (BENCHMARKS.md, scenario 4). A pass now refreshes at most `polls_per_pass()` orders, those
refreshed longest ago first, so every open order is still polled in turn.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fixgw.model.enums import AssetClass, OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.common.order_sync import OrderSync
from fixgw.venues.bridge.common.settings import RestVenueConfig
from fixgw.venues.bridge.common.tracking import TrackedOrder
from fixgw.venues.bridge.common.views import VenueOrderView

BTC = Instrument(id="BTC/USD", asset_class=AssetClass.CRYPTO_SPOT, currency="USD", base_currency="BTC",
                 tick_size=Decimal("0.01"), lot_size=Decimal("0.0001"))


class RestingVenue:
    """Every order rests, unfilled; counts the refreshes."""

    name = "PB"

    def __init__(self) -> None:
        self.refreshed: Counter[str] = Counter()

    async def refresh(self, view: VenueOrderView, _instrument: Instrument) -> VenueOrderView:
        self.refreshed[view.client_order_id] += 1
        return view

    async def fills(self, _view: VenueOrderView, _instrument: Instrument) -> list[Any]:
        return []


def engine_with_resting_orders(count: int) -> tuple[OrderSync, RestingVenue]:
    venue = RestingVenue()
    engine = OrderSync(venue, SymbolMaster([BTC]), listener=None)  # type: ignore[arg-type]
    for n in range(count):
        order = NewOrder(cl_ord_id=f"C{n}", instrument_id="BTC/USD", side=Side.BUY, order_qty="1",
                         ord_type=OrdType.LIMIT, price="100", time_in_force=TimeInForce.GTC)
        tracked = TrackedOrder(order, BTC, f"c{n}", submitted_at=datetime.now(UTC),
                               view=VenueOrderView(f"V{n}", f"c{n}", OrdStatus.NEW, Decimal(0)))
        engine.orders[order.cl_ord_id] = tracked
        engine.by_client_order_id[tracked.client_order_id] = tracked
    return engine, venue


async def test_a_limited_pass_polls_the_stalest_orders_and_every_order_in_turn() -> None:
    engine, venue = engine_with_resting_orders(10)
    for _ in range(5):
        await engine.sync_all(limit=3)
    assert sum(venue.refreshed.values()) == 15                 # 3 requests a pass, never more
    assert set(venue.refreshed) == {f"c{n}" for n in range(10)}  # nobody starves
    assert max(venue.refreshed.values()) - min(venue.refreshed.values()) <= 1


async def test_an_order_refreshed_by_a_pushed_update_waits_for_its_next_poll() -> None:
    engine, venue = engine_with_resting_orders(4)
    for n in (0, 1, 2):
        await engine.sync_client_order_id(f"c{n}")  # the WebSocket told us about these
    venue.refreshed.clear()
    await engine.sync_all(limit=1)
    assert venue.refreshed == Counter({"c3": 1})


async def test_without_a_limit_a_pass_polls_every_open_order() -> None:
    engine, venue = engine_with_resting_orders(6)
    await engine.sync_all()
    assert venue.refreshed == Counter({f"c{n}": 1 for n in range(6)})


def test_the_poll_gets_its_share_of_the_rate_and_at_least_one_order_a_pass() -> None:
    def settings(**values: Any) -> RestVenueConfig:
        return RestVenueConfig(name="PB", base_url="http://127.0.0.1:1", documented_rate=25,
                                   documented_burst=50, **values)

    assert settings(poll_interval_s=1.0).polls_per_pass() == 5      # 25/s x 70% x 30% x 1 s = 5.25
    assert settings(poll_interval_s=0.25).polls_per_pass() == 1
    assert settings(poll_interval_s=2.0, poll_share=1.0).polls_per_pass() == 35
