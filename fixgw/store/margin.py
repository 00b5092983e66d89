"""Margin snapshots as journaled by the margin service (migration margin_snapshots): one row per venue per
snapshot, per state change, per daily interest accrual and per drift pause, each with its figures as JSON. This
module is the table's only writer; the latest desk picture itself lives in journal state `margin.last`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, insert, select

from fixgw.store import schema
from fixgw.store.coltypes import UtcMicros
from fixgw.store.database import write_transaction
from fixgw.store.journal import Journal, _typed_errors

margin_snapshots = Table(
    "margin_snapshots", schema.metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UtcMicros, nullable=False),
    Column("venue", String(64), nullable=False),
    Column("kind", String(16), nullable=False),        # snapshot | state_change | interest | drift_pause
    Column("state", String(16), nullable=False),       # ok | warn | reduce_only | critical
    Column("previous_state", String(16)),
    Column("margin_ratio", String(64)),                # a decimal string, null when nothing is required
    Column("detail", Text, nullable=False),            # the venue's figures (status JSON) or the event's facts
)
Index("ix_margin_snapshots_venue_at", margin_snapshots.c.venue, margin_snapshots.c.at)


@dataclass(frozen=True, slots=True)
class MarginRow:
    at: datetime
    venue: str
    kind: str
    state: str
    margin_ratio: str | None
    detail: dict[str, Any]
    previous_state: str | None = None


class MarginStore:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def record(self, rows: Sequence[MarginRow]) -> None:
        if not rows:
            return
        with _typed_errors("record_margin"), write_transaction(self.journal.engine) as connection:
            connection.execute(insert(margin_snapshots), [
                {"at": row.at, "venue": row.venue, "kind": row.kind, "state": row.state,
                 "previous_state": row.previous_state, "margin_ratio": row.margin_ratio,
                 "detail": json.dumps(row.detail, sort_keys=True)} for row in rows])

    def rows(self, *, since: datetime | None = None, until: datetime | None = None, venue: str | None = None,
             kinds: Sequence[str] = ()) -> Iterator[MarginRow]:
        m = margin_snapshots
        query = select(m).order_by(m.c.at, m.c.id)
        if since is not None:
            query = query.where(m.c.at >= since)
        if until is not None:
            query = query.where(m.c.at < until)
        if venue is not None:
            query = query.where(m.c.venue == venue)
        if kinds:
            query = query.where(m.c.kind.in_(list(kinds)))
        for row in self.journal._stream(query, scalars=False):
            r = row._mapping
            yield MarginRow(r["at"], r["venue"], r["kind"], r["state"], r["margin_ratio"], json.loads(r["detail"]),
                            r["previous_state"])
