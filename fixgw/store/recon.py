"""Reconciliation rows in the journal's database: recon runs and their breaks, and the readers recon needs
(fills of a venue streamed with their order's instrument, side and account; busted fills; orders of record).

The tables live on the journal's `schema.metadata` (migration 0002); this module is their only writer.
Journal state `recon:<YYYY-MM-DD>` is "clean" or "breaks" over the latest run of every venue that day
(`recon:<YYYY-MM-DD>:<venue>` per venue), written in the same transaction as the run (the purge relies on it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import compress
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from fixgw.model.events import EventName
from fixgw.model.state import Order
from fixgw.store import schema
from fixgw.store.coltypes import EPOCH, UtcMicros, to_micros
from fixgw.store.database import write_transaction
from fixgw.store.journal import Journal, _typed_errors

CLEAN, BREAKS = "clean", "breaks"
STATE_PREFIX = "recon:"
_VOIDING_EVENTS = (EventName.TRADE_CANCEL, EventName.TRADE_CORRECT)
_RAW_BATCH = 1000
"""Rows per fetch off a raw cursor: small enough that a batch's row objects are still in cache when converted."""
_IN_CHUNK = 500
"""Ids per IN (...) list: well under SQLite's bound-parameter limit."""
_EVIDENCE = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode

recon_runs = Table(
    "recon_runs", schema.metadata,
    Column("run_id", String(64), primary_key=True),
    Column("recon_date", String(10), nullable=False),   # YYYY-MM-DD, the day reconciled
    Column("venue", String(64), nullable=False),
    Column("source", String(256), nullable=False),      # where the broker's side came from (file, fix, rest)
    Column("started_at", UtcMicros, nullable=False),
    Column("finished_at", UtcMicros, nullable=False),
    Column("result", String(16), nullable=False),
    Column("counts", Text, nullable=False),             # JSON object: ours, theirs, matched, breaks by kind
    CheckConstraint("result IN ('clean', 'breaks')", name="ck_recon_runs_result"),
)
Index("ix_recon_runs_date_venue", recon_runs.c.recon_date, recon_runs.c.venue)
# A day's fills of one venue are read by range: the fills table's own indexes do not cover (venue, at).
Index("ix_fills_venue_at", schema.fills.c.venue, schema.fills.c.at)

recon_breaks = Table(
    "recon_breaks", schema.metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("recon_date", String(10), nullable=False),
    Column("venue", String(64), nullable=False),
    Column("category", String(16), nullable=False),     # trade | position | cash
    Column("kind", String(32), nullable=False),         # missing_at_broker, missing_internally, ...
    Column("ref", String(256), nullable=False),         # trade id, instrument or currency
    Column("instrument_id", String(64)),
    Column("settle_date", String(10)),
    Column("detail", Text, nullable=False),             # one readable line
    Column("evidence", Text, nullable=False),           # JSON: our record and theirs, with where each came from
    Column("detected_at", UtcMicros, nullable=False),
)
Index("ix_recon_breaks_run_id", recon_breaks.c.run_id)
Index("ix_recon_breaks_date_venue", recon_breaks.c.recon_date, recon_breaks.c.venue)


@dataclass(slots=True)
class FillRow:
    """One journaled fill with what recon needs of its order of record."""

    fill_id: int
    order_id: str
    venue: str
    exec_id: str
    qty: Decimal
    price: Decimal
    commission: Decimal | None
    at: datetime
    instrument_id: str
    account: str | None
    side: str
    """The order's Side value ("1" buy, "2" sell, "5" sell short, ...)."""
    venue_order_id: str | None


OrderFacts = tuple[str, str | None, str, str | None]
"""What recon needs of an order of record: (instrument id, account, side value, venue order id)."""


@dataclass(slots=True)
class FillColumns:
    """One venue's fills of a window column by column (row i of every list is one fill)."""

    fill_ids: list[int] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    exec_ids: list[str] = field(default_factory=list)
    qtys: list[Decimal] = field(default_factory=list)
    prices: list[Decimal] = field(default_factory=list)
    commissions: list[Decimal | None] = field(default_factory=list)
    at_micros: list[int] = field(default_factory=list)
    """Fill times as integer microseconds since the Unix epoch (`coltypes.from_micros`)."""
    orders: dict[str, OrderFacts] = field(default_factory=dict)
    """Order id -> its facts, for every order id of `order_ids`."""
    voided: set[str] = field(default_factory=set)
    """Exec ids of these orders that a bust or correction voided."""

    def keep(self, rows: Sequence[bool]) -> None:
        """Keep only the fills whose flag in `rows` is true."""
        self.fill_ids = list(compress(self.fill_ids, rows))
        self.order_ids = list(compress(self.order_ids, rows))
        self.exec_ids = list(compress(self.exec_ids, rows))
        self.qtys = list(compress(self.qtys, rows))
        self.prices = list(compress(self.prices, rows))
        self.commissions = list(compress(self.commissions, rows))
        self.at_micros = list(compress(self.at_micros, rows))


@dataclass(slots=True)
class BreakRecord:
    category: str
    kind: str
    ref: str
    detail: str
    evidence: dict[str, Any]
    instrument_id: str | None = None
    settle_date: str | None = None
    id: int | None = None


@dataclass(slots=True)
class ReconRunRecord:
    run_id: str
    recon_date: str
    venue: str
    source: str
    started_at: datetime
    finished_at: datetime
    result: str
    counts: dict[str, int] = field(default_factory=dict)


class ReconStore:
    """Recon's reads and writes on an open Journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    # --- the internal side ------------------------------------------------------------------------------

    def iter_fills(self, *, venue: str | None = None, since: datetime | None = None,
                   until: datetime | None = None) -> Iterator[FillRow]:
        """Fills in time order (journal order within one microsecond), streamed, with their order's instrument,
        account and side; `since` inclusive, `until` exclusive. Busted or corrected fills are included: see
        `voided_exec_ids`."""
        for values in self.iter_fill_values(venue=venue, since=since, until=until):
            yield FillRow(*values)

    def iter_fill_values(self, *, venue: str | None = None, since: datetime | None = None,
                         until: datetime | None = None) -> Iterator[tuple[Any, ...]]:
        """`iter_fills` as plain tuples in FillRow's field order.

        The orders' attributes are read once per order (one row per order, where the snapshot JSON holds every
        fill of the order), and fill columns are read raw and converted here (no per-value type decorators)."""
        f = schema.fills
        window = self._fill_window(venue, since, until)
        orders = self._fill_orders(window)
        epoch, micro = EPOCH, timedelta(microseconds=1)
        for batch in self.journal.raw_batches(self._fill_query(window, f.c.venue), _RAW_BATCH):
            for fill_id, order_id, fill_venue, exec_id, qty, price, commission, micros in batch:
                yield (fill_id, order_id, fill_venue, exec_id, Decimal(qty), Decimal(price),
                       None if commission is None else Decimal(commission), epoch + micro * micros,
                       *orders[order_id])

    def fill_columns(self, *, venue: str, since: datetime | None = None, until: datetime | None = None,
                     progress: Callable[[int], None] | None = None) -> FillColumns:
        """The fills of one venue in [since, until) column by column, in `iter_fills` order, with their orders'
        attributes and the exec ids a bust or correction voided: a day of a million fills without an object per
        fill (each distinct decimal text is parsed once, each order id is one shared string)."""
        window = self._fill_window(venue, since, until)
        fills = FillColumns()
        order_ids: dict[str, str] = {}
        decimal = _decimal_reader(self.journal.engine.dialect.name)
        for batch in self.journal.raw_batches(self._fill_query(window), _RAW_BATCH):
            fill_ids, orders, exec_ids, qtys, prices, commissions, micros = zip(*batch, strict=True)
            fills.fill_ids += fill_ids
            fills.order_ids += map(order_ids.setdefault, orders, orders)
            fills.exec_ids += exec_ids
            fills.qtys += map(decimal, qtys)
            fills.prices += map(decimal, prices)
            fills.commissions += map(decimal, commissions)
            fills.at_micros += micros
            if progress is not None:
                progress(len(fills.fill_ids))
        fills.orders = self._orders_by_id(list(order_ids))
        fills.voided = self._voided_of_orders(list(order_ids))
        return fills

    def _fill_query(self, window: list[ColumnElement[bool]], *extra: ColumnElement[Any]) -> Any:
        """Fill rows (id, order id, [extra], exec id, qty, price, commission, at) of the window in time order:
        read raw (decimals as the driver returns them, `at` as integer microseconds). The (venue, at) index
        gives that order without a sort."""
        f = schema.fills
        sqlite_text = self.journal.engine.dialect.name == "sqlite"
        number = String() if sqlite_text else Numeric(38, 10, asdecimal=True)
        at = type_coerce(f.c.at, BigInteger())
        return (select(f.c.id, f.c.order_id, *extra, f.c.exec_id, type_coerce(f.c.qty, number),
                       type_coerce(f.c.price, number), type_coerce(f.c.commission, number), at)
                .where(*window).order_by(at, f.c.id))

    def _fill_orders(self, window: list[ColumnElement[bool]]) -> dict[str, OrderFacts]:
        f, o = schema.fills, schema.orders
        query = (select(o.c.order_id, o.c.instrument_id, o.c.account, self._side(), o.c.venue_order_id)
                 .where(o.c.order_id.in_(select(f.c.order_id).where(*window).distinct())))
        return self._order_facts(query)

    def _orders_by_id(self, order_ids: list[str]) -> dict[str, OrderFacts]:
        o = schema.orders
        found: dict[str, OrderFacts] = {}
        for first in range(0, len(order_ids), _IN_CHUNK):
            found.update(self._order_facts(
                select(o.c.order_id, o.c.instrument_id, o.c.account, self._side(), o.c.venue_order_id)
                .where(o.c.order_id.in_(order_ids[first:first + _IN_CHUNK]))))
        return found

    def _order_facts(self, query: Any) -> dict[str, OrderFacts]:
        return {str(order_id): (instrument_id, account, str(side), venue_order_id)
                for order_id, instrument_id, account, side, venue_order_id in self.journal._stream(
                    query, scalars=False)}

    def voided_exec_ids(self, *, venue: str, since: datetime | None = None,
                        until: datetime | None = None) -> set[str]:
        """ExecIDs of the window's fills that a later bust or correction voided (the fills table keeps them)."""
        e, f = schema.events, schema.fills
        orders = select(f.c.order_id).where(*self._fill_window(venue, since, until)).distinct()
        return self._voided(select(e.c.detail).where(e.c.event.in_(_VOIDING_EVENTS), e.c.order_id.in_(orders)))

    def _voided_of_orders(self, order_ids: list[str]) -> set[str]:
        e = schema.events
        voided: set[str] = set()
        for first in range(0, len(order_ids), _IN_CHUNK):
            voided |= self._voided(select(e.c.detail).where(
                e.c.event.in_(_VOIDING_EVENTS), e.c.order_id.in_(order_ids[first:first + _IN_CHUNK])))
        return voided

    def _voided(self, query: Any) -> set[str]:
        voided: set[str] = set()
        for detail in self.journal._stream(query):
            ref = json.loads(detail).get("exec_ref_id")
            if ref:
                voided.add(str(ref))
        return voided

    def orders_at_venue(self, venue: str, *, since: datetime, until: datetime) -> list[Order]:
        """Orders of record at `venue` alive during [since, until) (created before `until`, touched after `since`)."""
        o = schema.orders
        query = (select(o.c.snapshot).where(o.c.venue == venue, o.c.created_at < until, o.c.updated_at >= since)
                 .order_by(o.c.order_id))
        return [Order.model_validate_json(snapshot) for snapshot in self.journal._stream(query)]

    def last_fill_prices(self, venue: str | None = None) -> dict[str, Decimal]:
        """The latest fill price per instrument (to value positions when nothing better is known)."""
        f, o = schema.fills, schema.orders
        latest = (select(func.max(f.c.id).label("id")).join(o, o.c.order_id == f.c.order_id)
                  .where(*([f.c.venue == venue] if venue else [])).group_by(o.c.instrument_id).subquery())
        query = (select(o.c.instrument_id, f.c.price).join(o, o.c.order_id == f.c.order_id)
                 .where(f.c.id.in_(select(latest.c.id))))
        return {str(instrument): price for instrument, price in self.journal._stream(query, scalars=False)}

    # --- runs and breaks --------------------------------------------------------------------------------

    def record_run(self, run: ReconRunRecord, breaks: list[BreakRecord]) -> str:
        """Write the run, its breaks and the state rows in one transaction; returns the day's status
        ("clean" only when the latest run of every venue reconciled that day is clean)."""
        with _typed_errors("record_run"), write_transaction(self.journal.engine) as connection:
            connection.execute(recon_runs.insert(), [{
                "run_id": run.run_id, "recon_date": run.recon_date, "venue": run.venue, "source": run.source[:256],
                "started_at": run.started_at, "finished_at": run.finished_at, "result": run.result,
                "counts": json.dumps(run.counts, sort_keys=True)}])
            if breaks:
                detected = to_micros(run.finished_at)
                _bulk_insert(connection, recon_breaks, [{
                    "run_id": run.run_id, "recon_date": run.recon_date, "venue": run.venue, "category": b.category,
                    "kind": b.kind, "ref": b.ref[:256], "instrument_id": b.instrument_id, "settle_date": b.settle_date,
                    "detail": b.detail, "evidence": _EVIDENCE(b.evidence), "detected_at": detected} for b in breaks])
            latest = _latest_results(connection, run.recon_date)
            day = BREAKS if BREAKS in latest.values() else CLEAN
            self._put_state(connection, {f"{STATE_PREFIX}{run.recon_date}": day,
                                         f"{STATE_PREFIX}{run.recon_date}:{run.venue}": run.result})
        return day

    def put_state(self, values: Mapping[str, str]) -> None:
        """Upsert journal state rows (recon's own keys: last runs, drift baselines)."""
        with _typed_errors("put_state"), write_transaction(self.journal.engine) as connection:
            self._put_state(connection, values)

    def runs(self, *, recon_date: str | None = None, venue: str | None = None) -> list[ReconRunRecord]:
        r = recon_runs
        query = select(r).order_by(r.c.started_at, r.c.run_id)
        if recon_date is not None:
            query = query.where(r.c.recon_date == recon_date)
        if venue is not None:
            query = query.where(r.c.venue == venue)
        return [ReconRunRecord(row.run_id, row.recon_date, row.venue, row.source, row.started_at, row.finished_at,
                               row.result, json.loads(row.counts))
                for row in self.journal._stream(query, scalars=False)]

    def breaks(self, run_id: str) -> list[BreakRecord]:
        b = recon_breaks
        query = select(b).where(b.c.run_id == run_id).order_by(b.c.id)
        return [BreakRecord(row.category, row.kind, row.ref, row.detail, json.loads(row.evidence), row.instrument_id,
                            row.settle_date, row.id) for row in self.journal._stream(query, scalars=False)]

    def open_breaks(self, venue: str | None = None) -> int:
        """Breaks of the latest run per (day, venue): what is still unexplained."""
        r, b = recon_runs, recon_breaks
        latest = select(r.c.recon_date, r.c.venue, func.max(r.c.finished_at).label("at")).group_by(
            r.c.recon_date, r.c.venue).subquery()
        runs = select(r.c.run_id).join(latest, (latest.c.recon_date == r.c.recon_date)
                                       & (latest.c.venue == r.c.venue) & (latest.c.at == r.c.finished_at))
        query = select(func.count()).select_from(b).where(b.c.run_id.in_(runs))
        if venue is not None:
            query = query.where(b.c.venue == venue)
        with _typed_errors("open_breaks"), self.journal.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    # --- helpers ----------------------------------------------------------------------------------------

    def _side(self) -> ColumnElement[Any]:
        return schema.order_side(self.journal.engine.dialect.name)

    @staticmethod
    def _fill_window(venue: str | None, since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
        f = schema.fills
        at = type_coerce(f.c.at, BigInteger())   # plain integers bound: the statement can run on a raw cursor
        conditions: list[ColumnElement[bool]] = []
        if venue is not None:
            conditions.append(f.c.venue == venue)
        if since is not None:
            conditions.append(at >= to_micros(since))
        if until is not None:
            conditions.append(at < to_micros(until))
        return conditions

    def _put_state(self, connection: Connection, values: Mapping[str, str]) -> None:
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        statement = insert(schema.state)
        statement = statement.on_conflict_do_update(
            index_elements=[schema.state.c.key],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at})
        now = datetime.now(UTC)
        connection.execute(statement, [{"key": k, "value": v, "updated_at": now} for k, v in values.items()])


class _TextDecimals(dict[Any, Decimal | None]):
    """Stored decimal text -> Decimal, each distinct text parsed once (prices and quantities repeat a lot)."""

    def __missing__(self, text: str) -> Decimal:
        value = self[text] = Decimal(text)
        return value


def _decimal_reader(dialect_name: str) -> Callable[[Any], Any]:
    """Driver value -> Decimal (None stays None): SQLite returns the stored text, PostgreSQL's NUMERIC a Decimal."""
    if dialect_name == "sqlite":
        return _TextDecimals({None: None}).__getitem__
    return _same


def _same(value: Any) -> Any:
    return value


def _bulk_insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One executemany on the driver with values already in their stored form (a bad day may have 100,000
    breaks: SQLAlchemy's per-row parameter processing would cost ~50 us each)."""
    names = list(rows[0])
    compiled = table.insert().values({name: bindparam(name) for name in names}).compile(dialect=connection.dialect)
    if compiled.positional:
        order = compiled.positiontup or ()
        connection.exec_driver_sql(str(compiled), [tuple(row[name] for name in order) for row in rows])
    else:
        connection.exec_driver_sql(str(compiled), rows)


def _latest_results(connection: Connection, recon_date: str) -> dict[str, str]:
    """The result of the latest run of each venue reconciled on `recon_date`."""
    r = recon_runs
    rows = connection.execute(select(r.c.venue, r.c.result, r.c.finished_at).where(r.c.recon_date == recon_date)
                              .order_by(r.c.finished_at, r.c.run_id))
    latest: dict[str, str] = {}
    for venue, result, _at in rows:
        latest[str(venue)] = str(result)
    return latest
