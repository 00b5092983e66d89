"""What the chain says about a transaction, and what transfer matching finds (plain values, Decimal amounts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from fixgw.model.decimals import fmt_decimal
from fixgw.model.transfers import VenueTransfer

CATEGORY = "transfer"
"""recon_breaks.category of every transfer break."""


class TransferBreakKind(str, Enum):
    HASH_UNKNOWN_ON_CHAIN = "hash_unknown_on_chain"
    """The venue gives a hash the chain does not know (after max_pending_s, or for a completed transfer)."""
    AMOUNT_MISMATCH = "amount_mismatch"
    """The transaction pays the address, but not the amount (after the token's decimals), or it reverted."""
    ADDRESS_MISMATCH = "address_mismatch"
    """The transaction moves the asset, but not to the address the venue names."""
    UNCONFIRMED = "unconfirmed"
    """Fewer than min_confirmations, max_pending_s after the transfer was created."""
    MISSING_HASH = "missing_hash"
    """The venue says completed but gives no transaction hash."""
    UNREPORTED_ON_CHAIN = "unreported_on_chain"
    """A transfer into a watched address of ours that no prime broker reports."""


def same_address(left: str, right: str) -> bool:
    """Hex (0x...) addresses compare case-insensitively (EIP-55 case is a checksum); others exactly."""
    if left.startswith(("0x", "0X")) and right.startswith(("0x", "0X")):
        return left.lower() == right.lower()
    return left == right


def same_hash(left: str, right: str) -> bool:
    return left.lower().removeprefix("0x") == right.lower().removeprefix("0x")


@dataclass(frozen=True, slots=True)
class ChainTransfer:
    """One movement of one asset inside a transaction: a Bitcoin output, an Ether value, an ERC-20 log."""

    asset: str
    amount: Decimal
    to_address: str
    from_address: str = ""


@dataclass(frozen=True, slots=True)
class ChainTx:
    network: str
    tx_hash: str
    transfers: tuple[ChainTransfer, ...]
    confirmations: int
    """0 while in the mempool; counted against the tip the source saw."""
    block_time: datetime | None = None
    fee: Decimal | None = None
    succeeded: bool = True
    """False for a mined transaction that reverted (Ethereum receipt status 0x0): it moved nothing."""
    source: str = ""

    def paid_to(self, asset: str, address: str) -> Decimal:
        return sum((t.amount for t in self.transfers if t.asset == asset and same_address(t.to_address, address)),
                   Decimal(0))

    def evidence(self, asset: str | None = None) -> dict[str, Any]:
        moved = [t for t in self.transfers if asset is None or t.asset == asset]
        found: dict[str, Any] = {"tx_hash": self.tx_hash, "network": self.network,
                                 "confirmations": str(self.confirmations),
                                 "amount": fmt_decimal(sum((t.amount for t in moved), Decimal(0))),
                                 "to": ",".join(t.to_address for t in moved), "source": self.source}
        if self.block_time is not None:
            found["block_time"] = self.block_time.isoformat()
        if self.fee is not None:
            found["fee"] = fmt_decimal(self.fee)
        if not self.succeeded:
            found["reverted"] = "true"
        return found


@dataclass(frozen=True, slots=True)
class WatchedInflow:
    """A transfer into one of our watched addresses, found by scanning the day on chain."""

    tx: ChainTx
    transfer: ChainTransfer


@dataclass(slots=True)
class TransferBreak:
    kind: TransferBreakKind
    venue: str
    """The prime broker, or the network for an unreported inflow."""
    ref: str
    """The transaction hash, or the venue's transfer id when there is none."""
    asset: str
    detail: str
    ours: dict[str, Any] | None = None
    """The venue's transfer as evidence."""
    theirs: dict[str, Any] | None = None
    """The chain's transaction as evidence."""

    def evidence(self) -> dict[str, dict[str, Any] | None]:
        return {"ours": self.ours, "theirs": self.theirs}


@dataclass(slots=True)
class TransferResult:
    breaks: list[TransferBreak] = field(default_factory=list)
    transfers: int = 0
    matched: int = 0
    pending: int = 0
    """Not yet confirmed (or not yet on chain) but within max_pending_s."""
    unchecked: int = 0
    """No chain source for its network, or no hash where the venue reports none: counted, not checked."""
    failed: int = 0
    watched_inflows: int = 0

    def counts(self) -> dict[str, int]:
        tally = {kind.value: 0 for kind in TransferBreakKind}
        for found in self.breaks:
            tally[found.kind.value] += 1
        return {"transfers": self.transfers, "matched": self.matched, "pending": self.pending,
                "unchecked": self.unchecked, "failed": self.failed, "watched_inflows": self.watched_inflows,
                "breaks": len(self.breaks), **tally}


def transfer_evidence(transfer: VenueTransfer) -> dict[str, Any]:
    found = {"transfer_id": transfer.transfer_id, "direction": transfer.direction.value, "asset": transfer.asset,
             "network": transfer.network, "amount": fmt_decimal(transfer.amount), "address": transfer.address,
             "tx_hash": transfer.tx_hash, "status": transfer.status.value, "venue_status": transfer.venue_status,
             "created_at": transfer.created_at.isoformat(), "source": transfer.source}
    if transfer.completed_at is not None:
        found["completed_at"] = transfer.completed_at.isoformat()
    if transfer.fee is not None:
        found["fee"] = fmt_decimal(transfer.fee)
        found["fee_asset"] = transfer.fee_asset or ""
    return found
