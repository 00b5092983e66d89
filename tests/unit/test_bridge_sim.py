"""Simulator internals without a server: signature splitting, fault plans, the fill book."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from fixgw.sim.crypto_pb.auth import binance_signature, split_binance_signature
from fixgw.sim.crypto_pb.book import CANCELLED, FILLED, OPEN, BookError, SimBook
from fixgw.sim.crypto_pb.clock import SimClock
from fixgw.sim.crypto_pb.faults import Fault, FaultKind, FaultPlan
from fixgw.sim.crypto_pb.settings import SimSettings

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


VECTOR = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)
VECTOR_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_binance_signature_split_from_body_matches_published_vector() -> None:
    payload, signature = split_binance_signature(b"", f"{VECTOR}&signature={VECTOR_SIGNATURE}".encode())
    assert payload == VECTOR.encode() and signature == VECTOR_SIGNATURE
    assert binance_signature(SECRET, payload) == VECTOR_SIGNATURE


def test_binance_signature_split_concatenates_query_and_body() -> None:
    query, body = VECTOR[:50].encode(), VECTOR[50:].encode() + b"&signature=abc"
    payload, signature = split_binance_signature(query, body)
    assert payload == VECTOR.encode() and signature == "abc"
    payload, signature = split_binance_signature(f"{VECTOR}&signature=def".encode(), b"")
    assert payload == VECTOR.encode() and signature == "def"


def test_fault_plan_consumes_in_order_with_globs() -> None:
    plan = FaultPlan()
    plan.add(Fault("coinbase.*", FaultKind.ERROR_500, remaining=2))
    assert plan.take("binance.new_order") is None
    assert plan.take("coinbase.create_order") is not None
    assert plan.take("coinbase.get_order") is not None
    assert plan.take("coinbase.get_order") is None
    assert plan.snapshot()["fired"] == {"coinbase.create_order:error_500": 1, "coinbase.get_order:error_500": 1}


def make_book(**settings: object) -> SimBook:
    return SimBook(SimSettings(**settings), SimClock())  # type: ignore[arg-type]


def submit(book: SimBook, **overrides: object) -> object:
    values: dict[str, object] = dict(
        venue="coinbase",
        account="p",
        client_order_id="c1",
        product_id="BTC-USD",
        side="BUY",
        order_type="LIMIT",
        base_quantity=Decimal("0.3"),
        limit_price=Decimal("70000.00"),
    )
    values.update(overrides)
    return book.submit(**values)  # type: ignore[arg-type]


def test_limit_fills_in_slices_over_time() -> None:
    book = make_book(limit_slices=3, slice_interval_s=0.01)
    order = submit(book)
    assert order.status == OPEN and not order.fills  # type: ignore[attr-defined]
    time.sleep(0.05)
    book.advance()
    assert order.status == FILLED  # type: ignore[attr-defined]
    assert [f.quantity for f in order.fills] == [Decimal("0.1")] * 3  # type: ignore[attr-defined]


def test_market_fills_with_slippage_and_quote_value() -> None:
    book = make_book()
    order = submit(book, order_type="MARKET", base_quantity=None, quote_value=Decimal("6503.25"), limit_price=None)
    assert order.status == FILLED  # type: ignore[attr-defined]
    assert order.fills[0].price == Decimal("65032.50")  # type: ignore[attr-defined]
    assert order.base_quantity == Decimal("0.10000000")  # type: ignore[attr-defined]


def test_client_order_id_unique_among_active_orders_only() -> None:
    book = make_book()
    resting = submit(book, limit_price=Decimal("50000.00"))
    with pytest.raises(BookError) as excinfo:
        submit(book, limit_price=Decimal("50000.00"))
    assert excinfo.value.code == "DUPLICATE_CLIENT_ORDER_ID"
    book.cancel(resting)  # type: ignore[arg-type]
    assert resting.status == CANCELLED  # type: ignore[attr-defined]
    submit(book, limit_price=Decimal("50000.00"))


@pytest.mark.parametrize(
    "overrides, code",
    [
        ({"product_id": "XYZ-USD"}, "INVALID_PRODUCT"),
        ({"base_quantity": Decimal("0.000000001")}, "INVALID_QUANTITY_INCREMENT"),
        ({"limit_price": Decimal("1.001")}, "INVALID_PRICE_INCREMENT"),
        ({"order_type": "TWAP"}, "UNSUPPORTED_ORDER_TYPE"),
    ],
)
def test_invalid_orders_are_refused(overrides: dict[str, object], code: str) -> None:
    with pytest.raises(BookError) as excinfo:
        submit(make_book(), **overrides)
    assert excinfo.value.code == code
