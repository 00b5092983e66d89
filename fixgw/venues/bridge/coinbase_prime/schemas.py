"""Coinbase Prime payloads in the venue's own field names; every number is a decimal string on the wire."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from fixgw.venues.bridge.common.schemas import OptionalWireDecimal, VenueModel, WireDecimal


class CreateOrderRequest(VenueModel):
    portfolio_id: str
    product_id: str
    side: str
    client_order_id: str
    type: str
    base_quantity: Decimal | None = None
    quote_value: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str | None = None
    expiry_time: datetime | None = None
    post_only: bool | None = None

    def wire(self) -> dict[str, Any]:
        """The JSON object to send: unset fields left out, decimals kept exact (rendered as strings)."""
        body: dict[str, Any] = {}
        for name, value in self:
            if value is None:
                continue
            body[name] = value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value
        return body


class CreateOrderResponse(VenueModel):
    order_id: str


class Order(VenueModel):
    id: str
    client_order_id: str = ""
    product_id: str
    side: str
    type: str
    status: str
    base_quantity: OptionalWireDecimal = None
    quote_value: OptionalWireDecimal = None
    limit_price: OptionalWireDecimal = None
    time_in_force: str = ""
    filled_quantity: WireDecimal = Decimal(0)
    filled_value: WireDecimal = Decimal(0)
    average_filled_price: OptionalWireDecimal = None
    commission: OptionalWireDecimal = None
    created_at: datetime | None = None


class OrderResponse(VenueModel):
    order: Order


class CancelOrderResponse(VenueModel):
    id: str


class Pagination(VenueModel):
    next_cursor: str = ""
    sort_direction: str = ""
    has_next: bool = False


class Fill(VenueModel):
    id: str
    order_id: str
    product_id: str = ""
    side: str = ""
    filled_quantity: WireDecimal
    filled_value: OptionalWireDecimal = None
    price: WireDecimal
    time: datetime | None = None
    commission: OptionalWireDecimal = None
    venue: str = ""


class FillsPage(VenueModel):
    fills: list[Fill]
    pagination: Pagination = Field(default_factory=Pagination)


class OrdersPage(VenueModel):
    orders: list[Order]
    pagination: Pagination = Field(default_factory=Pagination)


class Balance(VenueModel):
    symbol: str
    amount: WireDecimal
    holds: OptionalWireDecimal = None
    withdrawable_amount: OptionalWireDecimal = None


class BalancesResponse(VenueModel):
    balances: list[Balance]
    type: str = ""


class Product(VenueModel):
    id: str
    base_increment: WireDecimal
    quote_increment: WireDecimal
    base_min_size: OptionalWireDecimal = None
    base_max_size: OptionalWireDecimal = None


class ProductsPage(VenueModel):
    products: list[Product]
    pagination: Pagination = Field(default_factory=Pagination)


class ErrorResponse(VenueModel):
    message: str = ""
    code: str | int | None = None
    subcode: str | None = None
    trace_id: str | None = None


class WsOrder(VenueModel):
    """One order in an `orders` channel event."""

    order_id: str
    client_order_id: str = ""
    cum_qty: WireDecimal = Decimal(0)
    leaves_qty: WireDecimal = Decimal(0)
    avg_px: OptionalWireDecimal = None
    net_avg_px: OptionalWireDecimal = None
    fees: OptionalWireDecimal = None
    status: str
    product_id: str = ""
    side: str = ""
    order_type: str = ""


class WsEvent(VenueModel):
    type: str = ""
    orders: list[WsOrder] = Field(default_factory=list)


class WsMessage(VenueModel):
    channel: str
    sequence_num: int = 0
    events: list[WsEvent] = Field(default_factory=list)
