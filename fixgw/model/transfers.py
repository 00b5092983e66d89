"""A deposit or withdrawal as a crypto prime broker reports it, in canonical words (each venue's
`<venue>/transfers.py` maps its own listing onto this). Plain values: recon and the journal read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum


class Direction(str, Enum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


class TransferStatus(str, Enum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    """Cancelled, rejected, failed or expired at the venue: nothing is expected on chain."""


@dataclass(frozen=True, slots=True)
class VenueTransfer:
    venue: str
    transfer_id: str
    """The venue's own id of the deposit or withdrawal."""
    direction: Direction
    asset: str
    network: str
    """The venue's label of the chain ("ethereum-mainnet", "ETH"): mapped to a configured network by recon."""
    amount: Decimal
    """What moved on chain, fees excluded."""
    address: str
    """The destination on chain: our deposit address for a deposit, the payee for a withdrawal."""
    tx_hash: str
    """"" when the venue gives none (yet)."""
    status: TransferStatus
    venue_status: str
    created_at: datetime
    completed_at: datetime | None = None
    fee: Decimal | None = None
    fee_asset: str | None = None
    hash_expected: bool = True
    """False where the venue's listing does not carry hashes at all (a missing one is then no break)."""
    source: str = ""
