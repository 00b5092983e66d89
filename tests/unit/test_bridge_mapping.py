"""Venue enum tables both ways, unmapped values raise, and venue payloads parse to exact decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from fixgw.model.enums import AssetClass, OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.instruments import Instrument
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.binance import mapping as binance
from fixgw.venues.bridge.binance.schemas import Order as BinanceOrder
from fixgw.venues.bridge.coinbase_prime import mapping as coinbase
from fixgw.venues.bridge.coinbase_prime.schemas import Order as CoinbaseOrder
from fixgw.venues.bridge.common.errors import MappingError
from fixgw.venues.bridge.common.jsonwire import JsonNumber, dumps, loads
from fixgw.venues.bridge.common.mapping import EnumTable
from fixgw.venues.bridge.falconx import mapping as falconx
from fixgw.venues.bridge.falconx.schemas import Balance, QuoteResponse

BTC = Instrument(
    id="BTC/USD",
    asset_class=AssetClass.CRYPTO_SPOT,
    currency="USD",
    base_currency="BTC",
    tick_size=Decimal("0.01"),
    lot_size=Decimal("0.00001"),
    symbols={"coinbase_prime": "BTC-USD", "binance": "BTCUSDT", "falconx": "BTC/USD"},
)
TABLES: list[EnumTable[Any]] = [
    coinbase.SIDE,
    coinbase.ORD_TYPE,
    coinbase.TIME_IN_FORCE,
    binance.SIDE,
    binance.ORD_TYPE,
    binance.TIME_IN_FORCE,
    falconx.SIDE,
    falconx.ORD_TYPE,
    falconx.TIME_IN_FORCE,
]


def order(**overrides: Any) -> NewOrder:
    values: dict[str, Any] = {
        "cl_ord_id": "ord-1",
        "instrument_id": "BTC/USD",
        "side": Side.BUY,
        "order_qty": Decimal("0.123456"),
        "ord_type": OrdType.LIMIT,
        "price": Decimal("65000.017"),
        "time_in_force": TimeInForce.GTC,
    }
    values.update(overrides)
    return NewOrder(**values)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: f"{t.venue}-{t.name}")
def test_tables_round_trip(table: EnumTable[Any]) -> None:
    for canonical, word in table._to_venue.items():
        assert table.from_venue(table.to_venue(canonical)) == canonical
        assert table.to_venue(table.from_venue(word)) == word


@pytest.mark.parametrize("table", TABLES, ids=lambda t: f"{t.venue}-{t.name}")
def test_unmapped_values_raise(table: EnumTable[Any]) -> None:
    with pytest.raises(MappingError):
        table.from_venue("NO_SUCH_VALUE")
    with pytest.raises(MappingError):
        table.to_venue(TimeInForce.CLS)


def test_unknown_venue_status_raises() -> None:
    raw = {"id": "o", "product_id": "BTC-USD", "side": "BUY", "type": "LIMIT", "status": "WEIRD"}
    with pytest.raises(MappingError):
        coinbase.order_view(CoinbaseOrder.model_validate(raw))


def test_coinbase_create_body_rounds_to_lot_and_tick() -> None:
    body = coinbase.create_order_request(order(), BTC, "pf").wire()
    assert body["base_quantity"] == Decimal("0.12345")  # floored to the lot
    assert body["limit_price"] == Decimal("65000.01")  # a buy rounds down
    assert body["time_in_force"] == "GOOD_UNTIL_CANCELLED" and body["product_id"] == "BTC-USD"
    assert dumps(body).count('"0.12345"') == 1  # numbers go out as strings
    sell = coinbase.create_order_request(order(side=Side.SELL), BTC, "pf").wire()
    assert sell["limit_price"] == Decimal("65000.02")  # a sell rounds up


def test_quantity_below_lot_is_not_representable() -> None:
    with pytest.raises(MappingError):
        coinbase.create_order_request(order(order_qty=Decimal("0.000001")), BTC, "pf")


def test_binance_params_and_client_order_id() -> None:
    params = dict(binance.new_order_params(order(cl_ord_id="x" * 50), BTC).params())
    assert params["symbol"] == "BTCUSDT" and params["quantity"] == "0.12345" and params["price"] == "65000.01"
    assert len(params["newClientOrderId"]) <= 36
    assert params["newClientOrderId"] == binance.client_order_id("x" * 50)  # deterministic


def test_falconx_v3_sends_numbers_and_v1_strings() -> None:
    request = falconx.order_request(order(ord_type=OrdType.MARKET, price=None), BTC, slippage_bps=10)
    v3, v1 = dumps(request.wire("v3")), dumps(request.wire("v1"))
    assert '"value": 0.12345' in v3 and '"value": "0.12345"' in v1
    assert loads(v3)["quantity"]["value"] == Decimal("0.12345")


def test_venue_numbers_parse_exactly() -> None:
    balance = Balance.model_validate(loads('{"balance": 187.62, "token": "USD", "platform": "api"}'))
    assert balance.balance == Decimal("187.62")
    with pytest.raises(ValidationError):
        Balance.model_validate({"balance": 187.62, "token": "USD"})  # a float never gets in
    raw = {
        "symbol": "BTCUSDT",
        "orderId": 1,
        "clientOrderId": "c",
        "origQty": "1.00000000",
        "executedQty": "0.5",
        "status": "PARTIALLY_FILLED",
    }
    view = binance.order_view(BinanceOrder.model_validate(raw))
    assert view.status is OrdStatus.NEW and view.cum_qty == Decimal("0.5")


def test_falconx_unfilled_fok_is_canceled_without_fill() -> None:
    answer = QuoteResponse.model_validate({"status": "success", "fx_quote_id": "q", "is_filled": False})
    assert falconx.order_view(answer).status is OrdStatus.CANCELED
    assert falconx.fills(answer) == []


def test_json_number_keeps_every_digit() -> None:
    assert (
        dumps({"v": JsonNumber("0.1000000000000000055511151231257827")})
        == '{"v": 0.1000000000000000055511151231257827}'
    )
    with pytest.raises(TypeError):
        dumps({"v": 0.1})
