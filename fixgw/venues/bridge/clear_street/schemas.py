"""Clear Street Studio v2 payloads in the venue's own field names (OpenAPI "Studio", components/schemas).

Quantities and prices are decimal strings on the wire; `average_price` is a JSON number (double), read as
Decimal from the JSON text. Times are milliseconds since the epoch.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from fixgw.venues.bridge.common.schemas import OptionalWireDecimal, VenueModel, WireDecimal


class CreateOrder(VenueModel):
    reference_id: str
    order_type: str  # limit | market | stop | stop-limit
    side: str  # buy | sell | sell-short
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str  # day | ioc | day-plus | at-open | at-close
    symbol: str
    symbol_format: Literal["cms", "osi"] = "cms"

    def wire(self) -> dict[str, Any]:
        """The JSON body: absent fields are left out; decimals are written as strings by `jsonwire.dumps`."""
        return self.model_dump(exclude_none=True)


class CreateOrderResponse(VenueModel):
    order_id: str


class Order(VenueModel):
    order_id: str
    reference_id: str = ""
    created_at: int = 0
    updated_at: int = 0
    version: int = 0
    account_id: str | int = ""
    state: str = ""
    """open | rejected | closed (derived by the venue from `status`)."""
    status: str
    symbol: str
    order_type: str
    side: str
    quantity: WireDecimal
    price: OptionalWireDecimal = None
    stop_price: OptionalWireDecimal = None
    time_in_force: str = ""
    average_price: OptionalWireDecimal = None
    filled_quantity: WireDecimal
    text: str | None = None


class OrderResponse(VenueModel):
    order: Order


class OrdersPage(VenueModel):
    data: list[Order]
    next_page_token: str | None = None


class Trade(VenueModel):
    trade_id: str
    order_id: str
    created_at: int = 0
    symbol: str = ""
    side: str = ""
    quantity: WireDecimal
    price: WireDecimal


class TradesPage(VenueModel):
    data: list[Trade]
    next_page_token: str | None = None


class Holding(VenueModel):
    symbol: str
    asset_class: str = ""
    quantity: WireDecimal


class HoldingsResponse(VenueModel):
    data: list[Holding]


class ProblemDetails(VenueModel):
    """RFC 9457, as every Studio error body."""

    type: str = ""
    title: str = ""
    status: int | None = None
    detail: str = ""
