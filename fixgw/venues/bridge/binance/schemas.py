"""Binance spot payloads in the venue's field names (camelCase); prices and quantities are strings."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from fixgw.model.decimals import fmt_decimal
from fixgw.venues.bridge.common.schemas import OptionalWireDecimal, VenueModel, WireDecimal


class NewOrderParams(VenueModel):
    """Parameters of POST /api/v3/order, in the order they are sent."""

    symbol: str
    side: str
    type: str
    quantity: Decimal
    newClientOrderId: str
    timeInForce: str | None = None
    price: Decimal | None = None
    newOrderRespType: str = "RESULT"

    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for name, value in self:
            if value is not None:
                out.append((name, fmt_decimal(value) if isinstance(value, Decimal) else str(value)))
        return out


class OrderFill(VenueModel):
    price: WireDecimal
    qty: WireDecimal
    commission: OptionalWireDecimal = None
    commissionAsset: str = ""
    tradeId: int


class Order(VenueModel):
    symbol: str
    orderId: int
    clientOrderId: str
    price: OptionalWireDecimal = None
    origQty: WireDecimal
    executedQty: WireDecimal = Decimal(0)
    cummulativeQuoteQty: OptionalWireDecimal = None
    status: str
    timeInForce: str = ""
    type: str = ""
    side: str = ""
    fills: list[OrderFill] = Field(default_factory=list)


class Trade(VenueModel):
    symbol: str
    id: int
    orderId: int
    price: WireDecimal
    qty: WireDecimal
    quoteQty: OptionalWireDecimal = None
    commission: OptionalWireDecimal = None
    commissionAsset: str = ""
    time: int = 0


class ServerTime(VenueModel):
    serverTime: int


class AccountBalance(VenueModel):
    asset: str
    free: WireDecimal
    locked: WireDecimal


class Account(VenueModel):
    balances: list[AccountBalance]


class ErrorResponse(VenueModel):
    code: int = 0
    msg: str = ""
