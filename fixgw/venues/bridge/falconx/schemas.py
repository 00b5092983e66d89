"""FalconX payloads in the venue's field names. v1 sends quantities as strings, v3 as JSON numbers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from fixgw.venues.bridge.common.jsonwire import JsonNumber
from fixgw.venues.bridge.common.schemas import OptionalWireDecimal, VenueModel, WireDecimal


class TokenPair(VenueModel):
    base_token: str
    quote_token: str


class Quantity(VenueModel):
    token: str
    value: WireDecimal


class ErrorDetail(VenueModel):
    code: str | int | None = None
    reason: str = ""


class QuoteRequest(VenueModel):
    token_pair: TokenPair
    quantity: Quantity
    side: Literal["two_way", "buy", "sell"] = "two_way"
    client_order_id: str | None = None

    def wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ExecuteQuoteRequest(VenueModel):
    fx_quote_id: str
    side: Literal["buy", "sell"]


class OrderRequest(VenueModel):
    token_pair: TokenPair
    quantity: Quantity
    side: Literal["buy", "sell"]
    order_type: Literal["market", "limit"]
    time_in_force: Literal["fok"] = "fok"
    limit_price: Decimal | None = None
    slippage_bps: int | None = None
    client_order_id: str

    def wire(self, version: str) -> dict[str, Any]:
        """v1 wants decimal strings; v3 wants JSON numbers (written exactly, never through float)."""
        body = self.model_dump(exclude_none=True)
        number = JsonNumber if version == "v3" else Decimal
        body["quantity"]["value"] = number(self.quantity.value)
        if self.limit_price is not None:
            body["limit_price"] = number(self.limit_price)
        return body


class QuoteResponse(VenueModel):
    """The answer of quotes, executions and orders alike (an order is an executed quote)."""

    status: str
    fx_quote_id: str | None = None
    client_order_id: str | None = None
    token_pair: TokenPair | None = None
    quantity_requested: Quantity | None = None
    side_requested: str | None = None
    buy_price: OptionalWireDecimal = None
    sell_price: OptionalWireDecimal = None
    t_quote: datetime | None = None
    t_expiry: datetime | None = None
    t_execute: datetime | None = None
    is_filled: bool = False
    side_executed: str | None = None
    price_executed: OptionalWireDecimal = None
    quantity_executed: OptionalWireDecimal = None
    order_type: str | None = None
    error: ErrorDetail | None = None


class Balance(VenueModel):
    balance: WireDecimal
    token: str
    platform: str = ""


class ErrorResponse(VenueModel):
    message: str = ""
    error: ErrorDetail | None = Field(default=None)
