"""The router's drop-copy and archive hook (`fixgw.engine.copyhook.CopyHook`), run on the router thread.

Per pass, in the order things happened: the copy of each report received from a venue, then copies of the
reports it made fixgw send (ExecutionReports to EMS sessions, refusals included). The copies are journaled
with the pass (session `dropcopy`, persist before send) and handed to the drop-copy sessions after the commit.
It also links raw messages journaled without an order id (EMS orders and venue traffic) to their order of
record, so the archive finds them by order, account, instrument and venue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

import structlog

from fixgw.dropcopy.copies import DROPCOPY_SESSION, CopyBuilder
from fixgw.engine.copyhook import Reply
from fixgw.fix.fields import Fields, FieldView
from fixgw.fix.wire import DATA_LENGTH_TAGS, SOH, parse_fix, render_fix
from fixgw.model.orders import ExecutionEvent, utc_now
from fixgw.model.state import Order
from fixgw.router.book import OrderBook
from fixgw.router.effects import Effects
from fixgw.store.records import MessageRecord

log = structlog.get_logger("fixgw.dropcopy")

_ORDER_MESSAGES = frozenset({"D", "F", "G", "H", "8", "9"})
_ID_FIELD = re.compile(f"{SOH}(11|41|37)=([^{SOH}]*)")
_DATA_FIELD = re.compile(f"{SOH}(?:{'|'.join(map(str, DATA_LENGTH_TAGS))})=")
"""A length-prefixed data field, whose value may hold SOH (and so what looks like a field): parsed in full then."""


class CopyOutlet(Protocol):
    def deliver(self, copies: Sequence[MessageRecord]) -> None:
        """Send journaled copy rows to every drop-copy session whose filter they pass."""


class DropCopyFeed:
    def __init__(self, book: OrderBook, builder: CopyBuilder | None, outlet: CopyOutlet | None) -> None:
        """`builder` None: no drop-copy sessions, only link raw messages to orders."""
        self.book = book
        self.builder = builder
        self.outlet = outlet
        self.failures = 0

    def pass_copies(self) -> PassCopies:
        return PassCopies(self)


class PassCopies:
    __slots__ = ("_copies", "_feed", "_replies_seen", "_to_ems_seen")

    def __init__(self, feed: DropCopyFeed) -> None:
        self._feed = feed
        self._copies: list[MessageRecord] = []
        self._to_ems_seen = 0
        self._replies_seen = 0

    def after_item(self, kind: str, args: tuple[Any, ...], fx: Effects, replies: Sequence[Reply]) -> None:
        builder = self._feed.builder
        if builder is None:
            return
        try:
            if kind == "venue_execution":
                venue, event = args
                order = self._feed.book.find_venue(venue, cl_ord_ids=(event.cl_ord_id, event.orig_cl_ord_id),
                                                   venue_order_id=event.order_id)
                self._add(builder.of_received(venue, event, order), order, event.cl_ord_id)
            self._sent_since_last(builder, fx, replies)
        except Exception as exc:  # a copy must never cost the pass its journal commit
            self._failed("after_item", exc)

    def records(self, fx: Effects, messages: list[MessageRecord]) -> list[MessageRecord]:
        try:
            if self._feed.builder is not None:
                self._sent_since_last(self._feed.builder, fx, ())
            self._link(messages)
        except Exception as exc:
            self._failed("records", exc)
        return self._copies

    def send(self) -> None:
        outlet = self._feed.outlet
        if outlet is None or not self._copies:
            return
        try:
            outlet.deliver(self._copies)
        except Exception as exc:
            self._failed("send", exc)

    # ------------------------------------------------------------------ internals

    def _sent_since_last(self, builder: CopyBuilder, fx: Effects, replies: Sequence[Reply]) -> None:
        book = self._feed.book
        sent, self._to_ems_seen = fx.to_ems[self._to_ems_seen:], len(fx.to_ems)
        for session, report, order_id in sent:
            if isinstance(report, ExecutionEvent):
                try:
                    order = (fx.orders.get(order_id) or book.get(order_id)) if order_id else None
                    self._add(builder.of_sent(session, report, order), order, report.cl_ord_id)
                except Exception as exc:  # this copy is lost (and logged); the others still go
                    self._failed("of_sent", exc)
        refusals, self._replies_seen = replies[self._replies_seen:], max(self._replies_seen, len(replies))
        for session, fields, _order_id in refusals:
            copy = builder.of_reply(session, fields)
            if copy is not None:
                self._add(copy, None, next((value for tag, value in fields if tag == 11), None))

    def _add(self, fields: Fields, order: Order | None, cl_ord_id: str | None) -> None:
        self._copies.append(MessageRecord(
            session=DROPCOPY_SESSION, direction="out", msg_type="8", raw=render_fix(fields, SOH), at=utc_now(),
            order_id=order.order_id if order is not None else None, cl_ord_id=cl_ord_id))

    def _link(self, messages: list[MessageRecord]) -> None:
        """Set order_id (and cl_ord_id) on raw EMS / venue messages journaled without them."""
        book = self._feed.book
        for record in messages:
            if record.order_id is not None or record.msg_type not in _ORDER_MESSAGES:
                continue
            tags = _id_tags(record.raw)
            cl_ord_id, orig, venue_order_id = tags.get(11), tags.get(41), tags.get(37)
            order = book.find_venue(record.session, cl_ord_ids=(cl_ord_id, orig), venue_order_id=venue_order_id)
            if order is None:
                for key in (cl_ord_id, orig):
                    order = book.find_ems(record.session, key) if key else None
                    if order is not None:
                        break
            if order is not None:
                record.order_id = order.order_id
            if record.cl_ord_id is None:
                record.cl_ord_id = cl_ord_id

    def _failed(self, stage: str, exc: Exception) -> None:
        self._feed.failures += 1
        log.exception("dropcopy.copy_failed", stage=stage, error=repr(exc))


def _id_tags(raw: str) -> dict[int, str]:
    """The first ClOrdID(11), OrigClOrdID(41) and OrderID(37) of a rendered message (it starts with 8 or 35)."""
    if _DATA_FIELD.search(raw) is not None:
        values = FieldView(parse_fix(raw)).first
        return {tag: values[tag] for tag in (11, 41, 37) if tag in values}
    tags: dict[int, str] = {}
    for tag, value in _ID_FIELD.findall(raw):  # one scan, not a parse of every field (twice per order leg)
        tags.setdefault(int(tag), value)
    return tags
