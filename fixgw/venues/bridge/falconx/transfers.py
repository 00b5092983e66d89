"""FalconX deposits and withdrawals: `GET /v1/transfers?t_start=..&t_end=..` (ISO 8601 times).

Wire facts relied on (the official falconx-python client, `get_transfers`): the answer is a list of
`{"type": "deposit" | "withdrawal", "platform": "api" | "browser" | "margin", "token": "BTC",
"quantity": 1.0 (a JSON number), "t_create": "2019-06-20T01:01:01+00:00"}`. The documented rows carry no
transaction hash, address, network or status: a row is taken as completed, and a hash, address and network
are read when present (`tx_hash`, `address`, `network`, `id`) - without a hash the row cannot be checked on
chain, and a missing one is no break (`hash_expected` False).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fixgw.model.transfers import Direction, TransferStatus, VenueTransfer
from fixgw.venues.bridge.common.errors import VenueProtocolError
from fixgw.venues.bridge.falconx.http import FalconXHttp

TYPES = {"deposit": Direction.DEPOSIT, "withdrawal": Direction.WITHDRAWAL}


def parse_transfer(venue: str, row: dict[str, Any]) -> VenueTransfer | None:
    direction = TYPES.get(str(row.get("type", "")).lower())
    if direction is None:
        return None
    try:
        created = datetime.fromisoformat(str(row["t_create"]).replace("Z", "+00:00"))
        token = str(row["token"]).upper()
        tx_hash = str(row.get("tx_hash") or "")
        transfer_id = str(row.get("id") or f"{direction.value}:{token}:{row['t_create']}:{row['quantity']}")
        return VenueTransfer(
            venue=venue, transfer_id=transfer_id, direction=direction, asset=token,
            network=str(row.get("network") or ""), amount=Decimal(str(row["quantity"])),
            address=str(row.get("address") or ""), tx_hash=tx_hash, status=TransferStatus.COMPLETED,
            venue_status=str(row.get("status") or "listed"), created_at=created, hash_expected=bool(tx_hash),
            source=f"falconx transfer {transfer_id}")
    except (KeyError, ArithmeticError, ValueError) as exc:
        raise VenueProtocolError(venue, f"transfers: unreadable row {row!r}: {exc}") from None


async def list_transfers(http: FalconXHttp, start: datetime, end: datetime) -> list[VenueTransfer]:
    query = urlencode([("t_start", start.isoformat()), ("t_end", end.isoformat())])
    rows = await http.transfers(query)
    return [found for row in rows or [] if (found := parse_transfer(http.config.name, row)) is not None]
