"""Journals every instrument's reference every `marketdata.journal_period_s` (fixgw/store/references.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import structlog

from fixgw.marketdata.reference import Reference, ReferenceBook
from fixgw.model.decimals import fmt_decimal
from fixgw.store.journal import Journal
from fixgw.store.references import ReferenceRow, write_references

log = structlog.get_logger("fixgw.marketdata")


def reference_row(reference: Reference, at: datetime) -> ReferenceRow:
    sources = []
    for view in reference.sources:
        quote = view.quote
        sources.append({"source": quote.source, "bid": _text(quote.bid), "ask": _text(quote.ask),
                        "last": _text(quote.last), "mid": fmt_decimal(quote.mid),
                        "received_at": quote.received_at.isoformat(), "age_s": f"{view.age.total_seconds():.3f}",
                        "fresh": str(view.fresh).lower(), "flagged": str(view.flagged).lower()})
    return ReferenceRow(at, reference.instrument_id, reference.state.value, reference.price, reference.static, sources)


def _text(value: Decimal | None) -> str:
    return "" if value is None else fmt_decimal(value)


class ReferenceJournal:
    """Called once a second off the router thread; writes when a period has passed since the last write."""

    def __init__(self, book: ReferenceBook, journal: Journal, period_s: int) -> None:
        self._book = book
        self._journal = journal
        self._period = timedelta(seconds=period_s)
        self._last: datetime | None = None
        self.rows_written = 0

    def maybe_write(self) -> int:
        if not self._period:
            return 0
        now = self._book.clock()
        if self._last is not None and now - self._last < self._period:
            return 0
        self._last = now
        written = write_references(self._journal, [reference_row(r, now) for r in self._book.references(now)])
        self.rows_written += written
        return written
