"""The compliance archive over the journal: messages and order events filtered by time range, account,
instrument, venue, order id and ClOrdID, streamed in time order; and the purge of whole UTC days.

Account, instrument and venue come from the order of record (joined on order id, indexed there), so the
message and event tables need no copies of them. A message without an order (a refusal before one existed, a
venue message fixgw could not match) still matches a venue filter by its session when that is the venue.
A ClOrdID filter finds every message of the orders that ever used it (EMS chain or our outbound ids) as well
as messages carrying it themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Select, and_, cast, delete, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from fixgw.store import schema
from fixgw.store.database import write_transaction
from fixgw.store.journal import Journal, _typed_errors


@dataclass(frozen=True, slots=True)
class ArchiveQuery:
    """What to select; empty tuples do not filter. `since` is inclusive, `until` exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    accounts: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    venues: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()
    cl_ord_ids: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()
    """Messages only: journal session names (EMS, broker, REST venue, `dropcopy`)."""


@dataclass(slots=True)
class ArchivedMessage:
    id: int
    at: datetime
    session: str
    direction: str
    msg_type: str
    seq_num: int | None
    order_id: str | None
    cl_ord_id: str | None
    account: str | None
    instrument_id: str | None
    venue: str | None
    raw: str


@dataclass(slots=True)
class ArchivedEvent:
    id: int
    at: datetime
    order_id: str
    event: str
    status: str
    detail: dict[str, str]
    ems_session: str | None
    parent_cl_ord_id: str | None
    """The EMS order's first ClOrdID (the root of its chain)."""
    cl_ord_id: str | None
    """The order's current EMS ClOrdID."""
    account: str | None
    instrument_id: str | None
    side: str | None
    order_qty: str | None
    price: str | None
    venue: str | None
    venue_cl_ord_id: str | None
    venue_order_id: str | None


@dataclass(slots=True)
class ArchivedExchange:
    """One REST request to a venue and its answer, as the venue wire archive holds it (masked)."""

    id: int
    at: datetime
    venue: str
    method: str
    endpoint: str
    path: str
    status: int | None
    latency_us: int
    route: str
    attempt: int
    exchange: dict[str, Any]


@dataclass(slots=True)
class PurgedDay:
    day: date
    messages: int
    events: int
    fills: int
    orders: int


class Archive:
    """Archive reads and the day purge on an open Journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    # --- messages ------------------------------------------------------------------------------------------

    def messages(self, query: ArchiveQuery) -> Iterator[ArchivedMessage]:
        m, o = schema.messages, schema.orders
        statement = (select(m.c.id, m.c.at, m.c.session, m.c.direction, m.c.msg_type, m.c.seq_num, m.c.order_id,
                            m.c.cl_ord_id, o.c.account, o.c.instrument_id, o.c.venue, m.c.raw)
                     .select_from(m.outerjoin(o, o.c.order_id == m.c.order_id))
                     .where(*self._message_filter(query)).order_by(m.c.at, m.c.id))
        for row in self.journal._stream(statement, scalars=False):
            yield ArchivedMessage(*row)

    def count_messages(self, query: ArchiveQuery) -> int:
        m, o = schema.messages, schema.orders
        return self._count(select(func.count()).select_from(m.outerjoin(o, o.c.order_id == m.c.order_id))
                           .where(*self._message_filter(query)))

    def _message_filter(self, query: ArchiveQuery) -> list[ColumnElement[bool]]:
        m, o = schema.messages, schema.orders
        conditions = _order_filter(query, m.c.order_id, m.c.at)
        if query.venues:
            # The order's venue; or, for a message linked to no order, the venue's own session.
            conditions.append(or_(o.c.venue.in_(query.venues),
                                  and_(o.c.order_id.is_(None), m.c.session.in_(query.venues))))
        if query.cl_ord_ids:
            conditions.append(or_(m.c.cl_ord_id.in_(query.cl_ord_ids), m.c.order_id.in_(_aliased(query))))
        if query.sessions:
            conditions.append(m.c.session.in_(query.sessions))
        return conditions

    # --- venue wire ----------------------------------------------------------------------------------------

    def wire_exchanges(self, query: ArchiveQuery) -> Iterator[ArchivedExchange]:
        """The venue wire archive in time order: the time range and the venues of `query` (no other filter)."""
        w = schema.venue_wire
        statement = (select(w.c.id, w.c.at, w.c.venue, w.c.method, w.c.endpoint, w.c.path, w.c.status,
                            w.c.latency_us, w.c.route, w.c.attempt, w.c.exchange)
                     .where(*self._wire_filter(query)).order_by(w.c.at, w.c.id))
        for row in self.journal._stream(statement, scalars=False):
            values = list(row)
            values[-1] = json.loads(values[-1])
            yield ArchivedExchange(*values)

    def count_wire_exchanges(self, query: ArchiveQuery) -> int:
        return self._count(select(func.count()).select_from(schema.venue_wire).where(*self._wire_filter(query)))

    @staticmethod
    def _wire_filter(query: ArchiveQuery) -> list[ColumnElement[bool]]:
        w = schema.venue_wire
        conditions: list[ColumnElement[bool]] = []
        if query.since is not None:
            conditions.append(w.c.at >= query.since)
        if query.until is not None:
            conditions.append(w.c.at < query.until)
        if query.venues:
            conditions.append(w.c.venue.in_(query.venues))
        return conditions

    # --- order events --------------------------------------------------------------------------------------

    def events(self, query: ArchiveQuery) -> Iterator[ArchivedEvent]:
        e, o = schema.events, schema.orders
        snapshot = self._json_text
        statement = (select(e.c.id, e.c.at, e.c.order_id, e.c.event, e.c.status, e.c.detail, o.c.ems_session,
                            snapshot("cl_ord_id_chain", "0"), o.c.cl_ord_id, o.c.account, o.c.instrument_id,
                            snapshot("side"), snapshot("order_qty"), snapshot("price"), o.c.venue,
                            o.c.venue_cl_ord_id, o.c.venue_order_id)
                     .select_from(e.outerjoin(o, o.c.order_id == e.c.order_id))
                     .where(*self._event_filter(query)).order_by(e.c.at, e.c.id))
        for row in self.journal._stream(statement, scalars=False):
            values = list(row)
            values[5] = json.loads(values[5])
            yield ArchivedEvent(*values)

    def count_events(self, query: ArchiveQuery) -> int:
        e, o = schema.events, schema.orders
        return self._count(select(func.count()).select_from(e.outerjoin(o, o.c.order_id == e.c.order_id))
                           .where(*self._event_filter(query)))

    def _event_filter(self, query: ArchiveQuery) -> list[ColumnElement[bool]]:
        e, o = schema.events, schema.orders
        conditions = _order_filter(query, e.c.order_id, e.c.at)
        if query.venues:
            conditions.append(o.c.venue.in_(query.venues))
        if query.cl_ord_ids:
            conditions.append(e.c.order_id.in_(_aliased(query)))
        return conditions

    def _json_text(self, *path: str) -> ColumnElement[Any]:
        snapshot = schema.orders.c.snapshot
        if self.journal.engine.dialect.name == "postgresql":
            return func.json_extract_path_text(cast(snapshot, JSON), *path)
        return func.json_extract(snapshot, "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path))

    # --- retention -----------------------------------------------------------------------------------------

    def first_day(self) -> date | None:
        """The UTC day of the oldest message, event or fill; None for an empty journal."""
        firsts = [self._scalar(select(func.min(table.c.at))) for table in _DATED]
        known = [at for at in firsts if at is not None]
        return min(known).astimezone(UTC).date() if known else None

    def day_counts(self, day: date) -> dict[str, int]:
        since, until = _day_range(day)
        return {table.name: self._count(select(func.count()).select_from(table).where(
            table.c.at >= since, table.c.at < until)) for table in _DATED}

    def purge_day(self, day: date) -> PurgedDay:
        """Delete one UTC day's messages, events and fills, then the closed orders left with no rows at all
        (and their ClOrdID aliases); one transaction. Whether the day may go is the caller's decision."""
        since, until = _day_range(day)
        o, aliases = schema.orders, schema.order_aliases
        with _typed_errors("purge_day"), write_transaction(self.journal.engine) as connection:
            counts = {table.name: connection.execute(
                delete(table).where(table.c.at >= since, table.c.at < until)).rowcount for table in _DATED}
            wire = schema.venue_wire
            connection.execute(delete(wire).where(wire.c.at >= since, wire.c.at < until))
            left = [~exists().where(table.c.order_id == o.c.order_id) for table in _DATED]
            gone = select(o.c.order_id).where(~o.c.is_open, o.c.updated_at < until, *left)
            connection.execute(delete(aliases).where(aliases.c.order_id.in_(gone)))
            orders = connection.execute(delete(o).where(o.c.order_id.in_(gone))).rowcount
        return PurgedDay(day, counts["messages"], counts["events"], counts["fills"], orders)

    # --- helpers -------------------------------------------------------------------------------------------

    def _count(self, statement: Select[Any]) -> int:
        return int(self._scalar(statement) or 0)

    def _scalar(self, statement: Select[Any]) -> Any:
        with _typed_errors("archive"), self.journal.engine.connect() as connection:
            return connection.execute(statement).scalar_one_or_none()


_DATED = (schema.messages, schema.events, schema.fills)


def _day_range(day: date) -> tuple[datetime, datetime]:
    since = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return since, since + timedelta(days=1)


def _order_filter(query: ArchiveQuery, order_id: Any, at: Any) -> list[ColumnElement[bool]]:
    o = schema.orders
    conditions: list[ColumnElement[bool]] = []
    if query.since is not None:
        conditions.append(at >= query.since)
    if query.until is not None:
        conditions.append(at < query.until)
    if query.accounts:
        conditions.append(o.c.account.in_(query.accounts))
    if query.instruments:
        conditions.append(o.c.instrument_id.in_(query.instruments))
    if query.order_ids:
        conditions.append(order_id.in_(query.order_ids))
    return conditions


def _aliased(query: ArchiveQuery) -> Select[Any]:
    aliases = schema.order_aliases
    return select(aliases.c.order_id).where(aliases.c.value.in_(query.cl_ord_ids))
