"""Binance <-> canonical: enum tables, NewOrder -> order parameters, order/trade -> views."""

from __future__ import annotations

from datetime import UTC, datetime

from fixgw.model.enums import OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.instruments import Instrument
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.binance.schemas import NewOrderParams, Order, Trade
from fixgw.venues.bridge.common.ids import venue_client_order_id
from fixgw.venues.bridge.common.mapping import EnumTable, lookup, order_price, order_quantity
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView

VENUE = "binance"
SYMBOL_SCHEME = "binance"

SIDE = EnumTable(VENUE, "side", {Side.BUY: "BUY", Side.SELL: "SELL"})
ORD_TYPE = EnumTable(VENUE, "order type", {OrdType.MARKET: "MARKET", OrdType.LIMIT: "LIMIT"})
TIME_IN_FORCE = EnumTable(
    VENUE, "time in force", {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
)
ORDER_STATUS = {
    "NEW": OrdStatus.NEW,
    "PENDING_NEW": OrdStatus.PENDING_NEW,
    "PARTIALLY_FILLED": OrdStatus.NEW,  # partial is decided from quantities
    "FILLED": OrdStatus.FILLED,
    "CANCELED": OrdStatus.CANCELED,
    "PENDING_CANCEL": OrdStatus.PENDING_CANCEL,
    "REJECTED": OrdStatus.REJECTED,
    "EXPIRED": OrdStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrdStatus.EXPIRED,
}


def client_order_id(cl_ord_id: str) -> str:
    """newClientOrderId must match ^[.A-Z:/a-z0-9_-]{1,36}$."""
    return venue_client_order_id(cl_ord_id, max_len=36, allowed=r"[.A-Z:/a-z0-9_-]")


def symbol(instrument: Instrument) -> str:
    return instrument.symbol_for(SYMBOL_SCHEME)


def new_order_params(order: NewOrder, instrument: Instrument) -> NewOrderParams:
    is_limit = order.ord_type is OrdType.LIMIT
    return NewOrderParams(
        symbol=symbol(instrument),
        side=SIDE.to_venue(order.side),
        type=ORD_TYPE.to_venue(order.ord_type),
        quantity=order_quantity(VENUE, order, instrument),
        newClientOrderId=client_order_id(order.cl_ord_id),
        timeInForce=TIME_IN_FORCE.to_venue(order.time_in_force) if is_limit else None,
        price=order_price(order, instrument) if is_limit else None,
    )


def order_view(order: Order) -> VenueOrderView:
    return VenueOrderView(
        venue_order_id=str(order.orderId),
        client_order_id=order.clientOrderId,
        status=lookup(VENUE, "order status", ORDER_STATUS, order.status),
        cum_qty=order.executedQty,
        order_qty=order.origQty,
        symbol=order.symbol,
    )


def fill_view(trade: Trade) -> VenueFill:
    return VenueFill(
        trade_id=str(trade.id),
        qty=trade.qty,
        price=trade.price,
        commission=trade.commission,
        time=datetime.fromtimestamp(trade.time / 1000, UTC) if trade.time else None,
    )
