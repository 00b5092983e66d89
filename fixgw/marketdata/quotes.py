"""A source's quote in canonical form, and the validation every source's raw price goes through.

A quote carries OUR receive time (`received_at`): freshness and ordering use it, never the venue's clock,
so a venue whose clock is skewed can neither freeze a price nor keep a stale one alive. The venue's own
time is kept for display only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fixgw.model.decimals import SCALE, DecimalFormatError, to_decimal

_TWO = Decimal(2)
QUANTUM = Decimal(1).scaleb(-SCALE)


class MalformedQuote(ValueError):
    """A price a source sent that cannot be used (not a number, negative, zero, crossed); dropped and counted."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Quote:
    source: str
    instrument_id: str
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    received_at: datetime
    """Our clock when the quote arrived: orders quotes and decides staleness."""
    venue_time: datetime | None = None
    static: bool = False
    """The configured price: a last resort, never stale, never a market observation."""

    @property
    def mid(self) -> Decimal:
        """Mid of bid and ask when both are there, else the one side or the last price given."""
        if self.bid is not None and self.ask is not None:
            return ((self.bid + self.ask) / _TWO).quantize(QUANTUM)   # the canonical scale, as every price
        value = self.last if self.last is not None else (self.bid if self.bid is not None else self.ask)
        assert value is not None  # make_quote refuses a quote without any price
        return value


def make_quote(source: str, instrument_id: str, received_at: datetime, *, bid: Any = None, ask: Any = None,
               last: Any = None, venue_time: datetime | None = None, static: bool = False) -> Quote:
    """Parse a source's raw prices (text, int or Decimal; never float) into a Quote, or raise MalformedQuote."""
    parsed_bid = _price("bid", bid)
    parsed_ask = _price("ask", ask)
    parsed_last = _price("last", last)
    if parsed_bid is None and parsed_ask is None and parsed_last is None:
        raise MalformedQuote("no_price", f"{source} sent no bid, ask or price for {instrument_id}")
    if parsed_bid is not None and parsed_ask is not None and parsed_bid > parsed_ask:
        raise MalformedQuote("crossed", f"{source} bid {parsed_bid} above ask {parsed_ask} for {instrument_id}")
    return Quote(source, instrument_id, parsed_bid, parsed_ask, parsed_last, received_at, venue_time, static)


def _price(label: str, raw: Any) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = to_decimal(raw)
    except DecimalFormatError as exc:
        raise MalformedQuote("not_a_number", f"{label} {raw!r}: {exc}") from None
    if value <= 0:
        raise MalformedQuote("not_positive", f"{label} {raw!r} is not a positive price")
    return value
