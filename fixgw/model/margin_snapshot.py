"""What one prime broker reported about an account at one moment: its book in the margin engine's terms, the
PB's own headline figures (decimal strings, its field names) and how to compare ours with them (drift)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from fixgw.model.margin import VenueAccount


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    venue: str
    received_at: datetime
    """Our receive time: what orders snapshots (the venue's clock is not trusted)."""
    account: VenueAccount
    reported: Mapping[str, str] = field(default_factory=dict)
    """The PB's own figures, e.g. {"margin_level": "3.2"} or {"margin_equity": ..., "margin_requirement": ...}."""
    drift_measure: str | None = None
    """Which reported figure drift compares with ours computed the PB's way (margin_level, margin_equity)."""
    outside_margin: Mapping[str, Decimal] = field(default_factory=dict)
    """Balances the PB holds outside the margin pool (Binance spot wallet): shown, never counted as collateral."""
    marks: Mapping[str, Decimal] = field(default_factory=dict)
    """The PB's own market prices per asset in the account currency (Coinbase `market_rates`), when it reports them."""
