"""Reference prices in the journal: rows written and read back exactly; the drift check values positions at the
newest journaled reference, not at our last fill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fixgw.marketdata.journaling import ReferenceJournal, reference_row
from fixgw.marketdata.reference import InstrumentPolicy, ReferenceBook
from fixgw.model.enums import OrdType, Side
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import Fill
from fixgw.model.state import Order
from fixgw.recon.drift import DriftCheck
from fixgw.store import Journal, JournalBatch
from fixgw.store.references import latest_reference_prices, read_references, write_references

D = Decimal
T0 = datetime(2026, 12, 7, 12, tzinfo=UTC)
BTC = "BTC/USD"
REPO = Path(__file__).resolve().parents[2]


def test_references_round_trip_and_are_written_once_a_period(journal: Journal) -> None:
    now = [T0]
    book = ReferenceBook({BTC: InstrumentPolicy(max_age=timedelta(seconds=5), live_sources=("a", "b")),
                          "AAPL": InstrumentPolicy(static_price=D("190.25"))}, clock=lambda: now[0])
    book.offer_raw("a", BTC, bid="64999.5", ask="65000.5", venue_time=T0 - timedelta(hours=1))
    book.offer_raw("b", BTC, last="65001.123456789")
    writer = ReferenceJournal(book, journal, 60)
    assert writer.maybe_write() == 2
    now[0] = T0 + timedelta(seconds=30)
    assert writer.maybe_write() == 0                           # within the period
    now[0] = T0 + timedelta(seconds=61)
    assert writer.maybe_write() == 2                           # BTC is stale by now
    rows = list(read_references(journal))
    assert [(r.instrument_id, r.state, r.price, r.static) for r in rows] == [
        ("AAPL", "ok", D("190.25"), True), (BTC, "ok", D("65000.5617283945"), False),
        ("AAPL", "ok", D("190.25"), True), (BTC, "stale", None, False)]
    first_btc = rows[1]
    assert first_btc.at == T0
    assert [(s["source"], s["bid"], s["ask"], s["last"], s["fresh"]) for s in first_btc.sources] == [
        ("a", "64999.5", "65000.5", "", "true"), ("b", "", "", "65001.123456789", "true")]
    # the newest usable row per instrument: market prices only (the stale row and the static price do not count)
    assert latest_reference_prices(journal) == {BTC: D("65000.5617283945")}
    assert list(read_references(journal, instrument_id=BTC, since=T0 + timedelta(seconds=1))) == [rows[3]]


def test_drift_values_positions_at_the_reference_not_at_our_last_fill(journal: Journal) -> None:
    symbols = SymbolMaster.from_toml((REPO / "specs" / "symbols.toml").read_text(encoding="utf-8"))
    order = Order(order_id="1-1", ems_session="E", cl_ord_id="C1", instrument_id=BTC, side=Side.BUY,
                  order_qty=D(1), ord_type=OrdType.LIMIT, price=D(70000), account="ACC1", venue="cbp")
    fill = Fill(exec_id="X1", venue="cbp", qty=D(1), price=D(70000), time=T0)
    journal.write(JournalBatch(orders={order.order_id: order}, fills=[(order.order_id, fill)]))
    check = DriftCheck(journal, symbols, D(1))
    assert check.prices()["BTC"] == D(70000)                   # no reference journaled: the last fill
    write_references(journal, [reference_row(ReferenceBook({}, clock=lambda: T0).reference("none"), T0)])
    book = ReferenceBook({BTC: InstrumentPolicy(live_sources=("a",))}, clock=lambda: T0)
    book.offer_raw("a", BTC, last="65000")
    write_references(journal, [reference_row(book.reference(BTC), T0)])
    assert check.prices()["BTC"] == D(65000)
