"""Prices and quantities stay exact through decode -> canonical -> encode, whatever the venue's precision;
rounding to a tick or lot size happens only when asked for (`round_to_increment`), never in the encoder."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixgw.fix.codec import Codec
from fixgw.fix.decode import decode
from fixgw.fix.dialect import dialect_named
from fixgw.fix.encode import encode
from fixgw.fix.symbols import load_symbol_master
from fixgw.fix.wire import parse_fix
from fixgw.model.decimals import fmt_decimal, round_to_increment
from fixgw.model.enums import ExecType, OrdRejReason, OrdStatus, OrdType, Side
from fixgw.model.errors import MessageRejected
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import ExecutionEvent, NewOrder

HEADER = "8=FIX.4.4|9=0|34=2|49=EMS|52=20240102-14:30:00.000|56=FIXGW|"
WHEN = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def master(tick: Decimal, lot: Decimal) -> SymbolMaster:
    return SymbolMaster([Instrument(id="TEST", asset_class="crypto_spot", currency="USD", tick_size=tick,
                                    lot_size=lot)])


def codecs(tick: Decimal, lot: Decimal) -> tuple[Codec, Codec]:
    symbols = master(tick, lot)
    return (Codec(dialect_named("ems-default"), symbols, "FIX.4.4"),
            Codec(dialect_named("generic-broker"), symbols, "FIX.4.4"))


def decimals(places: int, *, high: int = 10**7) -> st.SearchStrategy[Decimal]:
    """Positive decimals with exactly up to `places` decimal places."""
    return st.integers(1, high * 10**places).map(lambda units: Decimal(units).scaleb(-places))


def texts(value: Decimal, pad: int) -> str:
    """How a counterparty might write the value: plain, or padded with trailing zeros."""
    text = format(value, "f")
    return text + ("0" * pad if "." in text else "." + "0" * pad if pad else "")


@settings(max_examples=200, deadline=None)
@given(places=st.integers(0, 8), data=st.data(), pad=st.integers(0, 3))
def test_price_survives_ems_to_broker_at_any_venue_precision(places: int, data: st.DataObject, pad: int) -> None:
    """A price on the venue's tick (10^-places: equities 2-4, crypto up to 8) crosses unchanged."""
    tick = Decimal(1).scaleb(-places)
    price = data.draw(decimals(places))
    ems, broker = codecs(tick, Decimal("0.00000001"))
    wire = parse_fix(HEADER + f"35=D|11=O-1|38=1.5|40=2|44={texts(price, pad)}|54=1|55=TEST|"
                     "60=20240102-14:30:00.000|10=000|", "|")
    order = decode(wire, ems)
    assert isinstance(order, NewOrder) and type(order.price) is Decimal
    assert order.price == price
    sent = dict(encode(order, broker))
    assert sent[44] == fmt_decimal(price)
    assert Decimal(sent[44]) == price and "E" not in sent[44] and "e" not in sent[44]
    assert not sent[44].endswith(".") and (("." not in sent[44]) or not sent[44].endswith("0"))


@settings(max_examples=200, deadline=None)
@given(last_px=decimals(8, high=100_000), last_qty=decimals(8, high=1000), avg_px=decimals(8, high=100_000))
def test_broker_report_survives_to_ems(last_px: Decimal, last_qty: Decimal, avg_px: Decimal) -> None:
    """A crypto fill with 8-decimal price and quantity reaches the EMS exactly (reports are never rounded)."""
    ems, broker = codecs(Decimal("0.01"), Decimal("0.00000001"))
    wire = parse_fix(HEADER + f"35=8|6={avg_px:f}|11=GW-1|14={last_qty:f}|17=X-1|31={last_px:f}|32={last_qty:f}|37=B-1|"
                     "39=1|54=1|55=TEST|60=20240102-14:30:00.000|150=F|151=1|10=000|", "|")
    event = decode(wire, broker)
    assert isinstance(event, ExecutionEvent)
    assert (event.last_px, event.last_qty, event.avg_px) == (last_px, last_qty, avg_px)
    assert all(type(value) is Decimal for value in (event.last_px, event.last_qty, event.avg_px, event.cum_qty))
    sent = dict(encode(event, ems))
    assert (Decimal(sent[31]), Decimal(sent[32]), Decimal(sent[6])) == (last_px, last_qty, avg_px)
    assert sent[31] == fmt_decimal(last_px)


@settings(max_examples=200, deadline=None)
@given(places=st.integers(0, 8), extra=st.integers(1, 2), data=st.data())
def test_off_tick_price_is_refused_not_rounded(places: int, extra: int, data: st.DataObject) -> None:
    tick = Decimal(1).scaleb(-places)
    price = data.draw(decimals(places + extra))
    _ems, broker = codecs(tick, Decimal(1))
    order = NewOrder(cl_ord_id="O-1", instrument_id="TEST", side=Side.BUY, order_qty=Decimal(1),
                     ord_type=OrdType.LIMIT, price=price, transact_time=WHEN)
    if price % tick:
        with pytest.raises(MessageRejected) as caught:
            encode(order, broker)
        assert (caught.value.ref_tag_id, caught.value.ord_rej_reason) == (44, OrdRejReason.INVALID_PRICE_INCREMENT)
        price = round_to_increment(price, tick)
        if price <= 0:
            return
        order = order.model_copy(update={"price": price})
    assert Decimal(dict(encode(order, broker))[44]) == price


def test_off_lot_quantity_is_refused() -> None:
    _, broker = codecs(Decimal("0.01"), Decimal("0.0001"))
    order = NewOrder(cl_ord_id="O-1", instrument_id="TEST", side=Side.BUY, order_qty=Decimal("1.00005"),
                     ord_type=OrdType.MARKET, transact_time=WHEN)
    with pytest.raises(MessageRejected, match=r"OrderQty\(38\)=1.00005 is not a multiple of the lot size 0.0001"):
        encode(order, broker)


@pytest.mark.parametrize(("value", "increment", "rounding", "expected"), [
    ("100.125", "0.01", ROUND_HALF_EVEN, "100.12"),
    ("100.135", "0.01", ROUND_HALF_EVEN, "100.14"),
    ("100.125", "0.01", ROUND_HALF_UP, "100.13"),
    ("100.129", "0.01", ROUND_DOWN, "100.12"),
    ("100.121", "0.01", ROUND_UP, "100.13"),
    ("99.87", "0.0078125", ROUND_HALF_EVEN, "99.8671875"),       # Treasuries: 1/128ths
    ("0.000023154", "0.00000001", ROUND_HALF_EVEN, "0.00002315"),  # sub-cent crypto
    ("0.123456789", "0.00001", ROUND_DOWN, "0.12345"),             # lot size: never more than asked
    ("187.43125", "0.0001", ROUND_HALF_EVEN, "187.4312"),          # equities under Reg NMS sub-penny
])
def test_round_to_increment_is_explicit(value: str, increment: str, rounding: str, expected: str) -> None:
    assert round_to_increment(Decimal(value), Decimal(increment), rounding=rounding) == Decimal(expected)


def test_shipped_instruments_take_their_typical_prices() -> None:
    symbols = load_symbol_master()
    broker = Codec(dialect_named("generic-broker"), symbols, "FIX.4.4")
    for instrument_id, qty, price in [("AAPL", "100", "187.43"), ("BTC/USD", "0.12345678", "64250.01"),
                                      ("SHIB/USD", "25000000", "0.00002315"), ("EUR/USD", "1000000", "1.08457"),
                                      ("BTC/USDT", "0.5", "64251.37")]:
        order = NewOrder(cl_ord_id="O", instrument_id=instrument_id, side=Side.BUY, order_qty=Decimal(qty),
                         ord_type=OrdType.LIMIT, price=Decimal(price), transact_time=WHEN)
        sent = dict(encode(order, broker))
        assert (sent[38], sent[44]) == (qty, price)


def test_canonical_decimals_format_without_exponent() -> None:
    event = ExecutionEvent(exec_id="E", exec_type=ExecType.TRADE, ord_status=OrdStatus.FILLED,
                           last_qty=Decimal("1E+3"), last_px=Decimal("1E-8"), cum_qty=Decimal("0E-10"),
                           avg_px=Decimal("1.10000000"), transact_time=WHEN)
    sent = dict(encode(event, codecs(Decimal(1), Decimal(1))[0]))
    assert (sent[32], sent[31], sent[14], sent[6]) == ("1000", "0.00000001", "0", "1.1")
