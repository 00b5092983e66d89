"""The simulated broker's sans-I/O pieces: quantity slicing, decimal text, book rules without sockets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixgw.sim.broker_book import BookError, BrokerBook, BrokerRules, format_decimal, split_quantity

quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e9"), places=4)


@given(quantities, st.integers(min_value=1, max_value=10))
def test_slices_add_up_exactly_and_are_positive(quantity: Decimal, slices: int) -> None:
    parts = split_quantity(quantity, slices)
    assert sum(parts) == quantity
    assert 1 <= len(parts) <= slices
    assert all(part > 0 for part in parts)


@pytest.mark.parametrize(
    ("quantity", "slices", "parts"),
    [("1000", 2, ["500", "500"]), ("1001", 2, ["500", "501"]), ("2.5", 2, ["1.2", "1.3"]), ("1", 3, ["1"])],
)
def test_slices_of_known_quantities(quantity: str, slices: int, parts: list[str]) -> None:
    assert split_quantity(Decimal(quantity), slices) == [Decimal(part) for part in parts]


@given(st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-1e12, max_value=1e12))
def test_decimal_text_has_no_exponent_and_round_trips(value: Decimal) -> None:
    text = format_decimal(value)
    assert "E" not in text.upper()
    assert Decimal(text) == value


@pytest.mark.parametrize(("value", "text"), [("1E+2", "100"), ("101.2500", "101.25"), ("0.000", "0"), ("-0", "0")])
def test_decimal_text_examples(value: str, text: str) -> None:
    assert format_decimal(Decimal(value)) == text


def _new_order(cl_ord_id: str, qty: str = "100", price: str = "10") -> list[tuple[int, str]]:
    return [(35, "D"), (11, cl_ord_id), (55, "IBM"), (54, "1"), (38, qty), (40, "2"), (44, price)]


def test_possdup_resend_of_a_known_order_is_ignored_and_counted_apart() -> None:
    book = BrokerBook(BrokerRules(), id_prefix="T")
    order_id, replies = book.on_new_order("S", "FIX.4.4", _new_order("A"), possdup=False)
    assert order_id == "T-1" and len(replies) == 1
    assert book.on_new_order("S", "FIX.4.4", _new_order("A"), possdup=True) == (None, [])
    assert book.new_order_counts() == {"A": 1}
    assert book.new_order_counts(include_possdup=True) == {"A": 2}


def test_same_cl_ord_id_on_another_session_is_a_different_order() -> None:
    book = BrokerBook(BrokerRules(), id_prefix="T")
    assert book.on_new_order("S1", "FIX.4.4", _new_order("A"), possdup=False)[0] == "T-1"
    assert book.on_new_order("S2", "FIX.4.4", _new_order("A"), possdup=False)[0] == "T-2"


def test_late_fill_after_cancel_is_reported_and_keeps_the_order_canceled() -> None:
    book = BrokerBook(BrokerRules(), id_prefix="T")
    book.on_new_order("S", "FIX.4.4", _new_order("A"), possdup=False)
    book.on_cancel_request("S", "FIX.4.4", [(35, "F"), (11, "C"), (41, "A"), (55, "IBM"), (54, "1")])
    _, replies = book.fill("T-1", Decimal("40"))
    fields = dict(replies[0].fields)
    assert (fields[150], fields[39], fields[14], fields[151]) == ("F", "4", "40", "0")


def test_overfill_is_refused() -> None:
    book = BrokerBook(BrokerRules(), id_prefix="T")
    book.on_new_order("S", "FIX.4.2", _new_order("A", qty="100"), possdup=False)
    book.fill("A", Decimal("60"))
    with pytest.raises(BookError, match="60 of 100 already executed"):
        book.fill("A", Decimal("41"))
