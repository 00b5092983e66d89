"""Clear Street Studio v2 payloads in the documented shapes -> canonical views: exact decimals (the JSON-number
`average_price` too), every documented status mapped, anything else refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fixgw.model.enums import OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.instruments import Instrument
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.clear_street import mapping
from fixgw.venues.bridge.clear_street.schemas import Order, OrderResponse, Trade
from fixgw.venues.bridge.common.errors import MappingError
from fixgw.venues.bridge.common.jsonwire import loads

GET_ORDER = b"""{"order": {"created_at": 1710613560668, "updated_at": 1710613561001, "order_id": "12390213",
 "reference_id": "my-order-id-123", "version": 3, "account_id": "100000", "account_number": "ACC0001",
 "state": "open", "status": "partially-filled", "symbol": "AAPL", "order_type": "limit", "side": "buy",
 "quantity": "100", "price": "123.99", "time_in_force": "day", "average_price": 123.98333333333333,
 "filled_quantity": "30", "order_update_reason": "execution-report", "running_position": "30"}}"""
TRADE = b"""{"created_at": 1710613561001, "account_id": "100000", "account_number": "ACC0001", "trade_id": "t-9",
 "order_id": "12390213", "symbol": "AAPL", "side": "buy", "quantity": "10", "price": "123.97",
 "running_position": "30"}"""
DOCUMENTED_STATUSES = ("new", "partially-filled", "filled", "canceled", "replaced", "pending-cancel", "stopped",
                       "rejected", "suspended", "pending-new", "calculated", "expired", "accepted-for-bidding",
                       "pending-replace", "done-for-day")


def test_order_and_trade_read_exactly() -> None:
    order = OrderResponse.model_validate(loads(GET_ORDER)).order
    view = mapping.order_view(order)
    assert view.venue_order_id == "12390213" and view.client_order_id == "my-order-id-123"
    assert view.status is OrdStatus.NEW and view.cum_qty == Decimal("30") and view.order_qty == Decimal("100")
    assert view.avg_px == Decimal("123.98333333333333")  # from the JSON text, never through float
    fill = mapping.fill_view(Trade.model_validate(loads(TRADE)))
    assert (fill.trade_id, fill.qty, fill.price) == ("t-9", Decimal("10"), Decimal("123.97"))
    assert fill.time is not None and fill.time.year == 2024


def test_every_documented_status_maps_and_others_are_refused() -> None:
    assert set(mapping.ORDER_STATUS) == set(DOCUMENTED_STATUSES)
    assert mapping.ORDER_STATUS["done-for-day"].is_terminal and mapping.ORDER_STATUS["canceled"].is_terminal
    order = OrderResponse.model_validate(loads(GET_ORDER)).order
    with pytest.raises(MappingError):
        mapping.order_view(Order.model_validate({**order.model_dump(), "status": "parked"}))


def test_time_in_force_and_types_without_a_studio_word_are_refused() -> None:
    aapl = Instrument(id="AAPL", asset_class="equity", currency="USD", tick_size=Decimal("0.01"),
                      lot_size=Decimal("1"), symbols={"clear_street": "AAPL"})
    for tif in (TimeInForce.GTC, TimeInForce.GTD, TimeInForce.FOK):
        order = NewOrder(cl_ord_id="x", instrument_id="AAPL", side=Side.BUY, order_qty=Decimal("1"),
                         ord_type=OrdType.LIMIT, price=Decimal("1"), time_in_force=tif,
                         expire_time=datetime(2030, 1, 2, tzinfo=UTC) if tif is TimeInForce.GTD else None)
        with pytest.raises(MappingError, match="time in force"):
            mapping.create_order(order, aapl)
    opening = NewOrder(cl_ord_id="o", instrument_id="AAPL", side=Side.SELL_SHORT, order_qty=Decimal("5"),
                       ord_type=OrdType.MARKET, time_in_force=TimeInForce.OPG)
    body = mapping.create_order(opening, aapl).wire()
    assert (body["side"], body["order_type"], body["time_in_force"]) == ("sell-short", "market", "at-open")
    assert "price" not in body
