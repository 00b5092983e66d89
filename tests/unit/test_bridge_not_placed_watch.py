"""After a restart an order an earlier process reported "not placed" is watched only inside the horizon that
process would have watched it for (`LATE_WATCH_FACTOR` settle windows after its last send)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fixgw.model.enums import AssetClass, OrdType, Side, TimeInForce
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import NewOrder, utc_now
from fixgw.venues.bridge.common.order_sync import LATE_WATCH_FACTOR, OrderSync

BTC = Instrument(id="BTC/USD", asset_class=AssetClass.CRYPTO_SPOT, currency="USD", base_currency="BTC",
                 tick_size=Decimal("0.01"), lot_size=Decimal("0.0001"))


class Venue:
    name = "PB"

    def client_order_id(self, cl_ord_id: str) -> str:
        return cl_ord_id.lower()


def order(cl_ord_id: str) -> NewOrder:
    return NewOrder(cl_ord_id=cl_ord_id, instrument_id="BTC/USD", side=Side.BUY, order_qty="1",
                    ord_type=OrdType.LIMIT, price="100", time_in_force=TimeInForce.GTC)


def test_a_recent_not_placed_order_is_watched_and_an_old_one_is_not_tracked() -> None:
    sync = OrderSync(Venue(), SymbolMaster([BTC]), listener=None, create_settle_s=2.0)  # type: ignore[arg-type]
    sync.watch_not_placed(order("RECENT"), rejected_at=utc_now() - timedelta(seconds=5))
    old = timedelta(seconds=2.0 * (LATE_WATCH_FACTOR - 1) + 1)  # its last send is 10 windows and 1 s ago
    sync.watch_not_placed(order("OLD"), rejected_at=utc_now() - old)
    assert set(sync.orders) == {"RECENT"}
    tracked = sync.by_client_order_id["recent"]
    assert tracked.not_placed and tracked.final_reported and sync._watching(tracked)
    assert not sync.open_orders  # final for the EMS; only looked up (sync_all) and matched by the sweep
