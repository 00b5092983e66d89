"""Binance deposits and withdrawals: `GET /sapi/v1/capital/deposit/hisrec` and `GET /sapi/v1/capital/withdraw/history`.

Wire facts relied on (Binance Wallet API, "Deposit History (supporting network)" and "Withdraw History
(supporting network)"), both SIGNED (USER_DATA) like the spot endpoints:
- query: `startTime` / `endTime` in ms (at most 90 days apart), `offset`, `limit` (default and max 1000).
- a deposit: `id`, `amount` (decimal string), `coin`, `network` ("ETH", "BTC"), `status` (0 pending,
  6 credited but cannot withdraw, 7 wrong deposit, 8 waiting user confirm, 1 success, 2 rejected), `address`
  (our deposit address), `addressTag`, `txId`, `insertTime` / `completeTime` (ms), `transferType`
  (0 external, 1 internal), `confirmTimes` ("12/12").
- a withdrawal: `id`, `amount` (what the payee receives), `transactionFee`, `coin`, `status` (0 email sent,
  1 cancelled, 2 awaiting approval, 3 rejected, 4 processing, 5 failure, 6 completed), `address`, `txId`,
  `applyTime` / `completeTime` ("YYYY-MM-DD HH:MM:SS", UTC), `network`, `transferType`, `info`, `confirmNo`.
Internal transfers (transferType 1) never touch a chain and are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fixgw.model.transfers import Direction, TransferStatus, VenueTransfer
from fixgw.venues.bridge.binance.http import BinanceHttp
from fixgw.venues.bridge.common.errors import VenueProtocolError
from fixgw.venues.bridge.common.http import VenueRequest

DEPOSITS = "/sapi/v1/capital/deposit/hisrec"
WITHDRAWALS = "/sapi/v1/capital/withdraw/history"
LIMIT = 1000
DEPOSIT_STATUS = {1: TransferStatus.COMPLETED, 6: TransferStatus.COMPLETED, 2: TransferStatus.FAILED,
                  7: TransferStatus.FAILED}
WITHDRAW_STATUS = {6: TransferStatus.COMPLETED, 1: TransferStatus.FAILED, 3: TransferStatus.FAILED,
                   5: TransferStatus.FAILED}


def _millis(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value) / 1000, UTC) if value not in (None, "", 0) else None


def _utc_text(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int):
        return _millis(value)
    return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def parse_deposit(venue: str, row: dict[str, Any]) -> VenueTransfer | None:
    return _parse(venue, row, Direction.DEPOSIT)


def parse_withdrawal(venue: str, row: dict[str, Any]) -> VenueTransfer | None:
    return _parse(venue, row, Direction.WITHDRAWAL)


def _parse(venue: str, row: dict[str, Any], direction: Direction) -> VenueTransfer | None:
    if int(row.get("transferType") or 0) == 1:
        return None
    deposit = direction is Direction.DEPOSIT
    try:
        code = int(row["status"])
        created = _millis(row.get("insertTime")) if deposit else _utc_text(row.get("applyTime"))
        if created is None:
            raise ValueError("no insertTime / applyTime")
        fee = None if deposit or row.get("transactionFee") in (None, "") else Decimal(str(row["transactionFee"]))
        statuses = DEPOSIT_STATUS if deposit else WITHDRAW_STATUS
        return VenueTransfer(
            venue=venue, transfer_id=str(row["id"]), direction=direction, asset=str(row["coin"]).upper(),
            network=str(row.get("network") or ""), amount=Decimal(str(row["amount"])),
            address=str(row.get("address") or ""), tx_hash=str(row.get("txId") or ""),
            status=statuses.get(code, TransferStatus.PENDING), venue_status=str(code), created_at=created,
            completed_at=_utc_text(row.get("completeTime")), fee=fee, fee_asset=str(row["coin"]).upper(),
            source=f"binance {direction.value} {row['id']}")
    except (KeyError, ArithmeticError, ValueError) as exc:
        raise VenueProtocolError(venue, f"{direction.value} history: unreadable row {row.get('id')!r}: {exc}") from None


async def list_transfers(http: BinanceHttp, start: datetime, end: datetime) -> list[VenueTransfer]:
    """Deposits and withdrawals of [start, end) (one window of at most 90 days), every page of each."""
    found: list[VenueTransfer] = []
    for path, route, parse in ((DEPOSITS, "deposit_history", parse_deposit),
                               (WITHDRAWALS, "withdraw_history", parse_withdrawal)):
        found += await _pages(http, path, route, parse, start, end)
    return found


async def _pages(http: BinanceHttp, path: str, route: str, parse: Callable[[str, dict[str, Any]], VenueTransfer | None],
                 start: datetime, end: datetime) -> list[VenueTransfer]:
    found: list[VenueTransfer] = []
    offset = 0
    while True:
        query = urlencode([("startTime", str(int(start.timestamp() * 1000))),
                           ("endTime", str(int(end.timestamp() * 1000) - 1)),
                           ("offset", str(offset)), ("limit", str(LIMIT))])
        rows = await http.client.send(VenueRequest("GET", path, route, query=query))
        for row in rows or []:
            transfer = parse(http.config.name, row)
            if transfer is not None:
                found.append(transfer)
        if len(rows or []) < LIMIT:   # a full page means there may be more
            return found
        offset += LIMIT
