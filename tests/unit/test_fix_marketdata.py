"""FIX market data, top of book: the MarketDataRequest we send, and 35=W / 35=X / 35=Y read into bid/offer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fixgw.engine.quickfix_support import fields_to_message, load_data_dictionary
from fixgw.fix import marketdata as md
from fixgw.fix.wire import parse_fix
from fixgw.marketdata.fix_source import FixMarketData
from fixgw.marketdata.reference import InstrumentPolicy, ReferenceBook

D = Decimal


def test_the_request_asks_for_snapshot_and_updates_of_bid_and_offer() -> None:
    fields = md.market_data_request("md-1", ["AAPL", "IBM"])
    assert fields == [(35, "V"), (262, "md-1"), (263, "1"), (264, "1"), (265, "1"), (267, "2"), (269, "0"),
                      (269, "1"), (146, "2"), (55, "AAPL"), (55, "IBM")]
    assert md.requested_symbols(fields) == ("md-1", "1", ["AAPL", "IBM"])


@pytest.mark.parametrize("begin_string", ["FIX.4.2", "FIX.4.4"])
def test_messages_keep_their_groups_through_quickfix(begin_string: str) -> None:
    """Built and re-read by QuickFIX with the data dictionary, as the sessions carry them."""
    dictionary = load_data_dictionary(begin_string)

    def through(fields: list[tuple[int, str]]) -> list[tuple[int, str]]:
        return parse_fix(fields_to_message(fields, dictionary, begin_string=begin_string).toString())

    request = through(md.market_data_request("r", ["AAPL", "IBM"]))
    assert md.requested_symbols(request) == ("r", "1", ["AAPL", "IBM"])
    assert [value for tag, value in request if tag == 269] == ["0", "1"]
    book = md.TopOfBook()
    assert book.apply(through(md.snapshot("r", "AAPL", D("189.9"), D("190.1"), D(100)))) == [
        md.TopUpdate("AAPL", D("189.9"), D("190.1"))]
    assert book.apply(through(md.incremental("r", "AAPL", D("191"), D("191.2"), D(100)))) == [
        md.TopUpdate("AAPL", D("191"), D("191.2"))]


def test_snapshot_then_increments_keep_the_top_of_book() -> None:
    book = md.TopOfBook()
    assert book.apply(md.snapshot("r", "AAPL", D("189.9"), D("190.1"), D(100))) == [
        md.TopUpdate("AAPL", D("189.9"), D("190.1"))]
    assert book.apply(md.incremental("r", "AAPL", D("191"), D("191.2"), D(100))) == [
        md.TopUpdate("AAPL", D("191"), D("191.2"))]
    delete = [(35, "X"), (262, "r"), (268, "1"), (279, "2"), (269, "0"), (55, "AAPL")]
    assert book.apply(delete) == [md.TopUpdate("AAPL", None, D("191.2"))]
    other = [(35, "X"), (268, "1"), (279, "0"), (269, "0"), (55, "IBM"), (270, "140.5"), (271, "10")]
    assert book.apply(other) == [md.TopUpdate("IBM", D("140.5"), None)]
    assert book.apply([(35, "8"), (11, "x")]) == []


@pytest.mark.parametrize(("fields", "error"), [
    (md.request_reject("r", "unknown symbol"), "MarketDataRequestReject: unknown symbol"),
    ([(35, "W"), (268, "1"), (269, "0"), (270, "1")], "without Symbol(55)"),
    ([(35, "W"), (55, "AAPL"), (268, "1"), (269, "0"), (270, "abc")], "MDEntryPx(270) 'abc'"),
])
def test_unusable_messages_raise(fields: list[tuple[int, str]], error: str) -> None:
    with pytest.raises(md.MarketDataError, match=error.replace("(", r"\(").replace(")", r"\)")):
        md.TopOfBook().apply(fields)


def test_the_source_offers_quotes_and_counts_what_it_cannot_use() -> None:
    book = ReferenceBook({"AAPL": InstrumentPolicy(live_sources=("md",))})
    source = FixMarketData("md", {"AAPL": "AAPL"}, book)
    assert md.requested_symbols(source.request())[2] == ["AAPL"]
    source.on_message(md.snapshot("md-1", "AAPL", D("189.9"), D("190.1"), D(100)))
    source.on_message(md.snapshot("md-1", "ZZZ", D("1"), D("2"), D(100)))        # not ours: ignored
    assert book.reference("AAPL").price == D(190)
    source.on_message(md.request_reject("md-1", "no entitlement"))
    source.on_message([(35, "W"), (55, "AAPL"), (268, "1"), (269, "0"), (270, "-5")])   # dropped by the book
    assert source.errors == 1 and book.dropped() == {("md", "not_positive"): 1}
    assert book.reference("AAPL").price == D(190)
