"""FalconX <-> canonical: enum tables, NewOrder -> order body, executed quote -> order view and fill."""

from __future__ import annotations

from decimal import Decimal

from fixgw.model.enums import OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.instruments import Instrument
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.common.errors import MappingError
from fixgw.venues.bridge.common.ids import venue_client_order_id
from fixgw.venues.bridge.common.mapping import EnumTable, order_price, order_quantity
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView
from fixgw.venues.bridge.falconx.schemas import OrderRequest, Quantity, QuoteResponse, TokenPair

VENUE = "falconx"
SYMBOL_SCHEME = "falconx"

SIDE = EnumTable(VENUE, "side", {Side.BUY: "buy", Side.SELL: "sell"})
ORD_TYPE = EnumTable(VENUE, "order type", {OrdType.MARKET: "market", OrdType.LIMIT: "limit"})
# Nothing rests at FalconX: every order is fill-or-kill; IOC is accepted as FOK because a synchronous
# all-or-nothing fill is within what an IOC order allows.
TIME_IN_FORCE = EnumTable(VENUE, "time in force", {TimeInForce.FOK: "fok"})
ACCEPTED_TIME_IN_FORCE = {TimeInForce.FOK, TimeInForce.IOC}


def client_order_id(cl_ord_id: str) -> str:
    return venue_client_order_id(cl_ord_id, max_len=64)


def token_pair(instrument: Instrument) -> TokenPair:
    """The instrument's FalconX symbol is BASE/QUOTE."""
    base, _, quote = instrument.symbol_for(SYMBOL_SCHEME).partition("/")
    if not quote:
        raise MappingError(VENUE, "token pair", instrument.id)
    return TokenPair(base_token=base, quote_token=quote)


def order_request(order: NewOrder, instrument: Instrument, slippage_bps: int | None) -> OrderRequest:
    if order.ord_type is OrdType.LIMIT and order.time_in_force not in ACCEPTED_TIME_IN_FORCE:
        raise MappingError(VENUE, "time in force (limit orders are fill-or-kill)", order.time_in_force)
    pair = token_pair(instrument)
    return OrderRequest(
        token_pair=pair,
        quantity=Quantity(token=pair.base_token, value=order_quantity(VENUE, order, instrument)),
        side=SIDE.to_venue(order.side),
        order_type=ORD_TYPE.to_venue(order.ord_type),
        limit_price=order_price(order, instrument),
        slippage_bps=slippage_bps if order.ord_type is OrdType.MARKET else None,
        client_order_id=client_order_id(order.cl_ord_id),
    )


def order_view(answer: QuoteResponse) -> VenueOrderView:
    """An answered order is final: filled, or killed (reported as canceled, FOK semantics)."""
    if answer.fx_quote_id is None:
        raise MappingError(VENUE, "order without fx_quote_id", answer.status)
    filled = answer.is_filled
    return VenueOrderView(
        venue_order_id=answer.fx_quote_id,
        client_order_id=answer.client_order_id or "",
        status=OrdStatus.FILLED if filled else OrdStatus.CANCELED,
        cum_qty=executed_quantity(answer) if filled else Decimal(0),
        avg_px=answer.price_executed,
        text=None if filled else "fill-or-kill order not filled",
        order_qty=answer.quantity_requested.value if answer.quantity_requested else None,
    )


def executed_quantity(answer: QuoteResponse) -> Decimal:
    if answer.quantity_executed is not None:
        return answer.quantity_executed
    if answer.quantity_requested is None:
        raise MappingError(VENUE, "filled order without quantity", answer.fx_quote_id)
    return answer.quantity_requested.value


def fills(answer: QuoteResponse) -> list[VenueFill]:
    """A FalconX execution is one fill, identified by the quote id."""
    if not answer.is_filled or answer.price_executed is None or answer.fx_quote_id is None:
        return []
    return [
        VenueFill(
            trade_id=f"{answer.fx_quote_id}:fill",
            qty=executed_quantity(answer),
            price=answer.price_executed,
            time=answer.t_execute,
        )
    ]
