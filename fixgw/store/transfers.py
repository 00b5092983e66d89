"""The prime brokers' deposits and withdrawals as journaled by transfer reconciliation (migration
0004_transfers): one row per (venue, transfer id), updated as the venue's status and hash move on. This module
is the table's only writer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Dialect, Index, Numeric, PrimaryKeyConstraint, String, Table, TypeDecorator, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine

from fixgw.model.decimals import fmt_decimal
from fixgw.model.transfers import Direction, TransferStatus, VenueTransfer
from fixgw.store import schema
from fixgw.store.coltypes import UtcMicros
from fixgw.store.database import write_transaction
from fixgw.store.journal import Journal, _typed_errors


class ChainAmount(TypeDecorator[Decimal]):
    """An on-chain amount at full scale (wei: 18 places, some tokens more): unconstrained NUMERIC on PostgreSQL,
    text on SQLite. The journal's NUMERIC(38, 10) would cut such amounts."""

    impl = String(96)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(96))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return fmt_decimal(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value if isinstance(value, Decimal) else str(value))


transfers = Table(
    "transfers", schema.metadata,
    Column("venue", String(64), nullable=False),
    Column("transfer_id", String(128), nullable=False),
    Column("direction", String(16), nullable=False),     # deposit | withdrawal
    Column("asset", String(32), nullable=False),
    Column("network", String(64), nullable=False),       # the venue's label of the chain
    Column("amount", ChainAmount, nullable=False),      # what moved on chain, fees excluded
    Column("fee", ChainAmount),
    Column("fee_asset", String(32)),
    Column("address", String(256), nullable=False),      # destination on chain
    Column("tx_hash", String(256), nullable=False),      # "" while the venue gives none
    Column("status", String(16), nullable=False),        # pending | completed | failed
    Column("venue_status", String(64), nullable=False),
    Column("hash_expected", String(1), nullable=False),  # Y / N: does the venue's listing carry hashes at all
    Column("created_at", UtcMicros, nullable=False),
    Column("completed_at", UtcMicros),
    Column("updated_at", UtcMicros, nullable=False),
    Column("source", String(256), nullable=False),
    PrimaryKeyConstraint("venue", "transfer_id", name="pk_transfers"),
)
Index("ix_transfers_tx_hash", transfers.c.tx_hash)
Index("ix_transfers_created_at", transfers.c.created_at)

_UPDATED = ("direction", "asset", "network", "amount", "fee", "fee_asset", "address", "tx_hash", "status",
            "venue_status", "hash_expected", "completed_at", "updated_at", "source")


class TransferStore:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def upsert(self, found: Sequence[VenueTransfer]) -> None:
        """Insert new transfers, update known ones (status, hash, completion) in one transaction."""
        if not found:
            return
        now = datetime.now(UTC)
        with _typed_errors("upsert_transfers"), write_transaction(self.journal.engine) as connection:
            insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
            statement = insert(transfers)
            statement = statement.on_conflict_do_update(
                index_elements=[transfers.c.venue, transfers.c.transfer_id],
                set_={name: statement.excluded[name] for name in _UPDATED})
            connection.execute(statement, [_row(t, now) for t in found])

    def of_venue(self, venue: str, *, since: datetime | None = None,
                 until: datetime | None = None) -> list[VenueTransfer]:
        t = transfers
        query = select(t).where(t.c.venue == venue).order_by(t.c.created_at, t.c.transfer_id)
        if since is not None:
            query = query.where(t.c.created_at >= since)
        if until is not None:
            query = query.where(t.c.created_at < until)
        return [_transfer(row) for row in self.journal._stream(query, scalars=False)]

    def hashes(self) -> set[str]:
        """Every transaction hash any venue has reported, as journaled (lower case, no 0x)."""
        query = select(transfers.c.tx_hash).where(transfers.c.tx_hash != "").distinct()
        return {str(h).lower().removeprefix("0x") for h in self.journal._stream(query)}


def _row(found: VenueTransfer, now: datetime) -> dict[str, object]:
    return {"venue": found.venue, "transfer_id": found.transfer_id[:128], "direction": found.direction.value,
            "asset": found.asset, "network": found.network, "amount": found.amount, "fee": found.fee,
            "fee_asset": found.fee_asset, "address": found.address, "tx_hash": found.tx_hash,
            "status": found.status.value, "venue_status": found.venue_status,
            "hash_expected": "Y" if found.hash_expected else "N", "created_at": found.created_at,
            "completed_at": found.completed_at, "updated_at": now, "source": found.source[:256]}


def _transfer(row: object) -> VenueTransfer:
    r = row._mapping  # type: ignore[attr-defined]
    return VenueTransfer(venue=r["venue"], transfer_id=r["transfer_id"], direction=Direction(r["direction"]),
                         asset=r["asset"], network=r["network"], amount=r["amount"], address=r["address"],
                         tx_hash=r["tx_hash"], status=TransferStatus(r["status"]), venue_status=r["venue_status"],
                         created_at=r["created_at"], completed_at=r["completed_at"], fee=r["fee"],
                         fee_asset=r["fee_asset"], hash_expected=r["hash_expected"] == "Y", source=r["source"])
