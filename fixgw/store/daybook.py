"""Today's book at restart, without turning every closed order of the day back into an Order.

The router needs each open order whole. Of the day's closed orders it needs only
- their EMS ClOrdIDs: a reused one is refused as a duplicate, and a late cancel or a bust still finds the order
  (the book reads the Order from the journal the first time it is asked for: OrderBook.remember), and
- what they add to risk exposure: their fills, grouped per (account, instrument, side, qty, price) with a count,
  so the sums are exact decimals multiplied out in Python, not SQL arithmetic on text or floats.
A closed order with a bust or a correction is read whole instead (the fills table keeps the fills those voided),
and so is a row an older fixgw wrote without its side and ClOrdIDs (migration 0003). Everything is found through
the orders' update time, so neither the history nor the ClOrdID aliases of other days are walked.
Restart time then grows with the day's fills only through one grouped query (BENCHMARKS.md, scenario 5).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Select, String, and_, func, not_, or_, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from fixgw.model.enums import Side
from fixgw.model.orders import FillGroup
from fixgw.model.state import Order
from fixgw.store import schema
from fixgw.store.coltypes import from_micros, to_micros
from fixgw.store.journal import Journal

_IN_CHUNK = 500
"""Ids per IN (...) list: well under SQLite's bound-parameter limit."""


@dataclass(slots=True)
class DayBook:
    orders: list[Order] = field(default_factory=list)
    """Open orders, and the day's closed orders with a voided fill or without a side column."""
    closed_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    """(EMS session, ClOrdID) -> order id, for every ClOrdID of the day's other closed orders."""
    closed_fills: list[FillGroup] = field(default_factory=list)
    """The fills of those other closed orders (busts and corrections excluded above), grouped."""


def read_day_book(journal: Journal, day_start: datetime) -> DayBook:
    """The book a restart needs: see the module docstring. `day_start` is the UTC midnight of today.

    The grouped fills are read on a second connection while this thread reads the rest (the drivers release
    the GIL while the database works): restart time is the longer of the two, not their sum."""
    o, e = schema.orders, schema.events
    day = to_micros(day_start)
    updated_today = type_coerce(o.c.updated_at, BigInteger()) >= day
    voided = select(e.c.order_id).where(schema.VOIDING_EVENTS)
    closed_today = [not_(o.c.is_open), updated_today]
    with ThreadPoolExecutor(1, thread_name_prefix="daybook") as pool:
        fills = pool.submit(lambda: list(_fill_groups(journal, closed_today, voided, day)))
        book = DayBook(orders=journal.load_orders(open_only=True))
        # One walk of the day's closed orders (by update time) for their ClOrdIDs and the rows an older fixgw
        # wrote without side or ClOrdIDs (read whole below). A one-id list `["X"]`, nearly every order, is
        # unwrapped inline, as _cl_ord_ids would (without a call per row, 200,000 times a restart).
        keys = select(o.c.ems_session, o.c.cl_ord_ids, o.c.order_id, o.c.side).where(*closed_today)
        closed_keys = book.closed_keys
        unwritten: list[str] = []
        for batch in journal.raw_batches(keys, 10_000):
            for session, text, order_id, side in batch:
                if side is None or text is None:
                    unwritten.append(order_id)
                    continue
                inner = text[2:-2]
                if text.startswith('["') and text.endswith('"]') and '"' not in inner and "\\" not in inner:
                    closed_keys[session, inner] = order_id
                else:
                    closed_keys.update(((session, each), order_id) for each in _cl_ord_ids(text))
        # Read whole: the voided ones found through the partial index, then the unwritten ones by primary key.
        skip = set(unwritten)
        voided_rows = select(o.c.order_id, o.c.snapshot).where(*closed_today, o.c.order_id.in_(voided))
        book.orders += [Order.model_validate_json(snapshot)
                        for order_id, snapshot in journal._stream(voided_rows, scalars=False) if order_id not in skip]
        for first in range(0, len(unwritten), _IN_CHUNK):
            query = select(o.c.snapshot).where(o.c.order_id.in_(unwritten[first:first + _IN_CHUNK]))
            book.orders += [Order.model_validate_json(snapshot) for snapshot in journal._stream(query)]
        book.closed_fills = fills.result()
    return book


def _cl_ord_ids(text: str) -> Sequence[str]:
    """orders.cl_ord_ids: most orders have one ClOrdID, `["X"]`, taken without the JSON parser (a third of its
    cost, 200,000 times a restart); anything with a quote or an escape inside goes through json.loads."""
    inner = text[2:-2]
    if text.startswith('["') and text.endswith('"]') and '"' not in inner and "\\" not in inner:
        return (inner,)
    ids: list[str] = json.loads(text)
    return ids


def _fill_groups(journal: Journal, closed_today: list[ColumnElement[bool]], voided: Select[tuple[str]],
                 day: int) -> Iterator[FillGroup]:
    o, f = schema.orders, schema.fills
    dialect = journal.engine.dialect.name
    side = o.c.side   # rows without it (an older writer's) are read whole instead
    # Decimals as the driver holds them (text on SQLite, NUMERIC on PostgreSQL): grouped by exact value.
    qty, price = (type_coerce(f.c.qty, String()), type_coerce(f.c.price, String())) if dialect == "sqlite" \
        else (f.c.qty, f.c.price)
    at = type_coerce(f.c.at, BigInteger())
    today = (at >= day).label("today")
    query = (select(o.c.account, o.c.instrument_id, side, qty, price, today, func.count(), func.max(at))
             .join_from(o, f, f.c.order_id == o.c.order_id)
             .where(*closed_today, o.c.venue.is_not(None), o.c.side.is_not(None), o.c.cl_ord_ids.is_not(None),
                    o.c.order_id.not_in(voided))
             # Side first: no index starts with it, so SQLite walks the day's orders by update time and then
             # their fills, instead of every fill (or every order by account) of the whole history.
             .group_by(side, qty, price, today, o.c.account, o.c.instrument_id))
    for account, instrument_id, side_value, qty_value, price_value, is_today, count, last in journal._stream(
            query, scalars=False):
        yield FillGroup(account, str(instrument_id), Side(str(side_value)), Decimal(qty_value), Decimal(price_value),
                        int(count), from_micros(int(last)), bool(is_today))


def _day_book_parts(since: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The day book as two disjoint parts, each on its own index (open: the partial index; closed: update time):
    one `is_open OR updated_at >= since` condition would have both SQLite and the counts walk the whole history."""
    o = schema.orders
    return o.c.is_open, and_(not_(o.c.is_open), o.c.updated_at >= since)


def status_counts(journal: Journal, since: datetime) -> tuple[dict[str, int], int]:
    """The day book of record (open orders, and those updated since `since`) by OrdStatus value; and how many of
    them are open. Read from the journal, so it covers the orders the router holds in the journal only."""
    o = schema.orders
    by_status: dict[str, int] = {}
    open_orders = 0
    for part in _day_book_parts(since):
        query = select(o.c.status, o.c.is_open, func.count()).where(part).group_by(o.c.status, o.c.is_open)
        for status, is_open, count in journal._stream(query, scalars=False):
            by_status[str(status)] = by_status.get(str(status), 0) + int(count)
            open_orders += int(count) if is_open else 0
    return by_status, open_orders


def find_orders(journal: Journal, since: datetime, *, limit: int, open_only: bool = False, status: str | None = None,
                ems_session: str | None = None, venue: str | None = None, account: str | None = None,
                instrument_id: str | None = None, cl_ord_id: str | None = None) -> list[Order]:
    """Orders of the day book matching every filter given, newest first, at most `limit`. `status` is an
    OrdStatus value; `cl_ord_id` any EMS ClOrdID the order has had.

    The newest ids of each part of the day book first (narrow rows to sort), then only their snapshots."""
    o, a = schema.orders, schema.order_aliases
    conditions: list[ColumnElement[bool]] = []
    for column, value in ((o.c.status, status), (o.c.ems_session, ems_session), (o.c.venue, venue),
                          (o.c.account, account), (o.c.instrument_id, instrument_id)):
        if value is not None:
            conditions.append(column == value)
    if cl_ord_id is not None:
        conditions.append(or_(o.c.cl_ord_id == cl_ord_id, o.c.order_id.in_(
            select(a.c.order_id).where(a.c.kind == "ems", a.c.value == cl_ord_id))))
    newest = o.c.created_at.desc(), o.c.order_id.desc()
    parts = _day_book_parts(since)[:1] if open_only else _day_book_parts(since)
    order_ids: list[str] = []
    for part in parts:
        order_ids += journal._stream(select(o.c.order_id).where(part, *conditions).order_by(*newest).limit(limit))
    found: list[Order] = []
    for first in range(0, len(order_ids), 500):
        query = select(o.c.snapshot).where(o.c.order_id.in_(order_ids[first:first + 500]))
        found += [Order.model_validate_json(snapshot) for snapshot in journal._stream(query)]
    found.sort(key=lambda order: (order.created_at, order.order_id), reverse=True)
    return found[:limit]
