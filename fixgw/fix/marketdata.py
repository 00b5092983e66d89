"""FIX market data, top of book: MarketDataRequest (35=V) out, MarketDataSnapshotFullRefresh (35=W) and
MarketDataIncrementalRefresh (35=X) in, MarketDataRequestReject (35=Y). Sans-I/O: field lists in, field lists out.

The request asks for snapshot + updates (263=1) of the best bid and offer (264=1, 269=0/1), incremental
refresh (265=1). `TopOfBook` keeps the best bid/offer per Symbol(55) from W (replaces the symbol's book) and X
(279 new/change sets a side, delete clears it). The builders at the end are what a broker (the simulator) sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from fixgw.model.decimals import fmt_decimal, to_decimal

Fields = list[tuple[int, str]]

BID, OFFER = "0", "1"
NEW, CHANGE, DELETE = "0", "1", "2"
SNAPSHOT_AND_UPDATES, UNSUBSCRIBE = "1", "2"


class MarketDataError(ValueError):
    """A market-data message we cannot use (a reject, a malformed entry); the caller logs and counts it."""


@dataclass(frozen=True, slots=True)
class TopUpdate:
    symbol: str
    bid: Decimal | None
    offer: Decimal | None


def market_data_request(req_id: str, symbols: Sequence[str], *, subscribe: bool = True) -> Fields:
    """35=V for the best bid and offer of `symbols` (body fields in the data dictionary's order)."""
    fields: Fields = [(35, "V"), (262, req_id), (263, SNAPSHOT_AND_UPDATES if subscribe else UNSUBSCRIBE),
                      (264, "1"), (265, "1"), (267, "2"), (269, BID), (269, OFFER), (146, str(len(symbols)))]
    fields += [(55, symbol) for symbol in symbols]
    return fields


class TopOfBook:
    """Best bid and offer per symbol, from 35=W and 35=X (one owner thread)."""

    def __init__(self) -> None:
        self._books: dict[str, dict[str, Decimal]] = {}

    def apply(self, fields: Sequence[tuple[int, str]]) -> list[TopUpdate]:
        """The symbols whose top changed (or was restated); MarketDataError for a reject or a bad entry."""
        msg_type = next((value for tag, value in fields if tag == 35), "")
        if msg_type == "Y":
            reason = next((value for tag, value in fields if tag == 58), "") or next(
                (value for tag, value in fields if tag == 281), "")
            raise MarketDataError(f"MarketDataRequestReject: {reason or 'no reason given'}")
        if msg_type == "W":
            symbol = next((value for tag, value in fields if tag == 55), "")
            if not symbol:
                raise MarketDataError("MarketDataSnapshotFullRefresh without Symbol(55)")
            book: dict[str, Decimal] = {}
            for entry in _entries(fields, start=269):
                side, price = entry.get(269), entry.get(270)
                if side in (BID, OFFER) and price is not None:
                    book[side] = _price(price)
            self._books[symbol] = book
            return [self._top(symbol)]
        if msg_type == "X":
            changed: dict[str, None] = {}
            default_symbol = next((value for tag, value in fields if tag == 55), "")
            for entry in _entries(fields, start=279):
                symbol = entry.get(55, default_symbol)
                side = entry.get(269)
                if not symbol or side not in (BID, OFFER):
                    continue
                book = self._books.setdefault(symbol, {})
                if entry.get(279) == DELETE:
                    book.pop(side, None)
                elif (price := entry.get(270)) is not None:
                    book[side] = _price(price)
                changed[symbol] = None
            return [self._top(symbol) for symbol in changed]
        return []

    def _top(self, symbol: str) -> TopUpdate:
        book = self._books.get(symbol, {})
        return TopUpdate(symbol, book.get(BID), book.get(OFFER))


def _entries(fields: Sequence[tuple[int, str]], *, start: int) -> Iterable[dict[int, str]]:
    """The NoMDEntries(268) group's entries: each begins at its delimiter tag `start` (269 in W, 279 in X)."""
    entry: dict[int, str] | None = None
    inside = False
    for tag, value in fields:
        if tag == 268:
            inside = True
            continue
        if not inside:
            continue
        if tag == start:
            if entry is not None:
                yield entry
            entry = {}
        if entry is not None:
            entry[tag] = value
    if entry is not None:
        yield entry


def _price(text: str) -> Decimal:
    try:
        return to_decimal(text)
    except ValueError:
        raise MarketDataError(f"MDEntryPx(270) {text!r} is not a decimal") from None


# ---------------------------------------------------------------------- what a broker sends (the simulator)


def snapshot(req_id: str, symbol: str, bid: Decimal, offer: Decimal, size: Decimal) -> Fields:
    return [(35, "W"), (262, req_id), (55, symbol), (268, "2"),
            (269, BID), (270, fmt_decimal(bid)), (271, fmt_decimal(size)),
            (269, OFFER), (270, fmt_decimal(offer)), (271, fmt_decimal(size))]


def incremental(req_id: str, symbol: str, bid: Decimal, offer: Decimal, size: Decimal) -> Fields:
    """A change of both sides of the top of book (279=1)."""
    return [(35, "X"), (262, req_id), (268, "2"),
            (279, CHANGE), (269, BID), (55, symbol), (270, fmt_decimal(bid)), (271, fmt_decimal(size)),
            (279, CHANGE), (269, OFFER), (55, symbol), (270, fmt_decimal(offer)), (271, fmt_decimal(size))]


def request_reject(req_id: str, text: str) -> Fields:
    return [(35, "Y"), (262, req_id), (281, "0"), (58, text)]


def requested_symbols(fields: Sequence[tuple[int, str]]) -> tuple[str, str, list[str]]:
    """(MDReqID, SubscriptionRequestType, symbols) of a 35=V."""
    values = dict(fields)
    return values.get(262, ""), values.get(263, ""), [value for tag, value in fields if tag == 55]
