"""Clear Street <-> canonical: enum tables, NewOrder -> create body, order and trade -> views.

Statuses are FIX OrdStatus words in kebab case (Studio `OrderStatus`). "partially-filled" maps to NEW: partial
is decided from quantities. "done-for-day" and "calculated" end a DAY order's life: reported as EXPIRED (unless
the quantities say filled). GTC, GTD and FOK have no Studio time in force and are refused before sending.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fixgw.model.enums import OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.instruments import Instrument
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.clear_street.schemas import CreateOrder, Order, Trade
from fixgw.venues.bridge.common.ids import venue_client_order_id
from fixgw.venues.bridge.common.mapping import EnumTable, lookup, order_price, order_quantity
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView

VENUE = "clear_street"
SYMBOL_SCHEME = "clear_street"

SIDE = EnumTable(VENUE, "side", {Side.BUY: "buy", Side.SELL: "sell", Side.SELL_SHORT: "sell-short"})
ORD_TYPE = EnumTable(VENUE, "order type", {OrdType.MARKET: "market", OrdType.LIMIT: "limit", OrdType.STOP: "stop",
                                           OrdType.STOP_LIMIT: "stop-limit"})
TIME_IN_FORCE = EnumTable(VENUE, "time in force", {TimeInForce.DAY: "day", TimeInForce.IOC: "ioc",
                                                   TimeInForce.OPG: "at-open", TimeInForce.CLS: "at-close"})
ORDER_STATUS = {
    "pending-new": OrdStatus.PENDING_NEW,
    "new": OrdStatus.NEW,
    "accepted-for-bidding": OrdStatus.NEW,
    "partially-filled": OrdStatus.NEW,
    "replaced": OrdStatus.NEW,
    "pending-replace": OrdStatus.NEW,
    "stopped": OrdStatus.NEW,
    "suspended": OrdStatus.NEW,
    "pending-cancel": OrdStatus.PENDING_CANCEL,
    "filled": OrdStatus.FILLED,
    "canceled": OrdStatus.CANCELED,
    "rejected": OrdStatus.REJECTED,
    "expired": OrdStatus.EXPIRED,
    "done-for-day": OrdStatus.EXPIRED,
    "calculated": OrdStatus.EXPIRED,
}


def client_order_id(cl_ord_id: str) -> str:
    """`reference_id`: 1 to 256 characters (Studio `ReferenceId`)."""
    return venue_client_order_id(cl_ord_id, max_len=256)


def create_order(order: NewOrder, instrument: Instrument) -> CreateOrder:
    return CreateOrder(
        reference_id=client_order_id(order.cl_ord_id),
        order_type=ORD_TYPE.to_venue(order.ord_type),
        side=SIDE.to_venue(order.side),
        quantity=order_quantity(VENUE, order, instrument),
        price=order_price(order, instrument),
        stop_price=order.stop_price,
        time_in_force=TIME_IN_FORCE.to_venue(order.time_in_force),
        symbol=instrument.symbol_for(SYMBOL_SCHEME),
    )


def order_view(order: Order) -> VenueOrderView:
    return VenueOrderView(
        venue_order_id=order.order_id,
        client_order_id=order.reference_id,
        status=lookup(VENUE, "order status", ORDER_STATUS, order.status),
        cum_qty=order.filled_quantity,
        avg_px=order.average_price or None,
        text=order.text or None,
        order_qty=order.quantity,
        symbol=order.symbol or None,
    )


def fill_view(trade: Trade) -> VenueFill:
    return VenueFill(trade_id=trade.trade_id, qty=trade.quantity, price=trade.price,
                     time=datetime.fromtimestamp(trade.created_at / 1000, UTC) if trade.created_at else None)
