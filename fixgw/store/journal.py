"""The journal: durable record of orders, events, fills and messages; one transaction per router pass."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Insert, Table, func, literal_column, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from fixgw.model.state import Order
from fixgw.store import schema
from fixgw.store.database import SQLITE_SYNCHRONOUS, Sync, make_engine, upgrade, write_transaction
from fixgw.store.fastwrite import SqliteRows, ems_cl_ord_id_list, ems_cl_ord_ids
from fixgw.store.records import EventRecord, JournalBatch, JournalError, MessageRecord, VenueWireRecord

__all__ = ["EventRecord", "Journal", "JournalBatch", "JournalError", "MessageRecord", "VenueWireRecord"]

RUN_ID = "run_id"
_STREAM_ROWS = 1000
_ORDER_COLUMNS = ("ems_session", "cl_ord_id", "venue", "venue_cl_ord_id", "venue_order_id", "account",
                  "instrument_id", "status", "is_open", "updated_at", "snapshot", "side", "cl_ord_ids")


class Journal:
    """The journal at one database URL (sqlite:///path or postgresql+psycopg://...). `sync`: "full" (every
    commit flushed to the disk, the default) or "normal" (survives the process dying, not power loss)."""

    def __init__(self, url: str, sync: Sync = "full") -> None:
        self.url = url
        self.sync = sync
        self._engine: Engine | None = None
        self._driver_rows: SqliteRows | None = None
        self._aliases_written: dict[str, tuple[str, ...]] = {}
        """Open order -> the ClOrdIDs of it last committed to `order_aliases`: a pass writes only new ones."""

    def __enter__(self) -> Journal:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def open(self) -> None:
        """Connect, set the backend up and migrate the schema to head. Idempotent."""
        if self._engine is not None:
            return
        with _typed_errors("open"):
            engine = make_engine(self.url, self.sync)
            try:
                upgrade(engine)
            except BaseException:
                engine.dispose()
                raise
        self._engine = engine
        self._upserts = _Upserts(engine.dialect.name)
        # SQLite: rows bound by the driver (fastwrite.py); PostgreSQL keeps SQLAlchemy's executemany.
        self._driver_rows = (SqliteRows(self._upserts, str(engine.url.database), SQLITE_SYNCHRONOUS[self.sync])
                             if engine.dialect.name == "sqlite" else None)

    def close(self) -> None:
        if self._driver_rows is not None:
            self._driver_rows.close()
            self._driver_rows = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for tests and tools inside fixgw.store; other packages use the methods."""
        if self._engine is None:
            raise RuntimeError("journal is not open")
        return self._engine

    # --- writing -----------------------------------------------------------------------------------------

    def write(self, batch: JournalBatch) -> None:
        """Write the whole batch in one transaction; committed (durable) when this returns."""
        if batch.is_empty():
            return
        aliases, known = self._new_aliases(batch.orders.values())
        if self._driver_rows is not None:
            self._driver_rows.write(batch, aliases)
        else:
            self._write(batch, aliases)
        # Only once committed: a failed write is retried with the same aliases.
        for order_id, ids in known.items():
            if ids is None:
                self._aliases_written.pop(order_id, None)
            else:
                self._aliases_written[order_id] = ids

    def _new_aliases(self, orders: Iterable[Order]) -> tuple[list[dict[str, str]], dict[str, tuple[str, ...] | None]]:
        """The alias rows of the orders whose ClOrdIDs changed since their last commit (all of them for an order
        this process has not written yet), and what to remember once committed (None: a closed order, forgotten)."""
        changed: list[Order] = []
        known: dict[str, tuple[str, ...] | None] = {}
        written = self._aliases_written
        for order in orders:
            ids = (order.ems_session, order.cl_ord_id, order.orig_cl_ord_id or "", *order.cl_ord_id_chain, "|",
                   order.venue_cl_ord_id or "", *order.venue_cl_ord_ids)
            if written.get(order.order_id) != ids:
                changed.append(order)
            known[order.order_id] = ids if order.is_open else None
        return _alias_rows(changed), known

    def _write(self, batch: JournalBatch, aliases: list[dict[str, str]]) -> None:
        """Journal.write through SQLAlchemy (PostgreSQL)."""
        with _typed_errors("write"), write_transaction(self.engine) as connection:
            if batch.orders:
                orders = list(batch.orders.values())
                connection.execute(self._upserts.orders, [_order_row(order) for order in orders])
            if aliases:
                connection.execute(self._upserts.aliases, aliases)
            if batch.events:
                connection.execute(schema.events.insert(), [
                    {"order_id": e.order_id, "event": e.event, "status": e.status, "at": e.at,
                     "detail": json.dumps(e.detail)} for e in batch.events])
            if batch.fills:
                connection.execute(self._upserts.fills, [
                    {"order_id": order_id, "venue": f.venue, "exec_id": f.exec_id, "qty": f.qty,
                     "price": f.price, "commission": f.commission, "at": f.time} for order_id, f in batch.fills])
            if batch.messages:
                connection.execute(schema.messages.insert(), [
                    {"session": m.session, "direction": m.direction, "msg_type": m.msg_type, "seq_num": m.seq_num,
                     "order_id": m.order_id, "cl_ord_id": m.cl_ord_id, "at": m.at, "raw": m.raw}
                    for m in batch.messages])
            if batch.state:
                now = datetime.now(UTC)
                connection.execute(self._upserts.state,
                                   [{"key": k, "value": v, "updated_at": now} for k, v in batch.state.items()])
            if batch.venue_wire:
                connection.execute(schema.venue_wire.insert(), [
                    {"venue": w.venue, "at": w.at, "method": w.method, "endpoint": w.endpoint, "path": w.path,
                     "status": w.status, "latency_us": w.latency_us, "route": w.route, "attempt": w.attempt,
                     "exchange": w.exchange} for w in batch.venue_wire])

    def allocate_run_id(self) -> int:
        """The next run id: an atomic increment of a persisted counter, safe between processes."""
        counters = schema.counters
        with _typed_errors("allocate_run_id"), write_transaction(self.engine) as connection:
            return int(connection.execute(
                counters.update().where(counters.c.name == RUN_ID)
                .values(value=counters.c.value + 1).returning(counters.c.value)).scalar_one())

    # --- reading -----------------------------------------------------------------------------------------

    def load_orders(self, *, open_only: bool = False, or_updated_since: datetime | None = None) -> list[Order]:
        """The book of record rebuilt from the latest snapshots (fills included). `open_only`: only open orders,
        and with `or_updated_since` also the closed ones updated since then (today's book, without history)."""
        query = select(schema.orders.c.snapshot).order_by(schema.orders.c.order_id)
        if open_only and or_updated_since is not None:
            query = query.where(or_(schema.orders.c.is_open, schema.orders.c.updated_at >= or_updated_since))
        elif open_only:
            query = query.where(schema.orders.c.is_open)
        return [Order.model_validate_json(snapshot) for snapshot in self._stream(query)]

    def find_order(self, *, order_id: str | None = None, ems_session: str | None = None,
                   cl_ord_id: str | None = None, venue_cl_ord_id: str | None = None,
                   venue_order_id: str | None = None) -> Order | None:
        """The order matching every key given. `cl_ord_id` is any EMS ClOrdID of its chain (optionally in
        `ems_session`); `venue_cl_ord_id` any outbound ClOrdID we used. When an id was reused, the latest wins."""
        orders, aliases = schema.orders, schema.order_aliases
        conditions: list[ColumnElement[bool]] = []
        if order_id is not None:
            conditions.append(orders.c.order_id == order_id)
        if cl_ord_id is not None:
            by_alias = select(aliases.c.order_id).where(aliases.c.kind == "ems", aliases.c.value == cl_ord_id)
            if ems_session is not None:
                by_alias = by_alias.where(aliases.c.scope == ems_session)
            conditions.append(orders.c.order_id.in_(by_alias))
        elif ems_session is not None:
            raise ValueError("ems_session only narrows a cl_ord_id lookup")
        if venue_cl_ord_id is not None:
            conditions.append(orders.c.order_id.in_(
                select(aliases.c.order_id).where(aliases.c.kind == "venue", aliases.c.value == venue_cl_ord_id)))
        if venue_order_id is not None:
            conditions.append(orders.c.venue_order_id == venue_order_id)
        if not conditions:
            raise ValueError("find_order needs at least one key")
        query = (select(orders.c.snapshot).where(*conditions)
                 .order_by(orders.c.updated_at.desc(), orders.c.order_id).limit(1))
        with _typed_errors("find_order"), self.engine.connect() as connection:
            snapshot = connection.execute(query).scalar_one_or_none()
        return None if snapshot is None else Order.model_validate_json(snapshot)

    def get_state(self, key: str) -> str | None:
        with _typed_errors("get_state"), self.engine.connect() as connection:
            value = connection.execute(
                select(schema.state.c.value).where(schema.state.c.key == key)).scalar_one_or_none()
        return None if value is None else str(value)

    def state_with_prefix(self, prefix: str) -> dict[str, str]:
        """Every state row whose key starts with `prefix` (kill switches, breakers, ...), by key."""
        state = schema.state
        query = select(state.c.key, state.c.value).where(state.c.key.startswith(prefix, autoescape=True))
        with _typed_errors("state_with_prefix"), self.engine.connect() as connection:
            return {str(key): str(value) for key, value in connection.execute(query)}

    def iter_messages(self, *, session: str | None = None, direction: str | None = None,
                      since: datetime | None = None, until: datetime | None = None,
                      msg_types: Collection[str] | None = None, order_id: str | None = None,
                      cl_ord_id: str | None = None) -> Iterator[MessageRecord]:
        """Messages in journal order, streamed; `since` is inclusive, `until` exclusive."""
        m = schema.messages
        query = select(m.c.session, m.c.direction, m.c.msg_type, m.c.raw, m.c.at, m.c.order_id, m.c.cl_ord_id,
                       m.c.seq_num).order_by(m.c.id)
        query = query.where(*_time_range(m, since, until), *_equal(m, session=session, direction=direction,
                                                                    order_id=order_id, cl_ord_id=cl_ord_id))
        if msg_types is not None:
            query = query.where(m.c.msg_type.in_(list(msg_types)))
        for row in self._stream(query, scalars=False):
            yield MessageRecord(*row)

    def recent_messages(self, *, session: str, direction: str, since: datetime) -> Iterator[MessageRecord]:
        """`iter_messages(session=, direction=, since=)` for a `since` close to now (a restart's replay check).
        On SQLite the time index is walked from `since`: left to itself SQLite takes the (session, direction)
        index, reads every message of the session ever journaled and sorts them (0.3 s of a restart with
        400,000); a unary + keeps those terms and the ORDER BY off their indexes (SQLite's documented way)."""
        m = schema.messages
        query = select(m.c.session, m.c.direction, m.c.msg_type, m.c.raw, m.c.at, m.c.order_id, m.c.cl_ord_id,
                       m.c.seq_num).where(m.c.at >= since)
        if self.engine.dialect.name == "sqlite":
            query = query.where(literal_column("+messages.session") == session,
                                literal_column("+messages.direction") == direction).order_by(
                literal_column("+messages.id"))
        else:
            query = query.where(m.c.session == session, m.c.direction == direction).order_by(m.c.id)
        for row in self._stream(query, scalars=False):
            yield MessageRecord(*row)

    def last_seq_num(self, session: str, direction: str, *, since: datetime | None = None) -> int | None:
        """The highest MsgSeqNum journaled for a session and direction (recovery of the FIX sequence)."""
        m = schema.messages
        query = select(func.max(m.c.seq_num)).where(
            *_time_range(m, since, None), *_equal(m, session=session, direction=direction))
        with _typed_errors("last_seq_num"), self.engine.connect() as connection:
            value = connection.execute(query).scalar_one_or_none()
        return None if value is None else int(value)

    def iter_events(self, *, since: datetime | None = None, until: datetime | None = None,
                    order_id: str | None = None) -> Iterator[EventRecord]:
        """Order events in journal order, streamed; `since` is inclusive, `until` exclusive."""
        e = schema.events
        query = (select(e.c.order_id, e.c.event, e.c.status, e.c.at, e.c.detail).order_by(e.c.id)
                 .where(*_time_range(e, since, until), *_equal(e, order_id=order_id)))
        for row_order_id, event, status, at, detail in self._stream(query, scalars=False):
            yield EventRecord(row_order_id, event, status, at, json.loads(detail))

    def event_times(self, event: str, *, since: datetime) -> list[tuple[str, datetime]]:
        """(order id, time) of every `event` row from `since` on: a short time range of the events index, so a
        restart reads a few rows, not the day's events."""
        e = schema.events
        query = select(e.c.order_id, e.c.at).where(*_time_range(e, since, None), e.c.event == event).order_by(e.c.id)
        return [(order_id, at) for order_id, at in self._stream(query, scalars=False)]

    def counts(self) -> dict[str, int]:
        """Row counts per table (and open orders): for health checks and operators."""
        tables = (schema.orders, schema.events, schema.fills, schema.messages, schema.state)
        with _typed_errors("counts"), self.engine.connect() as connection:
            result = {t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one())
                      for t in tables}
            result["open_orders"] = int(connection.execute(
                select(func.count()).select_from(schema.orders).where(schema.orders.c.is_open)).scalar_one())
        return result

    def raw_batches(self, query: Any, size: int = 1000) -> Iterator[Sequence[tuple[Any, ...]]]:
        """Rows of a query whose parameters are plain values (no bind processors), straight off the driver's
        cursor in batches: half the cost per row of a Result, for the day-sized reads of restart and
        reconciliation. Values come as the driver gives them (no column type processing)."""
        engine = self.engine
        compiled = query.compile(dialect=engine.dialect)
        params = compiled.construct_params()
        if compiled.positional:
            bound: Any = tuple(params[name] for name in compiled.positiontup or ())
        else:
            bound = params
        driver_error = engine.dialect.loaded_dbapi.Error
        with _typed_errors("read"):
            raw = engine.raw_connection()
            try:
                # PostgreSQL: a server-side (named) cursor, so a day of fills is never held in memory at once.
                cursor = (raw.driver_connection.cursor(name=f"raw_{id(raw):x}")  # type: ignore[union-attr]
                          if engine.dialect.name == "postgresql" else raw.cursor())
                cursor.execute(str(compiled), bound)
                while batch := cursor.fetchmany(size):
                    yield batch
                cursor.close()
            except driver_error as exc:
                raise JournalError(f"journal read failed: {exc}") from exc
            finally:
                raw.close()

    def _stream(self, query: Any, *, scalars: bool = True) -> Iterator[Any]:
        with _typed_errors("read"), self.engine.connect() as connection:
            result = connection.execution_options(yield_per=_STREAM_ROWS).execute(query)
            yield from (result.scalars() if scalars else result)


@contextmanager
def _typed_errors(action: str) -> Iterator[None]:
    """Callers see JournalError, never a sqlalchemy exception (they may not import sqlalchemy)."""
    try:
        yield
    except Exception as exc:
        # Alembic's CommandError, matched by module: Alembic is loaded only when a schema needs upgrading
        if isinstance(exc, SQLAlchemyError) or type(exc).__module__.startswith("alembic."):
            raise JournalError(f"journal {action} failed: {exc}") from exc
        raise


class _Upserts:
    """The dialect's INSERT ... ON CONFLICT statements, built once."""

    def __init__(self, dialect_name: str) -> None:
        insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
        orders = insert(schema.orders)
        self.orders = orders.on_conflict_do_update(
            index_elements=[schema.orders.c.order_id],
            set_={name: orders.excluded[name] for name in _ORDER_COLUMNS})
        aliases = insert(schema.order_aliases)
        self.aliases = aliases.on_conflict_do_update(
            index_elements=list(schema.order_aliases.primary_key),
            set_={"order_id": aliases.excluded.order_id},
            where=schema.order_aliases.c.order_id != aliases.excluded.order_id)
        self.fills: Insert = insert(schema.fills).on_conflict_do_nothing(index_elements=["venue", "exec_id"])
        state = insert(schema.state)
        self.state = state.on_conflict_do_update(
            index_elements=[schema.state.c.key],
            set_={"value": state.excluded.value, "updated_at": state.excluded.updated_at})


def _order_row(order: Order) -> dict[str, Any]:
    return {"order_id": order.order_id, "ems_session": order.ems_session, "cl_ord_id": order.cl_ord_id,
            "venue": order.venue, "venue_cl_ord_id": order.venue_cl_ord_id, "venue_order_id": order.venue_order_id,
            "account": order.account, "instrument_id": order.instrument_id, "status": order.status.value,
            "is_open": order.is_open, "created_at": order.created_at, "updated_at": order.updated_at,
            "snapshot": order.model_dump_json(), "side": order.side.value, "cl_ord_ids": ems_cl_ord_ids(order)}


def _alias_rows(orders: list[Order]) -> list[dict[str, str]]:
    """Every ClOrdID of each order, deduplicated: one statement may not touch the same row twice."""
    rows: dict[tuple[str, str, str], str] = {}
    for order in orders:
        for cl_ord_id in ems_cl_ord_id_list(order):
            rows[("ems", cl_ord_id, order.ems_session)] = order.order_id
        # venue_cl_ord_ids: every outbound id used (new, cancels, replaces), where the model carries them.
        for venue_id in (order.venue_cl_ord_id, *getattr(order, "venue_cl_ord_ids", ())):
            if venue_id:
                rows[("venue", venue_id, "")] = order.order_id
    return [{"kind": kind, "value": value, "scope": scope, "order_id": order_id}
            for (kind, value, scope), order_id in rows.items()]


def _time_range(table: Table, since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    conditions = []
    if since is not None:
        conditions.append(table.c.at >= since)
    if until is not None:
        conditions.append(table.c.at < until)
    return conditions


def _equal(table: Table, **values: str | None) -> list[ColumnElement[bool]]:
    return [table.c[name] == value for name, value in values.items() if value is not None]
