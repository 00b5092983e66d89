"""Coinbase Prime <-> canonical: enum tables, NewOrder -> create body, venue order/fill -> views."""

from __future__ import annotations

from datetime import datetime

from fixgw.model.enums import OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.instruments import Instrument
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.coinbase_prime.schemas import CreateOrderRequest, Fill, Order, WsOrder
from fixgw.venues.bridge.common.ids import venue_client_order_id
from fixgw.venues.bridge.common.mapping import EnumTable, lookup, order_price, order_quantity
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView

VENUE = "coinbase_prime"
SYMBOL_SCHEME = "coinbase_prime"

SIDE = EnumTable(VENUE, "side", {Side.BUY: "BUY", Side.SELL: "SELL"})
ORD_TYPE = EnumTable(
    VENUE,
    "order type",
    {
        OrdType.MARKET: "MARKET",
        OrdType.LIMIT: "LIMIT",
        OrdType.STOP_LIMIT: "STOP_LIMIT",
        OrdType.TWAP: "TWAP",
        OrdType.VWAP: "VWAP",
    },
)
TIME_IN_FORCE = EnumTable(
    VENUE,
    "time in force",
    {
        TimeInForce.GTC: "GOOD_UNTIL_CANCELLED",
        TimeInForce.GTD: "GOOD_UNTIL_DATE_TIME",
        TimeInForce.IOC: "IMMEDIATE_OR_CANCEL",
        TimeInForce.FOK: "FILL_OR_KILL",
    },
)
ORDER_STATUS = {
    "PENDING": OrdStatus.PENDING_NEW,
    "OPEN": OrdStatus.NEW,
    "FILLED": OrdStatus.FILLED,
    "CANCELLED": OrdStatus.CANCELED,
    "EXPIRED": OrdStatus.EXPIRED,
    "FAILED": OrdStatus.REJECTED,
}


def client_order_id(cl_ord_id: str) -> str:
    return venue_client_order_id(cl_ord_id, max_len=64)


def create_order_request(order: NewOrder, instrument: Instrument, portfolio_id: str) -> CreateOrderRequest:
    quantity = order_quantity(VENUE, order, instrument)
    price = order_price(order, instrument)
    is_market = order.ord_type is OrdType.MARKET
    expiry: datetime | None = order.expire_time if order.time_in_force is TimeInForce.GTD else None
    return CreateOrderRequest(
        portfolio_id=portfolio_id,
        product_id=instrument.symbol_for(SYMBOL_SCHEME),
        side=SIDE.to_venue(order.side),
        client_order_id=client_order_id(order.cl_ord_id),
        type=ORD_TYPE.to_venue(order.ord_type),
        base_quantity=quantity,
        limit_price=price,
        stop_price=order.stop_price,
        # Prime takes no time in force on MARKET orders; for the rest the canonical DAY has no equivalent.
        time_in_force=None if is_market else TIME_IN_FORCE.to_venue(order.time_in_force),
        expiry_time=expiry,
    )


def order_view(order: Order) -> VenueOrderView:
    return VenueOrderView(
        venue_order_id=order.id,
        client_order_id=order.client_order_id,
        status=lookup(VENUE, "order status", ORDER_STATUS, order.status),
        cum_qty=order.filled_quantity,
        avg_px=order.average_filled_price,
        order_qty=order.base_quantity,
        symbol=order.product_id,
    )


def ws_order_view(order: WsOrder) -> VenueOrderView:
    """An `orders` channel update: status, cumulative and leaves quantity, average price (no fills)."""
    return VenueOrderView(
        venue_order_id=order.order_id,
        client_order_id=order.client_order_id,
        status=lookup(VENUE, "order status", ORDER_STATUS, order.status),
        cum_qty=order.cum_qty,
        avg_px=order.avg_px or None,
        order_qty=order.cum_qty + order.leaves_qty,
    )


def fill_view(fill: Fill) -> VenueFill:
    return VenueFill(
        trade_id=fill.id, qty=fill.filled_quantity, price=fill.price, commission=fill.commission, time=fill.time
    )
