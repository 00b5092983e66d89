"""The exact-decimal model: floats refused, the canonical scale enforced, rounding only when asked for."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from fixgw.model.decimals import (
    SCALE,
    DecimalFormatError,
    floor_to_increment,
    fmt_decimal,
    is_multiple_of,
    round_to_increment,
    to_decimal,
)
from fixgw.model.enums import OrdType, Side
from fixgw.model.orders import Fill, NewOrder
from fixgw.model.state import Order

canonical = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=SCALE,
                        allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan"), True, False, None, [1], b"1"])
def test_to_decimal_refuses_floats_bools_and_non_numbers(value: object) -> None:
    with pytest.raises(DecimalFormatError):
        to_decimal(value)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf", "1e", "", "1,5", "0x10"])
def test_to_decimal_refuses_text_that_is_not_a_finite_decimal(text: str) -> None:
    with pytest.raises(DecimalFormatError):
        to_decimal(text)


def test_scale_is_enforced_not_rounded() -> None:
    assert to_decimal("0.0000000001") == Decimal("1e-10")
    assert to_decimal(" 42 ") == Decimal(42)
    with pytest.raises(DecimalFormatError, match="decimal places"):
        to_decimal("0.00000000001")
    with pytest.raises(DecimalFormatError):
        to_decimal(Decimal("1.23456789012"))
    assert to_decimal("1.50000000000000") == Decimal("1.5")     # trailing zeros are not extra precision


@given(canonical)
def test_canonical_values_round_trip_through_wire_text(value: Decimal) -> None:
    parsed = to_decimal(value)
    assert parsed == value and parsed.as_tuple().exponent == -SCALE
    text = fmt_decimal(parsed)
    assert "e" not in text.lower() and to_decimal(text) == value


@pytest.mark.parametrize(("value", "text"), [("100", "100"), ("0.00012345", "0.00012345"), ("-0", "0"),
                                             ("1.10", "1.1"), ("1E+3", "1000")])
def test_fmt_decimal_is_plain_text_without_trailing_zeros(value: str, text: str) -> None:
    assert fmt_decimal(to_decimal(value)) == text


def test_round_to_increment_takes_the_rounding_mode_explicitly() -> None:
    tick = Decimal("0.05")
    assert round_to_increment(Decimal("1.125"), tick) == Decimal("1.10")           # half-even by default
    assert round_to_increment(Decimal("1.175"), tick, rounding=ROUND_HALF_EVEN) == Decimal("1.20")
    assert round_to_increment(Decimal("1.101"), tick, rounding=ROUND_UP) == Decimal("1.15")
    assert round_to_increment(Decimal("1.149"), tick, rounding=ROUND_DOWN) == Decimal("1.10")
    assert floor_to_increment(Decimal("0.0199"), Decimal("0.001")) == Decimal("0.019")
    for bad in (Decimal(0), Decimal("-0.01")):
        with pytest.raises(DecimalFormatError):
            round_to_increment(Decimal(1), bad)


@given(canonical, st.sampled_from([Decimal("0.01"), Decimal("0.25"), Decimal(1), Decimal("0.00000001")]))
def test_rounded_values_are_multiples_within_half_an_increment(value: Decimal, increment: Decimal) -> None:
    rounded = round_to_increment(value, increment)
    assert is_multiple_of(rounded, increment)
    assert abs(rounded - value) <= increment / 2
    assert abs(floor_to_increment(value, increment)) <= abs(value)     # toward zero: never more than asked


def test_pydantic_fields_refuse_floats_and_serialise_decimals_as_strings() -> None:
    with pytest.raises(ValidationError):
        Fill(exec_id="X", venue="V", qty=1.5, price="10")
    with pytest.raises(ValidationError):
        NewOrder(cl_ord_id="C", instrument_id="AAPL", side=Side.BUY, order_qty="0.000000000001",
                 ord_type=OrdType.MARKET)
    fill = Fill(exec_id="X", venue="V", qty="0.1", price=3)
    assert fill.qty == Decimal("0.1") and isinstance(fill.price, Decimal)
    dumped = fill.model_dump(mode="json")
    assert (dumped["qty"], dumped["price"]) == ("0.1", "3")


def test_order_json_round_trip_is_exact() -> None:
    order = Order(order_id="O", ems_session="S", cl_ord_id="C", instrument_id="BTC/USD", side=Side.SELL,
                  ord_type=OrdType.LIMIT, order_qty="0.1", price="64123.4567890123")
    order.fills["T1"] = Fill(exec_id="T1", venue="CPB", qty="0.0333333333", price="64123.4567890123")
    restored = Order.model_validate_json(order.model_dump_json())
    assert restored == order
    assert restored.cum_qty == Decimal("0.0333333333")
    assert restored.leaves_qty == Decimal("0.0666666667")
    assert '"0.1"' in order.model_dump_json()      # never a JSON number


def test_order_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        Order(order_id="O", ems_session="S", cl_ord_id="C", instrument_id="X", side=Side.BUY,
              ord_type=OrdType.MARKET, order_qty=1, quantity=1)  # type: ignore[call-arg]
