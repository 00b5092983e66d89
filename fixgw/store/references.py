"""Reference prices in the journal: one row per instrument per journaling period (price, state, the sources it
was made of), so a day's P&L and every price control decision can be replayed for compliance.

The table lives on the journal's `schema.metadata` (migration 0004); this module is its only writer and reader.
Rows are written off the router thread, in their own transaction (they are evidence, not order state).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, func, insert, select

from fixgw.store import schema
from fixgw.store.coltypes import ExactDecimal, UtcMicros
from fixgw.store.database import write_transaction
from fixgw.store.journal import Journal, _typed_errors

reference_prices = Table(
    "reference_prices", schema.metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UtcMicros, nullable=False),
    Column("instrument_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),        # ok | stale | no_reference | diverged
    Column("price", ExactDecimal),                      # null: no reference
    Column("static", Boolean, nullable=False),          # the price is the configured one
    Column("sources", Text, nullable=False),            # JSON: [{source, bid, ask, last, mid, age_s, fresh, flagged}]
)
Index("ix_reference_prices_instrument_at", reference_prices.c.instrument_id, reference_prices.c.at)


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    at: datetime
    instrument_id: str
    state: str
    price: Decimal | None
    static: bool
    sources: list[dict[str, str]]
    """Each source as text fields (decimals as strings, never floats)."""


def write_references(journal: Journal, rows: Iterable[ReferenceRow]) -> int:
    values = [{"at": row.at, "instrument_id": row.instrument_id, "state": row.state, "price": row.price,
               "static": row.static, "sources": json.dumps(row.sources, sort_keys=True)} for row in rows]
    if not values:
        return 0
    with _typed_errors("write reference prices"), write_transaction(journal.engine) as connection:
        connection.execute(insert(reference_prices), values)
    return len(values)


def latest_reference_prices(journal: Journal) -> dict[str, Decimal]:
    """The newest journaled reference per instrument that had a market price (state ok, not static)."""
    r = reference_prices
    usable = (r.c.state == "ok") & r.c.price.is_not(None) & r.c.static.is_(False)
    latest = select(func.max(r.c.id)).where(usable).group_by(r.c.instrument_id)
    query = select(r.c.instrument_id, r.c.price).where(r.c.id.in_(latest))
    with _typed_errors("read reference prices"), journal.engine.connect() as connection:
        return {str(instrument): price for instrument, price in connection.execute(query)}


def read_references(journal: Journal, *, instrument_id: str | None = None, since: datetime | None = None,
                    until: datetime | None = None) -> Iterator[ReferenceRow]:
    query = select(reference_prices).order_by(reference_prices.c.at, reference_prices.c.id)
    if instrument_id is not None:
        query = query.where(reference_prices.c.instrument_id == instrument_id)
    if since is not None:
        query = query.where(reference_prices.c.at >= since)
    if until is not None:
        query = query.where(reference_prices.c.at < until)
    with _typed_errors("read reference prices"), journal.engine.connect() as connection:
        for row in connection.execute(query):
            yield ReferenceRow(row.at, row.instrument_id, row.state, row.price, row.static, json.loads(row.sources))
