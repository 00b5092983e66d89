"""Coinbase Prime deposits and withdrawals: `GET /v1/portfolios/{portfolio_id}/transactions`.

Wire facts relied on (Coinbase Prime REST reference, "List Portfolio Transactions" / "Get Transaction by ID"):
- query: `types` (repeatable: DEPOSIT, WITHDRAWAL, INTERNAL_DEPOSIT, ...), `start_time` / `end_time`
  (RFC 3339), `cursor`, `limit`, `sort_direction`; answer `{"transactions": [...], "pagination":
  {"next_cursor", "sort_direction", "has_next"}}`, signed like every Prime request.
- a transaction: `id`, `wallet_id`, `portfolio_id`, `type`, `status`, `symbol`, `created_at`, `completed_at`,
  `amount` (decimal string), `fees`, `network_fees`, `fee_symbol`, `blockchain_ids` (the on-chain transaction
  hashes; a list), `network` ("ethereum-mainnet"), `transfer_from` / `transfer_to` (`type`, `value`,
  `address`, `account_identifier`).
- statuses: TRANSACTION_DONE and TRANSACTION_IMPORTED are final and good; TRANSACTION_CANCELLED, _REJECTED,
  _FAILED and _EXPIRED are final and bad; every other (CREATED, REQUESTED, APPROVED, PROCESSING, BROADCASTING,
  PLANNED, CONSTRUCTED, DELAYED, RETRIED, IMPORT_PENDING, ...) is still pending.
Only DEPOSIT and WITHDRAWAL move funds on chain; internal transfers between Prime wallets are not asked for.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fixgw.model.transfers import Direction, TransferStatus, VenueTransfer
from fixgw.venues.bridge.coinbase_prime.http import PAGE_LIMIT, CoinbasePrimeHttp
from fixgw.venues.bridge.common.errors import VenueProtocolError

TYPES = {"DEPOSIT": Direction.DEPOSIT, "WITHDRAWAL": Direction.WITHDRAWAL}
DONE = {"TRANSACTION_DONE", "TRANSACTION_IMPORTED"}
FAILED = {"TRANSACTION_CANCELLED", "TRANSACTION_REJECTED", "TRANSACTION_FAILED", "TRANSACTION_EXPIRED"}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _status(value: str) -> TransferStatus:
    if value in DONE:
        return TransferStatus.COMPLETED
    return TransferStatus.FAILED if value in FAILED else TransferStatus.PENDING


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def parse_transaction(venue: str, row: dict[str, Any]) -> VenueTransfer | None:
    """One listed transaction as a transfer; None for types that do not move funds on chain."""
    direction = TYPES.get(str(row.get("type", "")))
    if direction is None:
        return None
    try:
        target = row.get("transfer_to") or {}
        hashes = [str(h) for h in row.get("blockchain_ids") or [] if h]
        created = _time(row.get("created_at"))
        if created is None:
            raise ValueError("created_at is missing")
        status = str(row.get("status", ""))
        return VenueTransfer(
            venue=venue, transfer_id=str(row["id"]), direction=direction, asset=str(row.get("symbol", "")).upper(),
            network=str(row.get("network") or ""), amount=Decimal(str(row["amount"])),
            address=str(target.get("address") or ""), tx_hash=hashes[0] if hashes else "", status=_status(status),
            venue_status=status, created_at=created, completed_at=_time(row.get("completed_at")),
            fee=_decimal(row.get("network_fees")),
            fee_asset=str(row.get("fee_symbol") or row.get("symbol") or "").upper() or None,
            source=f"coinbase_prime transaction {row['id']}")
    except (KeyError, ArithmeticError, ValueError) as exc:
        raise VenueProtocolError(venue, f"transactions: unreadable transaction {row.get('id')!r}: {exc}") from None


async def list_transfers(http: CoinbasePrimeHttp, start: datetime, end: datetime) -> list[VenueTransfer]:
    """Deposits and withdrawals created in [start, end), every page."""
    transfers: list[VenueTransfer] = []
    cursor = ""
    while True:
        params = [("types", "DEPOSIT"), ("types", "WITHDRAWAL"), ("start_time", _iso(start)),
                  ("end_time", _iso(end)), ("limit", str(PAGE_LIMIT)), ("sort_direction", "ASC")]
        page = await http._get("/transactions", "transactions", params + ([("cursor", cursor)] if cursor else []))
        for row in page.get("transactions") or []:
            found = parse_transaction(http.config.name, row)
            if found is not None:
                transfers.append(found)
        pagination = page.get("pagination") or {}
        cursor = str(pagination.get("next_cursor") or "")
        if not pagination.get("has_next") or not cursor:
            return transfers
