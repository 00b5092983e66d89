"""What the execution client needs from any venue's order and fill payloads, in canonical terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from fixgw.model.enums import OrdStatus


@dataclass(frozen=True)
class VenueOrderView:
    venue_order_id: str
    client_order_id: str
    status: OrdStatus
    """The venue's status word mapped; NEW also covers partially filled (quantities decide that)."""
    cum_qty: Decimal
    avg_px: Decimal | None = None
    text: str | None = None
    order_qty: Decimal | None = None
    """The quantity the venue holds the order for, when its payload says."""
    symbol: str | None = None
    """The venue's symbol of the order, when its payload says (an order we do not know is cancelled by it)."""

    @property
    def venue_terminal(self) -> bool:
        return self.status.is_terminal


@dataclass(frozen=True)
class VenueFill:
    trade_id: str
    """The venue's id of this execution: fills are de-duplicated on (venue, trade_id)."""
    qty: Decimal
    price: Decimal
    commission: Decimal | None = None
    time: datetime | None = None
